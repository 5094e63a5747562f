"""The `bandstats` extractor: how energy is spread over spatial and temporal scales.

Natural footage has a characteristic fall of energy from coarse to fine scales; processing bends it.
Blur, down-then-up scaling and strong quantisation take energy out of the finest bands, sharpening
and noise put energy in, and a temporal blend (frames averaged, as a slow shutter or `tmix` does)
takes energy out of the short temporal lags. Ratios between neighbouring bands of the same frame
describe that shape while the content's overall contrast cancels, which is what a model needs to
compare a version of one clip with a version of another (issue 19). Inputs:

- `frames` native frames at indices int(linspace(0, n-1, frames)), the longer side capped at
  `max_side` (INTER_AREA), converted with OpenCV's RGB->YCrCb. Per frame: the Laplacian-pyramid band
  energies E_k = mean((L_k - pyrUp(pyrDown(L_k)))^2) of luma (`levels`) and of Cr (`chroma_levels`),
  reported as log(E_k / E_k+1); and the log mean squared change of the luma when re-encoded as JPEG at
  `jpeg_quality` (an image that compression already flattened changes less). Pooled mean over frames
  (luma ratios also their std).
- The first `temporal_frames` decoded frames, grey, short side `temporal_short_side` (aspect kept):
  log(D_2L / D_L) for the mean squared frame difference D at lags 1, 2, 4, 8, and the luma band
  ratios of every `diff_every`-th one-frame difference (a ghosted difference is smooth).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from reelscore.features.base import Extractor, ExtractorOutput, FirstFrames, IndexFrames, VideoInputs

_EPS_BAND = 1e-6  # energy floor: a flat band (a constant frame) gives a finite ratio
_EPS_DIFF = 1e-3  # frame-difference floor: a still or repeated stretch gives a finite ratio


def band_energies(img: np.ndarray, levels: int) -> np.ndarray:
    """Mean squared Laplacian-pyramid band of `img` (float32 2-D) at each of `levels` scales, finest first."""
    import cv2

    cur = np.ascontiguousarray(img, np.float32)
    out = []
    for _ in range(levels):
        if min(cur.shape) < 2:
            out.append(np.nan)
            continue
        down = cv2.pyrDown(cur)
        up = cv2.pyrUp(down, dstsize=(cur.shape[1], cur.shape[0]))
        out.append(float(np.square(cur - up, dtype=np.float64).mean()) + _EPS_BAND)
        cur = down
    return np.asarray(out, np.float64)


def band_log_ratios(img: np.ndarray, levels: int) -> np.ndarray:
    """log(E_k / E_k+1) for neighbouring Laplacian-pyramid bands, finest first: `levels` - 1 values."""
    e = band_energies(img, levels)
    return np.log(e[:-1] / e[1:])


def jpeg_change(y8: np.ndarray, quality: int) -> float:
    """log of the mean squared change of a uint8 grey image re-encoded as JPEG at `quality`."""
    import cv2

    ok, buf = cv2.imencode(".jpg", y8, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        return float("nan")
    back = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float64)
    return float(np.log(np.square(back - y8).mean() + _EPS_DIFF))


def mean_square_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared difference of two same-size grey frames (exact on uint8: OpenCV's L2SQR norm)."""
    import cv2

    return float(cv2.norm(a, b, cv2.NORM_L2SQR)) / a.size


def lag_log_ratios(grey: np.ndarray, lags: tuple[int, ...] = (1, 2, 4, 8)) -> np.ndarray:
    """log(D_next / D_lag) for consecutive lags, D = mean squared difference of frames `lag` apart."""
    g = np.asarray(grey)
    d = []
    for lag in lags:
        if len(g) > lag:
            # per pair, not one [N, H, W] difference array: no large temporaries, OpenCV's vector loop
            d.append(sum(mean_square_diff(g[t + lag], g[t]) for t in range(len(g) - lag)) / (len(g) - lag) + _EPS_DIFF)
        else:
            d.append(np.nan)
    d = np.asarray(d)
    return np.log(d[1:] / d[:-1])


class BandStatsExtractor(Extractor):
    """Spatial band-energy ratios (luma, Cr), JPEG re-encode change, temporal lag ratios of native frames."""

    name = "bandstats"
    version = "2"  # 2: the first frames are made grey before the area resize (was after; 4x cheaper)
    modality = "visual"
    needs = frozenset({"frames"})
    per_video = True  # a timeline window reuses the video's values (native frames spread over the video)
    sampler = ("frames at indices int(linspace(0, n-1, frames)) at native size; "
               "the first temporal_frames frames grey at short side temporal_short_side")
    preprocessing = ("longer side capped at max_side (INTER_AREA); OpenCV RGB->YCrCb; Laplacian pyramid "
                     "(pyrDown/pyrUp); JPEG via OpenCV; first frames grey (OpenCV RGB->GRAY), then INTER_AREA to the short side")

    @dataclass
    class Config:
        """Frames, sizes and scales (changing them changes the values, so the store keys on them)."""

        frames: int = 5
        max_side: int = 1280
        levels: int = 5
        chroma_levels: int = 4
        jpeg_quality: int = 75
        temporal_frames: int = 49
        temporal_short_side: int = 360
        diff_every: int = 6
        diff_levels: int = 3

    def _temporal_request(self) -> FirstFrames:
        return FirstFrames(self.cfg.temporal_frames, 0, 0, True, self.cfg.temporal_short_side)

    def feature_names(self) -> list[str]:
        """Luma band ratios (mean, std), Cr band ratios, JPEG change, lag ratios, difference band ratios."""
        y = [f"yband{k}_{s}" for k in range(self.cfg.levels - 1) for s in ("mean", "std")]
        c = [f"crband{k}" for k in range(self.cfg.chroma_levels - 1)]
        lags = [1, 2, 4, 8]
        t = [f"lag{b}_{a}" for a, b in zip(lags[:-1], lags[1:])]
        d = [f"diffband{k}" for k in range(self.cfg.diff_levels - 1)]
        return y + c + ["jpeg_change"] + t + d

    grid_stride = 0  # reads its own samplings, not the shared grid

    def requests(self) -> tuple:
        """Native index frames and the first frames (grey, short side kept to scale)."""
        return (IndexFrames(self.cfg.frames), self._temporal_request())

    def frame_values(self, rgb: np.ndarray) -> np.ndarray:
        """Luma band ratios, Cr band ratios and the JPEG change of one RGB frame (size already capped)."""
        import cv2

        ycc = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb)
        y = ycc[..., 0]
        return np.concatenate([band_log_ratios(y.astype(np.float32), self.cfg.levels),
                               band_log_ratios(ycc[..., 1].astype(np.float32), self.cfg.chroma_levels),
                               [jpeg_change(np.ascontiguousarray(y), self.cfg.jpeg_quality)]])

    def temporal_values(self, grey: np.ndarray | None) -> np.ndarray:
        """Lag ratios and difference band ratios of consecutive grey frames (NaN when fewer than 9)."""
        n_t, n_d = 3, self.cfg.diff_levels - 1
        if grey is None or len(grey) < 9:
            return np.full(n_t + n_d, np.nan)
        g = np.asarray(grey)
        db = np.mean([band_log_ratios(g[t + 1].astype(np.float32) - g[t].astype(np.float32), self.cfg.diff_levels)
                      for t in range(0, len(g) - 1, self.cfg.diff_every)], axis=0)
        return np.concatenate([lag_log_ratios(g), db])

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Spatial values per index frame (pooled) and temporal values of the first frames."""
        from reelscore.common.threads import opencv_map
        from reelscore.features.nativeq import cap_side

        frames = inputs.require(IndexFrames(self.cfg.frames))
        with opencv_map() as run:  # independent frames share the OpenCV thread budget
            per = np.stack(list(run(lambda f: self.frame_values(cap_side(f, self.cfg.max_side)), list(frames))))
        ny = self.cfg.levels - 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yb = np.column_stack([np.nanmean(per[:, :ny], 0), np.nanstd(per[:, :ny], 0)]).ravel()
            rest = np.nanmean(per[:, ny:], 0)
        temporal = self.temporal_values(inputs.extra.get(self._temporal_request()))
        pooled = np.concatenate([yb, rest, temporal]).astype(np.float32)
        return ExtractorOutput(pooled=pooled, meta={"frames": int(len(frames))})
