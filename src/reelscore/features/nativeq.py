"""The `nativeq` extractor: the technical descriptors at native resolution, plus repeated frames.

`technical` reads the shared 360-px grid at 4 frames/s: right for the timeline and cheap, but
resizing smooths away block edges, sensor noise and mild blur, and a 4-fps grid cannot see
dropped frames. This extractor reads `frames` native frames at indices int(linspace(0, n-1, frames))
(the longer side capped at `max_side`, INTER_AREA, so a 4K upload costs what a 1080p one does)
and computes the same 21 descriptors on each (BRISQUE included), pooled as mean and std; and,
on the first `pairs + 1` decoded frames (grey, 160 x 90), the share of consecutive pairs that
are repeats (mean absolute difference below `repeat_threshold` grey levels) and the median
difference: a dropped frame a player or encoder filled with a copy shows as a repeat.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from reelscore.features.base import Extractor, ExtractorOutput, FirstFrames, IndexFrames, VideoInputs
from reelscore.features.technical import DESCRIPTORS, frame_descriptors


def cap_side(frame: np.ndarray, max_side: int) -> np.ndarray:
    """The frame with its longer side at most `max_side` (area interpolation), else unchanged."""
    import cv2

    h, w = frame.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return frame
    s = max_side / max(h, w)
    return cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def repeat_stats(grey: np.ndarray, threshold: float) -> tuple[float, float]:
    """(share of consecutive pairs with mean |difference| < threshold, median difference) of grey frames [N, H, W]."""
    if grey is None or len(grey) < 2:
        return float("nan"), float("nan")
    g = grey.astype(np.float32)
    d = np.abs(np.diff(g, axis=0)).mean(axis=(1, 2))
    return float(np.mean(d < threshold)), float(np.median(d))


class NativeQualityExtractor(Extractor):
    """Technical descriptors on native frames (mean, std) and the share of repeated frames."""

    name = "nativeq"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    per_video = True  # a timeline window reuses the video's values (see `window`)
    sampler = "frames at indices int(linspace(0, n-1, frames)) at native size; the first pairs+1 frames grey 160x90"
    preprocessing = "longer side capped at max_side (INTER_AREA); BT.601 luma; repeats on 160x90 grey (bilinear)"

    @dataclass
    class Config:
        """How many native frames, the size cap, and the repeat detector."""

        frames: int = 6
        max_side: int = 1920
        pairs: int = 48
        repeat_threshold: float = 0.25

    def feature_names(self) -> list[str]:
        """Mean and std of each descriptor on native frames, then repeat_share and diff_median."""
        return [f"{d}_{s}" for d in DESCRIPTORS for s in ("mean", "std")] + ["repeat_share", "diff_median"]

    grid_stride = 0  # reads its own samplings, not the shared grid

    def requests(self) -> tuple:
        """Native index frames and the first frames (grey, small)."""
        return (IndexFrames(self.cfg.frames), FirstFrames(self.cfg.pairs + 1, 160, 90, True))

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Descriptors per native frame → mean/std; first frames → repeats."""
        frames = inputs.require(IndexFrames(self.cfg.frames))
        from reelscore.common.threads import opencv_map

        # frames are independent here (TI is left out below), so they share the OpenCV thread budget
        with opencv_map() as run:
            rows = list(run(lambda f: frame_descriptors(cap_side(f, self.cfg.max_side), None, with_brisque=True)[0],
                            list(frames)))
        vals = np.stack(rows)
        # TI between frames seconds apart is not temporal information: leave it out here
        vals[:, DESCRIPTORS.index("ti")] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pooled = np.column_stack([np.nanmean(vals, 0), np.nanstd(vals, 0)]).ravel()
        grey = inputs.extra.get(FirstFrames(self.cfg.pairs + 1, 160, 90, True))
        share, med = repeat_stats(grey, self.cfg.repeat_threshold)
        return ExtractorOutput(pooled=np.append(pooled, [share, med]).astype(np.float32),
                               meta={"frames": int(len(frames))})
