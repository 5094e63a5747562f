"""Motion and pacing: frame differences, Farneback optical flow, scene cuts and shot lengths.

Runs on the shared frame grid (default 4 frames/s), each frame converted to
grey and resized so its short side is `short_side` (default 128) pixels.
Between consecutive grid frames: mean absolute grey difference (0..255) and
dense Farneback flow (pyramid 0.5, 3 levels, window 15, 3 iterations, poly
5/1.2). Flow magnitudes are in short sides per second (pixels / short_side
× grid fps), so they do not depend on the analysis size. A scene cut is a
pair whose HSV-histogram (16x4x4 bins) Bhattacharyya distance exceeds
`cut_threshold`; its time is the later frame's timestamp, and flow across a
cut is left out. Shots are the spans between 0, the cuts and the duration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelscore.features.base import (
    Extractor,
    ExtractorOutput,
    GridPass,
    VideoInputs,
    clip_index,
    clip_starts,
    feed_pass,
    grid_pass_result,
    n_clips,
)

PAIR_NAMES = ["diff_mean", "flow_mean", "flow_std", "flow_p90", "flow_max", "cut"]


def small_gray(frame: np.ndarray, short_side: int) -> np.ndarray:
    """Grey uint8 frame resized so its short side is `short_side`."""
    import cv2

    h, w = frame.shape[:2]
    s = short_side / min(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return cv2.resize(g, size, interpolation=cv2.INTER_AREA) if s < 1 else g


def hsv_hist(frame: np.ndarray, short_side: int) -> np.ndarray:
    """Normalised 16x4x4 HSV histogram of a (downscaled) RGB frame."""
    import cv2

    h, w = frame.shape[:2]
    s = short_side / min(h, w)
    small = cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else frame
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, hist).astype(np.float32)


def _pair_row(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], side: float, fps: float,
              cut_threshold: float) -> list[float]:
    """One consecutive pair of prepared (grey, histogram) frames → a PAIR_NAMES row."""
    import cv2

    diff = float(np.mean(np.abs(a[0].astype(np.int16) - b[0].astype(np.int16))))
    dist = float(cv2.compareHist(a[1], b[1], cv2.HISTCMP_BHATTACHARYYA))
    if dist > cut_threshold:
        return [diff, np.nan, np.nan, np.nan, np.nan, 1.0]
    flow = cv2.calcOpticalFlowFarneback(a[0], b[0], None, 0.5, 3, 15, 3, 5, 1.2, 0)
    mag = np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2) / side * fps
    return [diff, float(mag.mean(dtype=np.float64)), float(mag.std(dtype=np.float64)), float(np.percentile(mag, 90)),
            float(mag.max()), 0.0]


class PairPass(GridPass):
    """Pair statistics of consecutive grid frames as the decode hands them over: each chunk's frames are
    prepared and its pairs (the previous chunk's last frame included) computed on OpenCV's thread budget,
    so only one prepared frame outlives a chunk; the rows are those of `pair_stats` on the whole stack."""

    def __init__(self, fps: float, short_side: int, cut_threshold: float) -> None:
        self.fps, self.short_side, self.cut_threshold = fps, short_side, cut_threshold
        self.rows: list[list[float]] = []
        self.last: tuple[np.ndarray, np.ndarray] | None = None
        self.side = 1.0

    def add(self, frames: np.ndarray, timestamps: np.ndarray) -> None:
        """Prepare the next frames and add the pairs they close."""
        from reelscore.common.threads import opencv_map

        def prep(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return small_gray(f, self.short_side), hsv_hist(f, self.short_side)

        with opencv_map() as run:
            prepared = list(run(prep, frames))
            if not prepared:
                return
            if self.last is None:
                self.side = float(min(prepared[0][0].shape))
            seq = ([self.last] if self.last is not None else []) + prepared
            self.rows.extend(run(lambda i: _pair_row(seq[i - 1], seq[i], self.side, self.fps, self.cut_threshold),
                                 range(1, len(seq))))
        self.last = prepared[-1]

    def result(self) -> np.ndarray:
        """Pair rows [N - 1, len(PAIR_NAMES)] float64."""
        return np.asarray(self.rows, np.float64).reshape(-1, len(PAIR_NAMES))


def pair_stats(frames: np.ndarray, fps: float, short_side: int, cut_threshold: float) -> np.ndarray:
    """Per consecutive pair [N-1, len(PAIR_NAMES)]: diff, flow stats, cut flag."""
    return feed_pass(PairPass(fps, short_side, cut_threshold), frames)


def shot_stats(cuts: np.ndarray, duration: float) -> list[float]:
    """[n_cuts, cuts per minute, shot mean, median, std, min, max (s), first cut time (s)]."""
    bounds = np.concatenate([[0.0], np.sort(cuts), [duration]])
    shots = np.diff(bounds)
    shots = shots[shots > 0] if (shots > 0).any() else np.array([duration])
    return [
        float(len(cuts)),
        float(len(cuts) / duration * 60.0) if duration > 0 else 0.0,
        float(shots.mean()),
        float(np.median(shots)),
        float(shots.std()),
        float(shots.min()),
        float(shots.max()),
        float(cuts.min()) if len(cuts) else float(duration),
    ]


class MotionExtractor(Extractor):
    """Frame-difference and optical-flow statistics per clip and video; scene cuts and shot-length pacing."""

    name = "motion"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    sampler = "shared grid (default 4 frames/s): consecutive pairs"
    preprocessing = "RGB → grey (OpenCV), area-resized to short side 128; HSV 16x4x4 histograms for cuts"

    @dataclass
    class Config:
        """Hyper-parameters of the motion extractor."""

        short_side: int = 128
        cut_threshold: float = 0.5

    def feature_names(self) -> list[str]:
        """Pooled motion statistics and pacing."""
        return [
            "diff_mean",
            "diff_std",
            "diff_max",
            "flow_mean",
            "flow_std",
            "flow_p90",
            "flow_max",
            "static_share",
            "n_cuts",
            "cut_rate_per_min",
            "shot_mean_s",
            "shot_median_s",
            "shot_std_s",
            "shot_min_s",
            "shot_max_s",
            "first_cut_s",
            "duration_s",
        ]

    def clip_feature_names(self) -> list[str]:
        """Per-clip motion statistics (pairs belong to the clip of their later frame)."""
        return ["diff_mean", "diff_max", "flow_mean", "flow_std", "flow_p90", "flow_max", "cuts"]

    def grid_pass(self, inputs: VideoInputs | None = None) -> PairPass:
        """Pair statistics as the decode hands the grid frames over (one prepared frame kept between chunks)."""
        return PairPass(self.plan.fps, self.cfg.short_side, self.cfg.cut_threshold)

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Pair statistics → clip rows, pooled stats and cut times."""
        import warnings

        plan = inputs.plan
        ts = inputs.timestamps
        dur = float(inputs.duration_s) if inputs.duration_s else float(ts[-1] + 1 / plan.fps)
        pairs = grid_pass_result(self, inputs)
        count = n_clips(dur, plan)
        cuts = ts[1:][pairs[:, 5] > 0] if len(pairs) else np.zeros(0)
        clips = np.zeros((count, 7), np.float32)
        cid = clip_index(ts[1:], plan) if len(pairs) else np.zeros(0, int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for c in range(count):
                p = pairs[cid == c]
                if len(p):
                    clips[c] = [
                        p[:, 0].mean(),
                        p[:, 0].max(),
                        np.nan_to_num(np.nanmean(p[:, 1])),
                        np.nan_to_num(np.nanmean(p[:, 2])),
                        np.nan_to_num(np.nanmean(p[:, 3])),
                        np.nan_to_num(np.nanmax(p[:, 4])),
                        p[:, 5].sum(),
                    ]
            flow = pairs[:, 1][~np.isnan(pairs[:, 1])] if len(pairs) else np.zeros(0)
            d = pairs[:, 0] if len(pairs) else np.zeros(1)

            def _f(fn, x):
                return float(fn(x)) if len(x) else 0.0

            pooled = [
                _f(np.mean, d),
                _f(np.std, d),
                _f(np.max, d),
                _f(np.mean, flow),
                _f(np.std, flow),
                _f(lambda x: np.percentile(x, 90), flow),
                _f(np.max, pairs[:, 4][~np.isnan(pairs[:, 4])] if len(pairs) else flow),
                _f(lambda x: np.mean(x < 0.01), flow),
                *shot_stats(cuts, dur),
                dur,
            ]
        meta = {"cut_times": [round(float(c), 4) for c in cuts]}
        return ExtractorOutput(
            pooled=np.asarray(pooled, np.float32), clip_starts=clip_starts(count, plan), clips=clips, meta=meta
        )
