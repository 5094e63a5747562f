"""Plug-in extractors for the papers' own backbones, loaded from weights the user gives.

None of these ship weights (none are packaged for offline use); each needs a
local path and fails with a message naming the option when it has none:

- `clip`  (--clip-checkpoint): the CLIP ViT image tower (OpenAI / open_clip layout), defined here
  because open_clip needs torchvision, which does not load beside the CPU torch build. Loads a
  full CLIP state dict (keys `visual.*`), a visual-only one, or an OpenAI TorchScript archive;
  width, depth, patch size, input size and output dim are read from the weights.
- `r3d18` (--r3d18-checkpoint): torchvision's R3D-18 (VideoResNet, BasicBlock, Conv3DSimple)
  re-implemented with torchvision-compatible state-dict keys, so `r3d_18` Kinetics-400 weights
  (r3d_18-b3b3357e.pth) load as they are.
- `dover` (--dover-checkpoint): a TorchScript module taking DOVER's two views (aesthetic: the
  clip's frames resized to 224x224; technical: 7x7 grid fragments of 32-pixel patches) as
  [1, 3, T, 224, 224] tensors each and returning a tensor (or tuple of tensors) of scores or
  features; docs/features.md shows how to export the official DOVER model to it.
- `t5` (--t5-model): transformers T5EncoderModel + tokenizer from a local directory; mean-pooled
  encoder states of the same four text fields as `text` (the paper's T5 text tokens).
- `caption` (--caption-model): transformers BLIP captioning model + tokenizer from a local
  directory; a caption of the middle frame (fed to `text` as the caption when the manifest has
  none) and the vision encoder's pooled features per frame (the "captioner features").
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelscore.features.base import (
    Extractor,
    ExtractorOutput,
    VideoInputs,
    clip_index,
    clip_starts,
    n_clips,
    pool_by_clip,
)


def _need(path: str | None, option: str, name: str, what: str) -> Path:
    if not path:
        raise ValueError(f"extractor {name!r} needs {what}: pass {option} PATH (nothing is downloaded)")
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{p}: {option} path does not exist")
    return p


def _load_state_dict(path: Path) -> dict:
    """A state dict from a torch.save file (plain or {'state_dict'/'model': ...}) or a TorchScript archive."""
    import torch

    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:
        obj = torch.jit.load(str(path), map_location="cpu").state_dict()
    for key in ("state_dict", "model", "model_state"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a state dict")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _resize_crop(frames: np.ndarray, resize: int | tuple[int, int], crop: int, interp: str = "area") -> np.ndarray:
    """uint8 [N,H,W,3] → float32 [N,crop,crop,3] in 0..1 (short side → resize, or (h, w); centre crop)."""
    import cv2

    flag = {"area": cv2.INTER_AREA, "cubic": cv2.INTER_CUBIC, "linear": cv2.INTER_LINEAR}[interp]
    out = np.empty((len(frames), crop, crop, 3), np.float32)
    for i, f in enumerate(frames):
        h, w = f.shape[:2]
        if isinstance(resize, tuple):
            nh, nw = resize
        else:
            s = resize / min(h, w)
            nh, nw = max(crop, round(h * s)), max(crop, round(w * s))
        r = cv2.resize(f, (nw, nh), interpolation=flag)
        y0, x0 = (nh - crop) // 2, (nw - crop) // 2
        out[i] = r[y0 : y0 + crop, x0 : x0 + crop].astype(np.float32) / 255.0
    return out


def _clip_frame_groups(inputs: VideoInputs) -> tuple[int, list[np.ndarray]]:
    """Grid-frame indices of each clip (a partial last clip is padded by repeating its last frame)."""
    plan = inputs.plan
    dur = inputs.duration_s or float(inputs.timestamps[-1] + 1 / plan.fps)
    count = n_clips(dur, plan)
    cid = clip_index(inputs.timestamps, plan)
    groups = []
    for c in range(count):
        idx = np.flatnonzero(cid == c)
        if idx.size == 0:
            idx = np.array([len(inputs.timestamps) - 1])
        idx = np.concatenate([idx, np.full(plan.clip_len - min(idx.size, plan.clip_len), idx[-1])])[: plan.clip_len]
        groups.append(idx)
    return count, groups


# --- CLIP ViT image tower -------------------------------------------------------------
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)


def clip_visual_module(width: int, layers: int, patch: int, grid: int, out_dim: int, act: str = "quick_gelu"):
    """An (untrained) CLIP VisionTransformer with OpenAI / open_clip parameter names."""
    import torch
    from torch import nn

    class QuickGELU(nn.Module):
        def forward(self, x):
            return x * torch.sigmoid(1.702 * x)

    class Block(nn.Module):
        def __init__(self, width: int, heads: int) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(width)
            self.attn = nn.MultiheadAttention(width, heads)
            self.ln_2 = nn.LayerNorm(width)
            self.mlp = nn.Sequential()
            self.mlp.add_module("c_fc", nn.Linear(width, width * 4))
            self.mlp.add_module("gelu", QuickGELU() if act == "quick_gelu" else nn.GELU())
            self.mlp.add_module("c_proj", nn.Linear(width * 4, width))

        def forward(self, x):
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    class Visual(nn.Module):
        def __init__(self, width: int, layers: int, patch: int, grid: int, out_dim: int) -> None:
            super().__init__()
            self.input_resolution = grid * patch
            self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
            self.class_embedding = nn.Parameter(torch.zeros(width))
            self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, width))
            self.ln_pre = nn.LayerNorm(width)
            self.transformer = nn.Module()
            self.transformer.resblocks = nn.Sequential(*[Block(width, max(1, width // 64)) for _ in range(layers)])
            self.ln_post = nn.LayerNorm(width)
            self.proj = nn.Parameter(torch.zeros(width, out_dim))

        def forward(self, x):
            x = self.conv1(x).flatten(2).transpose(1, 2)
            cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
            x = torch.cat([cls, x], 1) + self.positional_embedding.to(x.dtype)
            x = self.ln_pre(x).transpose(0, 1)
            x = self.transformer.resblocks(x).transpose(0, 1)
            return self.ln_post(x[:, 0]) @ self.proj

    return Visual(width, layers, patch, grid, out_dim)


def build_clip_visual(state: dict, act: str = "quick_gelu"):
    """The CLIP image tower sized from and loaded with a (full or `visual.*`) CLIP state dict."""
    vis = {k.removeprefix("visual."): v for k, v in state.items() if k.startswith("visual.")} or dict(state)
    if "conv1.weight" not in vis:
        raise ValueError("not a CLIP ViT state dict (no visual.conv1.weight); ResNet CLIP towers are not supported")
    width, _, patch, _ = vis["conv1.weight"].shape
    layers = len({k.split(".")[2] for k in vis if k.startswith("transformer.resblocks.")})
    grid = int(round(math.sqrt(vis["positional_embedding"].shape[0] - 1)))
    model = clip_visual_module(width, layers, patch, grid, vis["proj"].shape[1], act)
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in vis.items()}, strict=False)
    if missing:
        raise ValueError(f"CLIP checkpoint lacks {len(missing)} weights, e.g. {missing[:3]}")
    return model.eval()


class ClipExtractor(Extractor):
    """CLIP ViT image embeddings per frame (L2-normalised), pooled per clip and video; weights from --clip-checkpoint."""

    name = "clip"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    sampler = "shared grid: every `stride`-th grid frame"
    preprocessing = "RGB; resize short side to the model's input size (bicubic); centre crop; /255; CLIP mean/std"

    @dataclass
    class Config:
        """checkpoint: CLIP state dict or OpenAI TorchScript file (required)."""

        checkpoint: str | None = None
        stride: int = 4
        act: str = "quick_gelu"

    def __init__(self, **cfg) -> None:
        super().__init__(**cfg)
        self.path = _need(self.cfg.checkpoint, "--clip-checkpoint", self.name, "a CLIP ViT checkpoint")
        state = _load_state_dict(self.path)
        proj = state.get("visual.proj", state.get("proj"))
        if proj is None:
            raise ValueError(f"{self.path}: not a CLIP ViT checkpoint (no visual.proj)")
        self._dim = int(proj.shape[1])
        self.model = None
        self.device = "cpu"
        self.batch_size = 16

    def key_config(self) -> dict:
        """Keyed on the weights' size and name, not just the path."""
        return {**self.config(), "checkpoint": f"{self.path.name}:{self.path.stat().st_size}"}

    def feature_names(self) -> list[str]:
        """Mean embedding."""
        return [f"e{i:03d}" for i in range(self._dim)]

    def clip_feature_names(self) -> list[str]:
        """Per-clip mean embedding."""
        return self.feature_names()

    def setup(self, device: str = "cpu") -> None:
        """Build the tower from the checkpoint."""
        self.device = device
        self.model = build_clip_visual(_load_state_dict(self.path), self.cfg.act).to(device)

    def embed(self, frames: np.ndarray) -> np.ndarray:
        """uint8 frames → L2-normalised embeddings [N, D]."""
        import torch

        if self.model is None:
            self.setup(self.device)
        size = self.model.input_resolution
        outs = []
        with torch.inference_mode():
            for s in range(0, len(frames), self.batch_size):
                x = (_resize_crop(frames[s : s + self.batch_size], size, size, "cubic") - CLIP_MEAN) / CLIP_STD
                e = self.model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(self.device))
                outs.append(torch.nn.functional.normalize(e, dim=-1).float().cpu().numpy())
        return np.concatenate(outs)

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Embed sampled frames, average per clip and video."""
        sel = slice(None, None, max(1, self.cfg.stride))
        frames, ts = inputs.frames[sel], inputs.timestamps[sel]
        emb = self.embed(frames)
        dur = inputs.duration_s or float(inputs.timestamps[-1] + 1 / inputs.plan.fps)
        count = n_clips(dur, inputs.plan)
        clips = pool_by_clip(emb, clip_index(ts, inputs.plan), count)
        for c in range(count):
            if np.isnan(clips[c]).all():
                clips[c] = clips[c - 1] if c > 0 else emb[0]
        return ExtractorOutput(pooled=emb.mean(0, dtype=np.float64).astype(np.float32), clip_starts=clip_starts(count, inputs.plan), clips=clips)


# --- R3D-18 (torchvision VideoResNet layout) ------------------------------------------
R3D_MEAN = np.array([0.43216, 0.394666, 0.37645], np.float32)
R3D_STD = np.array([0.22803, 0.22145, 0.216989], np.float32)


def build_r3d18(num_classes: int = 400):
    """torchvision.models.video.r3d_18's architecture with the same state-dict keys."""
    from torch import nn

    def conv3(i: int, o: int, stride: int = 1):
        return nn.Conv3d(i, o, kernel_size=(3, 3, 3), stride=(stride, stride, stride), padding=(1, 1, 1), bias=False)

    class BasicBlock(nn.Module):
        def __init__(self, inp: int, planes: int, stride: int = 1, downsample=None) -> None:
            super().__init__()
            self.conv1 = nn.Sequential(conv3(inp, planes, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
            self.conv2 = nn.Sequential(conv3(planes, planes), nn.BatchNorm3d(planes))
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            res = x if self.downsample is None else self.downsample(x)
            return self.relu(self.conv2(self.conv1(x)) + res)

    class R3D18(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv3d(3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
                nn.BatchNorm3d(64),
                nn.ReLU(inplace=True),
            )
            inp = 64
            for i, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], 1):
                down = None
                if stride != 1 or inp != planes:
                    down = nn.Sequential(nn.Conv3d(inp, planes, kernel_size=1, stride=stride, bias=False), nn.BatchNorm3d(planes))
                setattr(self, f"layer{i}", nn.Sequential(BasicBlock(inp, planes, stride, down), BasicBlock(planes, planes)))
                inp = planes
            self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
            self.fc = nn.Linear(512, num_classes)

        def features(self, x):
            x = self.stem(x)
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.avgpool(x).flatten(1)

        def forward(self, x):
            return self.fc(self.features(x))

    return R3D18()


class R3D18Extractor(Extractor):
    """R3D-18 (Kinetics-400) action features per clip of L grid frames; weights from --r3d18-checkpoint."""

    name = "r3d18"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    sampler = "each clip's L grid frames (last clip padded by repetition)"
    preprocessing = "RGB; resize to 128x171 (bilinear); centre crop 112; /255; Kinetics mean/std; [1,3,L,112,112]"

    @dataclass
    class Config:
        """checkpoint: torchvision r3d_18 state dict (required)."""

        checkpoint: str | None = None

    def __init__(self, **cfg) -> None:
        super().__init__(**cfg)
        self.path = _need(self.cfg.checkpoint, "--r3d18-checkpoint", self.name, "an R3D-18 checkpoint")
        self.model = None
        self.device = "cpu"
        self.batch_size = 4

    def key_config(self) -> dict:
        """Keyed on the weights' file name and size."""
        return {**self.config(), "checkpoint": f"{self.path.name}:{self.path.stat().st_size}"}

    def feature_names(self) -> list[str]:
        """Mean 512-d clip feature, then the mean top-1 Kinetics probability."""
        return [f"f{i:03d}" for i in range(512)] + ["top1_prob"]

    def clip_feature_names(self) -> list[str]:
        """512-d feature per clip."""
        return [f"f{i:03d}" for i in range(512)]

    def setup(self, device: str = "cpu") -> None:
        """Load the torchvision-layout weights."""
        state = _load_state_dict(self.path)
        model = build_r3d18(num_classes=state["fc.weight"].shape[0])
        model.load_state_dict(state, strict=True)
        self.device = device
        self.model = model.eval().to(device)

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """One 16-frame tensor per clip → 512-d features."""
        import torch

        if self.model is None:
            self.setup(self.device)
        count, groups = _clip_frame_groups(inputs)
        x_all = (_resize_crop(inputs.frames, (128, 171), 112, "linear") - R3D_MEAN) / R3D_STD
        feats, probs = [], []
        with torch.inference_mode():
            for s in range(0, count, self.batch_size):
                x = np.stack([x_all[g] for g in groups[s : s + self.batch_size]])  # [B, L, H, W, 3]
                t = torch.from_numpy(x).permute(0, 4, 1, 2, 3).contiguous().to(self.device)
                f = self.model.features(t)
                feats.append(f.float().cpu().numpy())
                probs.append(torch.softmax(self.model.fc(f), -1).float().cpu().numpy())
        f, p = np.concatenate(feats), np.concatenate(probs)
        pooled = np.append(f.mean(0, dtype=np.float64), p.max(1).mean(dtype=np.float64)).astype(np.float32)
        meta = {"clip_top1_index": [int(i) for i in p.argmax(1)]}
        return ExtractorOutput(pooled=pooled, clip_starts=clip_starts(count, inputs.plan), clips=f.astype(np.float32), meta=meta)


# --- DOVER (TorchScript, two views) ---------------------------------------------------
def fragments_view(frames: np.ndarray, grid: int = 7, size: int = 32) -> np.ndarray:
    """DOVER/FAST-VQA fragments: a grid x grid mosaic of size-pixel patches at native scale, centre of each cell."""
    import cv2

    n, h, w = frames.shape[:3]
    need = grid * size
    if min(h, w) < need:  # upscale small frames so every cell holds a full patch
        s = need / min(h, w)
        frames = np.stack([cv2.resize(f, (max(need, round(w * s)), max(need, round(h * s))), interpolation=cv2.INTER_LINEAR) for f in frames])
        n, h, w = frames.shape[:3]
    out = np.empty((n, need, need, 3), np.uint8)
    for gy in range(grid):
        for gx in range(grid):
            y0 = int(gy * h / grid + (h / grid - size) / 2)
            x0 = int(gx * w / grid + (w / grid - size) / 2)
            out[:, gy * size : (gy + 1) * size, gx * size : (gx + 1) * size] = frames[:, y0 : y0 + size, x0 : x0 + size]
    return out


DOVER_MEAN = np.array([123.675, 116.28, 103.53], np.float32)
DOVER_STD = np.array([58.395, 57.12, 57.375], np.float32)


class DoverExtractor(Extractor):
    """DOVER aesthetic + technical scores/features per clip from a TorchScript export (--dover-checkpoint)."""

    name = "dover"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    sampler = "each clip's L grid frames; aesthetic view = frames resized to 224x224; technical view = 7x7 fragments of 32 px"
    preprocessing = "RGB 0..255; (x - ImageNet mean*255) / (std*255); views [1, 3, L, 224, 224] each"

    @dataclass
    class Config:
        """checkpoint: TorchScript module f(aesthetic, technical) -> tensor or tuple (required)."""

        checkpoint: str | None = None
        out_dim: int = 2

    def __init__(self, **cfg) -> None:
        super().__init__(**cfg)
        self.path = _need(self.cfg.checkpoint, "--dover-checkpoint", self.name, "a TorchScript DOVER export")
        self.model = None
        self.device = "cpu"

    def key_config(self) -> dict:
        """Keyed on the export's file name and size."""
        return {**self.config(), "checkpoint": f"{self.path.name}:{self.path.stat().st_size}"}

    def feature_names(self) -> list[str]:
        """Mean of the model's outputs over clips (e.g. aesthetic, technical)."""
        return [f"o{i}" for i in range(self.cfg.out_dim)]

    def clip_feature_names(self) -> list[str]:
        """Model outputs per clip."""
        return self.feature_names()

    def setup(self, device: str = "cpu") -> None:
        """Load the TorchScript module."""
        import torch

        self.device = device
        self.model = torch.jit.load(str(self.path), map_location=device).eval()

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Run both views per clip; flatten the outputs to out_dim values."""
        import cv2
        import torch

        if self.model is None:
            self.setup(self.device)
        count, groups = _clip_frame_groups(inputs)
        rows = []
        with torch.inference_mode():
            for g in groups:
                f = inputs.frames[g]
                aes = np.stack([cv2.resize(x, (224, 224), interpolation=cv2.INTER_AREA) for x in f]).astype(np.float32)
                tech = fragments_view(f).astype(np.float32)
                to_t = lambda a: torch.from_numpy((a - DOVER_MEAN) / DOVER_STD).permute(3, 0, 1, 2)[None].contiguous().to(self.device)  # noqa: E731
                out = self.model(to_t(aes), to_t(tech))
                outs = out if isinstance(out, (tuple, list)) else (out,)
                vec = torch.cat([o.float().reshape(-1) for o in outs]).cpu().numpy()
                if vec.size != self.cfg.out_dim:
                    raise ValueError(f"DOVER export returned {vec.size} values per clip; set dover out_dim={vec.size}")
                rows.append(vec)
        clips = np.stack(rows).astype(np.float32)
        return ExtractorOutput(pooled=clips.mean(0, dtype=np.float64).astype(np.float32), clip_starts=clip_starts(count, inputs.plan), clips=clips)


# --- T5 text encoder ------------------------------------------------------------------
def _hf_dir(path: Path) -> str:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path}: not a transformers model directory (no config.json)")
    return str(path)


class T5Extractor(Extractor):
    """T5 encoder (mean-pooled states) of title, description, audio tags and caption; model from --t5-model."""

    name = "t5"
    version = "1"
    modality = "text"
    needs = frozenset({"text"})
    requires = ("audio",)
    key_kind = "text"
    sampler = "same fields as `text`"
    preprocessing = "the model's tokenizer (max_length tokens, truncation); mean of encoder states over real tokens"

    @dataclass
    class Config:
        """model_dir: local transformers T5 directory (required)."""

        model_dir: str | None = None
        max_length: int = 128

    def __init__(self, **cfg) -> None:
        super().__init__(**cfg)
        self.path = _need(self.cfg.model_dir, "--t5-model", self.name, "a local T5 model directory")
        conf = json.loads((Path(_hf_dir(self.path)) / "config.json").read_text())
        self._dim = int(conf.get("d_model", 512))
        self.model = self.tok = None
        self.device = "cpu"

    def key_config(self) -> dict:
        """Keyed on the directory name and its config."""
        return {**self.config(), "model": self.path.name, "model_config": (self.path / "config.json").read_text()}

    def feature_names(self) -> list[str]:
        """d_model dims per field, then empty flags."""
        from reelscore.features.text import FIELDS

        return [f"{f}_{i:03d}" for f in FIELDS for i in range(self._dim)] + [f"{f}_empty" for f in FIELDS]

    def setup(self, device: str = "cpu") -> None:
        """Load encoder and tokenizer from the local directory."""
        from transformers import AutoTokenizer, T5EncoderModel

        d = _hf_dir(self.path)
        self.tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
        self.model = T5EncoderModel.from_pretrained(d, local_files_only=True).eval().to(device)
        self.device = device

    def encode(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled encoder states [N, d_model]; empty strings → zeros."""
        import torch

        if self.model is None:
            self.setup(self.device)
        out = np.zeros((len(texts), self._dim), np.float32)
        idx = [i for i, t in enumerate(texts) if t]
        if idx:
            enc = self.tok([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True, max_length=self.cfg.max_length)
            enc = {k: v.to(self.device) for k, v in enc.items()}
            with torch.inference_mode():
                h = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
            out[idx] = ((h * m).sum(1) / m.sum(1).clamp(min=1)).float().cpu().numpy()
        return out

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Encode the four fields."""
        from reelscore.features.text import FIELDS, TextExtractor

        texts = TextExtractor.field_texts(self, inputs)  # same field rules as `text`
        vecs = self.encode(texts)
        empty = np.array([t == "" for t in texts], np.float32)
        return ExtractorOutput(
            pooled=np.concatenate([vecs.ravel(), empty]).astype(np.float32),
            token_fields=list(FIELDS),
            tokens=vecs,
            meta={"empty": [bool(e) for e in empty]},
        )


# --- BLIP captioner -------------------------------------------------------------------
class CaptionExtractor(Extractor):
    """BLIP captions (middle frame) and vision-encoder features per frame; model from --caption-model."""

    name = "caption"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    sampler = "shared grid: every `stride`-th grid frame for features; the middle grid frame for the caption"
    preprocessing = "RGB; resize to the model's image_size (bicubic, no crop); /255; CLIP mean/std (BLIP's)"

    @dataclass
    class Config:
        """model_dir: local transformers BLIP captioning directory (required)."""

        model_dir: str | None = None
        stride: int = 8
        max_new_tokens: int = 20
        num_beams: int = 1

    def __init__(self, **cfg) -> None:
        super().__init__(**cfg)
        self.path = _need(self.cfg.model_dir, "--caption-model", self.name, "a local BLIP model directory")
        conf = json.loads((Path(_hf_dir(self.path)) / "config.json").read_text())
        self._dim = int(conf.get("vision_config", {}).get("hidden_size", 768))
        self._size = int(conf.get("vision_config", {}).get("image_size", 384))
        self.model = self.tok = None
        self.device = "cpu"

    def key_config(self) -> dict:
        """Keyed on the directory name and its config."""
        return {**self.config(), "model": self.path.name, "model_config": (self.path / "config.json").read_text()}

    def feature_names(self) -> list[str]:
        """Mean pooled vision features."""
        return [f"v{i:03d}" for i in range(self._dim)]

    def clip_feature_names(self) -> list[str]:
        """Per-clip mean vision features."""
        return self.feature_names()

    def setup(self, device: str = "cpu") -> None:
        """Load BLIP and its tokenizer from the local directory."""
        from transformers import AutoTokenizer, BlipForConditionalGeneration

        d = _hf_dir(self.path)
        self.tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
        self.model = BlipForConditionalGeneration.from_pretrained(d, local_files_only=True).eval().to(device)
        self.device = device

    def _pixels(self, frames: np.ndarray):
        import cv2
        import torch

        x = np.stack([cv2.resize(f, (self._size, self._size), interpolation=cv2.INTER_CUBIC) for f in frames]).astype(np.float32) / 255.0
        x = (x - CLIP_MEAN) / CLIP_STD
        return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(self.device)

    def caption(self, frame: np.ndarray) -> str:
        """One caption for one frame."""
        import torch

        if self.model is None:
            self.setup(self.device)
        with torch.inference_mode():
            ids = self.model.generate(pixel_values=self._pixels(frame[None]), max_new_tokens=self.cfg.max_new_tokens, num_beams=self.cfg.num_beams, do_sample=False)
        return " ".join(self.tok.decode(ids[0], skip_special_tokens=True).split())

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Vision features per sampled frame (pooled per clip/video) and the middle frame's caption."""
        import torch

        if self.model is None:
            self.setup(self.device)
        sel = slice(None, None, max(1, self.cfg.stride))
        frames, ts = inputs.frames[sel], inputs.timestamps[sel]
        with torch.inference_mode():
            feats = self.model.vision_model(pixel_values=self._pixels(frames)).pooler_output.float().cpu().numpy()
        dur = inputs.duration_s or float(inputs.timestamps[-1] + 1 / inputs.plan.fps)
        count = n_clips(dur, inputs.plan)
        clips = pool_by_clip(feats, clip_index(ts, inputs.plan), count)
        for c in range(count):
            if np.isnan(clips[c]).all():
                clips[c] = clips[c - 1] if c > 0 else feats[0]
        text = self.caption(inputs.frames[len(inputs.frames) // 2])
        return ExtractorOutput(pooled=feats.mean(0, dtype=np.float64).astype(np.float32), clip_starts=clip_starts(count, inputs.plan), clips=clips, meta={"caption": text})
