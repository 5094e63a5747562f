"""The `sharpmap` extractor: where in the frame the fine detail is.

Whole-frame sharpness cannot tell a clip whose background was blurred on purpose (region-of-interest
pre-processing, one of KVQ's workflows, or a platform's portrait filter) from one that was soft all over,
nor where a frame lost its detail. This extractor maps the local detail of a few native frames: the
absolute 3x3 Laplacian of the luma (OpenCV RGB->GRAY, the longer side capped at `max_side` with INTER_AREA),
averaged over regions. Per frame:

- `center_periphery`: log((C + 1) / (P + 1)), C the mean over the central box [0.3, 0.7) of height and
  width, P the mean outside the box [0.1, 0.9): positive when the centre is sharper than the border;
- `center_ring`: log((C + 1) / (R + 1)), R the mean over the ring between [0.1, 0.9) and [0.3, 0.7);
- `cell_log_std` and `cell_peak`: the std and (max - median) of log(m + 1) over an 8x8 grid of cells,
  m each cell's mean: how unevenly detail is spread.

Frames are those `nativeq` reads (indices int(linspace(0, n-1, frames)), so a score decodes them once);
values pooled as mean and std over frames. The +1 (grey levels of Laplacian) keeps flat frames finite.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from reelscore.features.base import Extractor, ExtractorOutput, IndexFrames, VideoInputs

VALUES = ["center_periphery", "center_ring", "cell_log_std", "cell_peak"]
_CELLS = 8


def detail_map(grey: np.ndarray) -> np.ndarray:
    """|3x3 Laplacian| of a grey uint8 frame (float32, borders reflected)."""
    import cv2

    return np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=3, borderType=cv2.BORDER_REFLECT_101))


def region_values(detail: np.ndarray) -> np.ndarray:
    """The four VALUES of one detail map (see the module docstring)."""
    h, w = detail.shape

    def box(a: float, b: float) -> tuple[float, int]:
        part = detail[int(h * a):int(h * b), int(w * a):int(w * b)]
        return float(part.sum(dtype=np.float64)), part.size

    total = float(detail.sum(dtype=np.float64))
    (s_c, n_c), (s_i, n_i) = box(0.3, 0.7), box(0.1, 0.9)
    c = s_c / max(n_c, 1)
    p = (total - s_i) / max(detail.size - n_i, 1)
    r = (s_i - s_c) / max(n_i - n_c, 1)
    if h < _CELLS or w < _CELLS:  # no 8x8 grid in a frame this small: the spread is unknown, not zero
        return np.array([np.log((c + 1.0) / (p + 1.0)), np.log((c + 1.0) / (r + 1.0)), np.nan, np.nan], np.float64)
    # cells: integer bounds so every pixel belongs to exactly one cell
    ys, xs = np.linspace(0, h, _CELLS + 1).astype(int), np.linspace(0, w, _CELLS + 1).astype(int)
    sums = np.add.reduceat(np.add.reduceat(detail.astype(np.float64), ys[:-1], axis=0), xs[:-1], axis=1)
    cells = np.log(sums / np.outer(np.diff(ys), np.diff(xs)) + 1.0)
    return np.array([np.log((c + 1.0) / (p + 1.0)), np.log((c + 1.0) / (r + 1.0)), cells.std(),
                     cells.max() - np.median(cells)], np.float64)


class SharpMapExtractor(Extractor):
    """Where the detail is: centre vs border sharpness and its spread over an 8x8 grid of native frames."""

    name = "sharpmap"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    per_video = True  # a timeline window reuses the video's values (native frames spread over the video)
    sampler = "frames at indices int(linspace(0, n-1, frames)) at native size (the frames nativeq reads)"
    preprocessing = "longer side capped at max_side (INTER_AREA); OpenCV RGB->GRAY; |3x3 Laplacian| (reflect-101 borders)"

    @dataclass
    class Config:
        """Frames and size cap (the defaults read the same frames as `nativeq`)."""

        frames: int = 6
        max_side: int = 1920

    grid_stride = 0  # reads its own samplings, not the shared grid

    def feature_names(self) -> list[str]:
        """Mean and std over frames of each region value."""
        return [f"{v}_{s}" for v in VALUES for s in ("mean", "std")]

    def requests(self) -> tuple:
        """Native index frames."""
        return (IndexFrames(self.cfg.frames),)

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Region values per native frame → mean and std."""
        import cv2

        from reelscore.common.threads import opencv_map
        from reelscore.features.nativeq import cap_side

        frames = inputs.require(IndexFrames(self.cfg.frames))

        def one(f: np.ndarray) -> np.ndarray:
            grey = cv2.cvtColor(np.ascontiguousarray(cap_side(f, self.cfg.max_side)), cv2.COLOR_RGB2GRAY)
            return region_values(detail_map(grey))

        with opencv_map() as run:
            per = np.stack(list(run(one, list(frames))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pooled = np.column_stack([np.nanmean(per, 0), np.nanstd(per, 0)]).ravel()
        return ExtractorOutput(pooled=pooled.astype(np.float32), meta={"frames": int(len(frames))})
