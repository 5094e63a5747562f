"""The `clip` plug-in: the CLIP ViT image tower from a local checkpoint (--clip-checkpoint); nothing is downloaded."""

from __future__ import annotations

import math
from dataclasses import dataclass

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
from reelscore.features.plugin_common import (
    CLIP_MEAN,
    CLIP_STD,
    load_state_dict,
    need_path,
    resize_crop,
)

# --- CLIP ViT image tower -------------------------------------------------------------


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
        self.path = need_path(self.cfg.checkpoint, "--clip-checkpoint", self.name, "a CLIP ViT checkpoint")
        state = load_state_dict(self.path)
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
        self.model = build_clip_visual(load_state_dict(self.path), self.cfg.act).to(device)

    def embed(self, frames: np.ndarray) -> np.ndarray:
        """uint8 frames → L2-normalised embeddings [N, D]."""
        import torch

        if self.model is None:
            self.setup(self.device)
        size = self.model.input_resolution
        outs = []
        with torch.inference_mode():
            for s in range(0, len(frames), self.batch_size):
                x = (resize_crop(frames[s : s + self.batch_size], size, size, "cubic") - CLIP_MEAN) / CLIP_STD
                e = self.model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(self.device))
                outs.append(torch.nn.functional.normalize(e, dim=-1).float().cpu().numpy())
        return np.concatenate(outs)

    @property
    def grid_stride(self) -> int:
        """Reads every `stride`-th grid frame."""
        return max(1, int(self.cfg.stride))

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Embed sampled frames, average per clip and video."""
        frames, ts = inputs.grid_every(self.cfg.stride)
        emb = self.embed(frames)
        dur = inputs.duration_s or float(inputs.timestamps[-1] + 1 / inputs.plan.fps)
        count = n_clips(dur, inputs.plan)
        clips = pool_by_clip(emb, clip_index(ts, inputs.plan), count)
        for c in range(count):
            if np.isnan(clips[c]).all():
                clips[c] = clips[c - 1] if c > 0 else emb[0]
        return ExtractorOutput(pooled=emb.mean(0, dtype=np.float64).astype(np.float32), clip_starts=clip_starts(count, inputs.plan), clips=clips)
