"""EngagementNet: the SnapUGC (ECCV 2024) engagement network over per-clip features.

Per video: clip tokens from each clip-level extractor (one MLP per feature, concatenated
and projected), plus optional video-level pooled features broadcast to every clip, plus a
time embedding of each clip's start; cross-attention from clip tokens to text tokens
(title, description, audio tags, caption); N residual fusion MLP layers; an M-layer
self-attention encoder over clips; head 1 = mean over all clips → NAWP, head 2 = mean over
clips starting within the first `early_s` seconds → ECR.

With `ecr_early_only` (default) the self-attention is block-masked so that early clips
attend only to early clips: ECR (a share of views past 5 s) then depends only on what a
viewer sees in the first seconds, never on later clips.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelscore.models.registry import ModelBase, ModelError, read_model_json, register_kind, write_model_json

TEXT_FIELD_VOCAB = ("title", "description", "audio_tags", "caption")
TARGET_ORDER = ("NAWP", "ECR")


@dataclass
class EngagementNetConfig:
    """Architecture and inputs of EngagementNet (paper size: d_model 512, 8 fusion, 8 attention layers)."""

    clip_extractors: list[str] = field(default_factory=list)  # empty: every store extractor with clip rows
    pooled_extractors: list[str] = field(default_factory=list)  # video-level extras broadcast to every clip
    text_extractor: str | None = "text"  # store extractor with text tokens; None: no text
    d_model: int = 256
    mlp_hidden: int = 512
    fusion_layers: int = 8
    attn_layers: int = 8
    heads: int = 8
    dropout: float = 0.1
    early_s: float = 5.0
    ecr_early_only: bool = True
    max_clips: int = 32


def tiny_config(**overrides: Any) -> EngagementNetConfig:
    """A CPU-sized configuration for tests and quick runs."""
    base = dict(d_model=32, mlp_hidden=64, fusion_layers=2, attn_layers=2, heads=4, dropout=0.0)
    base.update(overrides)
    return EngagementNetConfig(**base)


# --------------------------------------------------------------------------- inputs
def _align(ref_starts: np.ndarray, starts: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """Rows of `feats` at the clips nearest to each reference start."""
    if len(starts) == 0:
        return np.zeros((len(ref_starts), feats.shape[1] if feats.ndim == 2 else 0), np.float32)
    j = np.clip(np.searchsorted(starts, ref_starts, side="left"), 0, len(starts) - 1)
    prev = np.clip(j - 1, 0, len(starts) - 1)
    take = np.where(np.abs(starts[prev] - ref_starts) < np.abs(starts[j] - ref_starts), prev, j)
    return feats[take]


def resolve_inputs(store, cfg: EngagementNetConfig) -> EngagementNetConfig:
    """Fill empty extractor lists from the store (every extractor with clip rows) and check the rest exist."""
    have = store.extractors()
    cfg = dataclasses.replace(cfg)
    if not cfg.clip_extractors:
        cfg.clip_extractors = sorted(n for n, s in have.items() if s.get("clip_dim"))
    if not cfg.clip_extractors:
        raise ModelError(f"feature store {store.path} has no extractor with per-clip rows; EngagementNet needs one")
    need = list(cfg.clip_extractors) + list(cfg.pooled_extractors) + ([cfg.text_extractor] if cfg.text_extractor else [])
    for n in need:
        if n not in have:
            raise ModelError(
                f"feature store {store.path} lacks extractor {n!r} that the model needs (run `reelscore extract --extractors {n}`)"
            )
    return cfg


def load_video_inputs(store, cfg: EngagementNetConfig, ids: list[str] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Per video: clips {name: [C, D]}, starts [C], pooled [P], text tokens [F, Dt] + field ids [F]; ids lacking a clip extractor are skipped."""
    clip_maps = {n: store.clips(n) for n in cfg.clip_extractors}
    pooled = store.pooled(cfg.pooled_extractors) if cfg.pooled_extractors else None
    tokens = store.tokens(cfg.text_extractor) if cfg.text_extractor else {}
    ref_name = cfg.clip_extractors[0]
    vids = sorted(set.intersection(*(set(m) for m in clip_maps.values())))
    if ids is not None:
        wanted = set(map(str, ids))
        vids = [v for v in vids if v in wanted]
    out = {}
    for v in vids:
        ref_starts, _ = clip_maps[ref_name][v]
        ref_starts = ref_starts[: cfg.max_clips]
        clips = {}
        for n, m in clip_maps.items():
            s, f = m[v]
            clips[n] = np.nan_to_num(_align(ref_starts, s, f), nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
        rec: dict[str, Any] = {"starts": ref_starts.astype(np.float32), "clips": clips}
        if pooled is not None:
            row = pooled.loc[v].to_numpy(np.float32) if v in pooled.index else np.zeros(pooled.shape[1], np.float32)
            rec["pooled"] = np.nan_to_num(row, nan=0.0)
        if cfg.text_extractor:
            fields, mat = tokens.get(v, ([], np.zeros((0, 384), np.float32)))
            keep = [i for i, f in enumerate(fields) if np.abs(mat[i]).sum() > 0]  # empty text → zero vector → masked
            rec["text"] = mat[keep].astype(np.float32)
            rec["text_field"] = np.array([_field_id(fields[i]) for i in keep], np.int64)
        out[v] = rec
    return out


def _field_id(name: str) -> int:
    return TEXT_FIELD_VOCAB.index(name) if name in TEXT_FIELD_VOCAB else len(TEXT_FIELD_VOCAB)


def input_dims(sample: dict[str, Any], cfg: EngagementNetConfig) -> dict[str, int]:
    """Feature widths of one sample (for building the network)."""
    dims = {f"clip:{n}": int(sample["clips"][n].shape[1]) for n in cfg.clip_extractors}
    if "pooled" in sample:
        dims["pooled"] = int(sample["pooled"].shape[0])
    if "text" in sample:
        dims["text"] = int(sample["text"].shape[1]) if sample["text"].size else 384
    return dims


def collate(samples: list[dict[str, Any]], cfg: EngagementNetConfig):
    """Pad a list of samples into a batch of tensors (clip_mask / text_mask mark real entries)."""
    import torch

    B = len(samples)
    C = max(len(s["starts"]) for s in samples)
    batch: dict[str, Any] = {"clips": {}}
    starts = torch.zeros(B, C)
    cmask = torch.zeros(B, C, dtype=torch.bool)
    for i, s in enumerate(samples):
        c = len(s["starts"])
        starts[i, :c] = torch.from_numpy(s["starts"])
        cmask[i, :c] = True
    batch["starts"], batch["clip_mask"] = starts, cmask
    for n in cfg.clip_extractors:
        d = samples[0]["clips"][n].shape[1]
        t = torch.zeros(B, C, d)
        for i, s in enumerate(samples):
            t[i, : len(s["starts"])] = torch.from_numpy(s["clips"][n])
        batch["clips"][n] = t
    if "pooled" in samples[0]:
        batch["pooled"] = torch.from_numpy(np.stack([s["pooled"] for s in samples]))
    if "text" in samples[0]:
        F = max(1, max(len(s["text_field"]) for s in samples))
        d = samples[0]["text"].shape[1] if samples[0]["text"].ndim == 2 and samples[0]["text"].shape[1] else 384
        tt = torch.zeros(B, F, d)
        tf = torch.zeros(B, F, dtype=torch.long)
        tm = torch.zeros(B, F, dtype=torch.bool)
        for i, s in enumerate(samples):
            f = len(s["text_field"])
            if f:
                tt[i, :f] = torch.from_numpy(s["text"])
                tf[i, :f] = torch.from_numpy(s["text_field"])
                tm[i, :f] = True
        batch["text"], batch["text_field"], batch["text_mask"] = tt, tf, tm
    if "y" in samples[0]:
        batch["y"] = torch.from_numpy(np.stack([s["y"] for s in samples]).astype(np.float32))
    return batch


# --------------------------------------------------------------------------- network
def _mlp(d_in: int, hidden: int, d_out: int, dropout: float, standardise: bool = False):
    """Linear-GELU-Linear; with `standardise`, inputs first pass a fixed (mean, std) standardisation set from training data."""
    import torch
    from torch import nn

    class _Standardise(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.zeros(d_in))
            self.register_buffer("std", torch.ones(d_in))

        def forward(self, x):
            return (x - self.mean) / self.std

    layers = [_Standardise()] if standardise else [nn.LayerNorm(d_in)]
    return nn.Sequential(*layers, nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, d_out))


def set_input_norm(net, samples: list[dict[str, Any]], cfg: "EngagementNetConfig") -> None:
    """Set each feature MLP's standardisation from training samples (raw store features have arbitrary scales)."""
    import torch

    def _set(mlp, rows: np.ndarray) -> None:
        if rows.size == 0:
            return
        std = rows.std(axis=0)
        mlp[0].mean.copy_(torch.from_numpy(rows.mean(axis=0).astype(np.float32)))
        mlp[0].std.copy_(torch.from_numpy(np.where(std > 1e-6, std, 1.0).astype(np.float32)))

    for n in cfg.clip_extractors:
        _set(net.clip_mlps[n.replace(".", "_")], np.concatenate([s["clips"][n] for s in samples]))
    if net.pooled_mlp is not None:
        _set(net.pooled_mlp, np.stack([s["pooled"] for s in samples]))


def build_network(cfg: EngagementNetConfig, dims: dict[str, int]):
    """The torch module for `cfg` and the given input widths."""
    import torch
    from torch import nn

    class _Fusion(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mlp = _mlp(cfg.d_model, cfg.mlp_hidden, cfg.d_model, cfg.dropout)

        def forward(self, x):
            return x + self.mlp(x)

    class EngagementNet(nn.Module):
        """Clip tokens × text tokens → per-clip scores → NAWP (all clips), ECR (early clips)."""

        def __init__(self) -> None:
            super().__init__()
            d = cfg.d_model
            self.clip_mlps = nn.ModuleDict(
                {n.replace(".", "_"): _mlp(dims[f"clip:{n}"], cfg.mlp_hidden, d, cfg.dropout, True) for n in cfg.clip_extractors}
            )
            n_in = len(cfg.clip_extractors) + (1 if "pooled" in dims else 0)
            self.pooled_mlp = _mlp(dims["pooled"], cfg.mlp_hidden, d, cfg.dropout, True) if "pooled" in dims else None
            self.proj = nn.Linear(n_in * d, d)
            self.time = nn.Linear(16, d)
            if "text" in dims:
                self.text_mlp = _mlp(dims["text"], cfg.mlp_hidden, d, cfg.dropout)
                self.field_emb = nn.Embedding(len(TEXT_FIELD_VOCAB) + 1, d)
                self.cross = nn.MultiheadAttention(d, cfg.heads, dropout=cfg.dropout, batch_first=True)
                self.cross_norm = nn.LayerNorm(d)
            else:
                self.text_mlp = None
            self.fusion = nn.Sequential(*[_Fusion() for _ in range(cfg.fusion_layers)])
            layer = nn.TransformerEncoderLayer(
                d, cfg.heads, dim_feedforward=2 * d, dropout=cfg.dropout, batch_first=True, norm_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, cfg.attn_layers, enable_nested_tensor=False) if cfg.attn_layers else None
            self.norm = nn.LayerNorm(d)
            self.head_nawp = nn.Linear(d, 1)
            self.head_ecr = nn.Linear(d, 1)

        def _time_features(self, starts):
            freqs = torch.exp(torch.arange(8, device=starts.device, dtype=starts.dtype) * -math.log(60.0) / 8) * 2 * math.pi
            ang = starts[..., None] * freqs
            return torch.cat([torch.sin(ang), torch.cos(ang)], dim=-1)

        def forward(self, batch) -> dict[str, Any]:
            cmask = batch["clip_mask"]
            parts = [self.clip_mlps[n.replace(".", "_")](batch["clips"][n]) for n in cfg.clip_extractors]
            if self.pooled_mlp is not None:
                p = self.pooled_mlp(batch["pooled"])[:, None, :].expand(-1, cmask.shape[1], -1)
                parts.append(p)
            x = self.proj(torch.cat(parts, dim=-1)) + self.time(self._time_features(batch["starts"]))
            if self.text_mlp is not None and "text" in batch:
                tmask = batch["text_mask"]
                t = self.text_mlp(batch["text"]) + self.field_emb(batch["text_field"])
                has_text = tmask.any(dim=1)
                # rows without any text attend to a dummy (masked-out result zeroed below)
                kpm = ~tmask
                kpm[~has_text, 0] = False
                att, _ = self.cross(self.cross_norm(x), t, t, key_padding_mask=kpm, need_weights=False)
                x = x + att * has_text[:, None, None].to(att.dtype)
            x = self.fusion(x)
            early = (batch["starts"] < cfg.early_s) & cmask
            # a video shorter than its first clip still has clip 0 as its early part
            early[:, 0] = early[:, 0] | (cmask[:, 0] & ~early.any(dim=1))
            if self.encoder is not None:
                mask = None
                if cfg.ecr_early_only:
                    # early queries may not look at late keys (per batch row, expanded per head)
                    late = ~early
                    m = early[:, :, None] & late[:, None, :]
                    mask = m.repeat_interleave(cfg.heads, dim=0)
                x = self.encoder(x, mask=mask, src_key_padding_mask=~cmask)
            x = self.norm(x)
            per_nawp = self.head_nawp(x).squeeze(-1)
            per_ecr = self.head_ecr(x).squeeze(-1)
            w_all = cmask.to(x.dtype)
            w_early = early.to(x.dtype)
            nawp = (per_nawp * w_all).sum(1) / w_all.sum(1).clamp(min=1)
            ecr = (per_ecr * w_early).sum(1) / w_early.sum(1).clamp(min=1)
            return {"NAWP": nawp, "ECR": ecr}

    return EngagementNet()


# --------------------------------------------------------------------------- model directory
class EngagementNetModel(ModelBase):
    """A trained EngagementNet with its config, input widths and label normalisation."""

    task = "engagement"
    kind = "net"
    needs_store = True

    def __init__(self, cfg: EngagementNetConfig | None = None, dims: dict[str, int] | None = None) -> None:
        super().__init__()
        self.net_cfg = cfg or EngagementNetConfig()
        self.dims = dict(dims or {})
        self.net = build_network(self.net_cfg, self.dims) if dims else None
        self.device = "cpu"

    def fit(self, *args: Any, **kwargs: Any) -> None:
        """Training lives in `reelscore.training.trainer.train_net` (it needs the data loaders)."""
        raise NotImplementedError("train EngagementNet with reelscore.training.trainer.train_net")

    def denorm(self, target: str, values: np.ndarray) -> np.ndarray:
        """Map network outputs back to the target's scale."""
        n = self.label_norm.get(target, {"mean": 0.0, "std": 1.0})
        return values * n["std"] + n["mean"]

    def predict(self, inputs: dict[str, dict[str, Any]], batch_size: int = 16) -> pd.DataFrame:
        """Predict for prepared inputs (video_id → sample) → DataFrame index video_id, one column per target."""
        import torch

        self.net.eval()
        self.net.to(self.device)
        vids = list(inputs)
        outs: dict[str, list[np.ndarray]] = {t: [] for t in self.targets}
        with torch.inference_mode():
            for i in range(0, len(vids), batch_size):
                b = collate([inputs[v] for v in vids[i : i + batch_size]], self.net_cfg)
                b = to_device(b, self.device)
                o = self.net(b)
                for t in self.targets:
                    outs[t].append(o[t].float().cpu().numpy())
        df = pd.DataFrame(
            {t: self.denorm(t, np.concatenate(v)) if v else np.zeros(0) for t, v in outs.items()},
            index=pd.Index(vids, name="video_id"),
        )
        return df

    def predict_source(self, store=None, manifest=None) -> pd.DataFrame:
        """Predict for every video of the store that has the needed features (manifest ids only when given)."""
        if store is None:
            raise ModelError("EngagementNet needs a feature store (--features, or --manifest with videos)")
        from reelscore.models.light import check_store

        check_store(store, self.feature_spec)
        ids = manifest["video_id"].astype(str).tolist() if manifest is not None else None
        inputs = load_video_inputs(store, self.net_cfg, ids)
        if not inputs:
            raise ModelError(f"no video in {store.path} has all of {', '.join(self.feature_spec)}")
        return self.predict(inputs).rename_axis("Id").reset_index()

    def save(self, directory: str | Path, train_cfg: dict | None = None) -> Path:
        """Write weights.pt and model.json (atomically)."""
        import torch

        from reelscore.common.atomic import atomic_dir

        directory = Path(directory)
        if train_cfg is not None:
            self.config["train"] = train_cfg
        self.config["net"] = dataclasses.asdict(self.net_cfg)
        self.extra["dims"] = self.dims
        self.extra["weights"] = "weights.pt"
        with atomic_dir(directory) as tmp:
            state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
            torch.save(state, tmp / "weights.pt")
            write_model_json(tmp, self.meta())
            for extra in getattr(self, "_extra_files", {}).items():
                (tmp / extra[0]).write_bytes(extra[1])
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "EngagementNetModel":
        """Read a model directory written by save()."""
        import torch

        from reelscore.common.config import config_from_dict

        directory = Path(directory)
        meta = read_model_json(directory)
        cfg = config_from_dict(EngagementNetConfig, meta["config"]["net"])
        self = cls(cfg, meta["dims"])
        self.set_meta(meta)
        state = torch.load(directory / "weights.pt", map_location="cpu", weights_only=True)
        self.net.load_state_dict(state)
        self.net.eval()
        return self


def to_device(batch: dict[str, Any], device: str) -> dict[str, Any]:
    """Move a collated batch to `device`."""
    out: dict[str, Any] = {}
    for k, v in batch.items():
        if isinstance(v, dict):
            out[k] = {n: t.to(device) for n, t in v.items()}
        else:
            out[k] = v.to(device)
    return out


register_kind("engagement", "net", EngagementNetModel)
