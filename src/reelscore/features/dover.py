"""The `dover` plug-in: a TorchScript export of DOVER given by --dover-checkpoint, fed its aesthetic and technical views."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelscore.features.base import (
    Extractor,
    ExtractorOutput,
    VideoInputs,
    clip_starts,
)
from reelscore.features.plugin_common import (
    clip_frame_groups,
    need_path,
)


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
        self.path = need_path(self.cfg.checkpoint, "--dover-checkpoint", self.name, "a TorchScript DOVER export")
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
        count, groups = clip_frame_groups(inputs)
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
