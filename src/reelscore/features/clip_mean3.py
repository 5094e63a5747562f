"""The `clip_mean3` extractor: a CLIP image embedding of the first, middle and last frames, averaged.

It reproduces the embedding of `coldsignal_clip_vitb32_dev.parquet` (the real
SnapUGC rows the shipped engagement model's CLIP member learned from): frames at
indices int(linspace(0, n_frames - 1, 3)) at native size, the checkpoint's own
Hugging Face image processor (for `openai/clip-vit-base-patch32`: shorter side to
224 bicubic, centre crop 224, CLIP normalisation), `get_image_features` (the
projected embedding, not L2-normalised), mean over the three frames. Columns
`clip_000..clip_{D-1}`, as in that file.

Weights come from a local Hugging Face directory the user already has (a copy of
`openai/clip-vit-base-patch32`): `--clip-checkpoint DIR` or the config key
`checkpoint`; nothing is downloaded, and without it the extractor says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelscore.features.base import Extractor, ExtractorOutput, IndexFrames, VideoInputs
from reelscore.features.plugin_common import need_path

CLIP_DIM = 512


def clip_columns(dim: int = CLIP_DIM) -> list[str]:
    """`clip_000`, `clip_001`, ... as in the shared parquet."""
    return [f"clip_{i:03d}" for i in range(dim)]


class ClipMean3Extractor(Extractor):
    """CLIP ViT image embedding (Hugging Face layout) of 3 frames (first, middle, last), averaged."""

    name = "clip_mean3"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    sampler = "3 frames at indices int(linspace(0, n_frames - 1, 3)), native size"
    preprocessing = "the checkpoint's CLIPImageProcessor (resize short side 224 bicubic, centre crop 224, CLIP mean/std)"

    @dataclass
    class Config:
        """Where the weights are and what they give."""

        checkpoint: str | None = None  # local Hugging Face directory (config.json + weights)
        frames: int = 3
        dim: int = CLIP_DIM  # projection size of the checkpoint (512 for ViT-B/32)

    def key_config(self) -> dict:
        """The weights path does not change outputs by itself; the checkpoint's identity is in `spec_id` via dim."""
        return {"frames": self.cfg.frames, "dim": self.cfg.dim}

    def feature_names(self) -> list[str]:
        """clip_000..clip_{dim-1}."""
        return clip_columns(self.cfg.dim)

    grid_stride = 0  # reads its own samplings, not the shared grid

    def requests(self) -> tuple:
        """The index frames at native size."""
        return (IndexFrames(self.cfg.frames),)

    def setup(self, device: str = "cpu") -> None:
        """Load the model and its image processor from the local directory (never the hub)."""
        path = need_path(self.cfg.checkpoint, "--clip-checkpoint", self.name,
                         "a local CLIP checkpoint in Hugging Face layout (a copy of openai/clip-vit-base-patch32)")
        import torch
        from transformers import CLIPImageProcessor, CLIPModel

        try:
            self.model = CLIPModel.from_pretrained(str(path), local_files_only=True).eval().to(device)
        except OSError as exc:
            raise FileNotFoundError(f"{path}: not a Hugging Face CLIP directory ({exc})") from None
        dim = int(self.model.config.projection_dim)
        if dim != self.cfg.dim:
            raise ValueError(f"{path}: projection size {dim}, but the config says dim={self.cfg.dim}")
        try:
            self.processor = CLIPImageProcessor.from_pretrained(str(path), local_files_only=True)
        except OSError:  # no preprocessor_config.json: CLIP's published settings for this input size
            size = int(self.model.config.vision_config.image_size)
            self.processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
        self.device = device
        self._torch = torch

    def embed(self, frames: np.ndarray) -> np.ndarray:
        """Projected image features of uint8 RGB frames [N, H, W, 3] → float32 [N, dim]."""
        torch = self._torch
        batch = self.processor(images=[np.ascontiguousarray(f) for f in frames], return_tensors="pt")
        with torch.inference_mode():
            # what get_image_features computes, spelled out: its return type differs between transformers versions
            pooled = self.model.vision_model(pixel_values=batch["pixel_values"].to(self.device)).pooler_output
            out = self.model.visual_projection(pooled)
        return out.float().cpu().numpy()

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Embed the three frames and average."""
        frames = inputs.require(IndexFrames(self.cfg.frames))
        emb = self.embed(frames)
        return ExtractorOutput(pooled=emb.mean(axis=0).astype(np.float32), meta={"frames": int(len(frames))})
