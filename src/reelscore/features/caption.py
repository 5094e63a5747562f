"""The `caption` plug-in: a local Hugging Face BLIP captioner (--caption-model): a caption and the vision encoder's features."""

from __future__ import annotations

import json
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
from reelscore.features.plugin_common import (
    CLIP_MEAN,
    CLIP_STD,
    hf_dir,
    need_path,
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
        self.path = need_path(self.cfg.model_dir, "--caption-model", self.name, "a local BLIP model directory")
        conf = json.loads((Path(hf_dir(self.path)) / "config.json").read_text())
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

        d = hf_dir(self.path)
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
