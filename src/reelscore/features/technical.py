"""Weight-free technical (distortion / quality) descriptors per frame.

All measures run on every other frame of the shared grid (default 2 frames/s,
short side 360 pixels) with numpy and OpenCV. Luma is BT.601 Y in 0..255 (float32).

Descriptors (per frame):
- sharpness: variance of the 3x3 Laplacian of Y.
- gradient_energy: mean squared Sobel gradient magnitude of Y / 255².
- si: spatial information (ITU-T P.910): std of the Sobel magnitude of Y.
- blur: perceptual blur of Crété-Roffet et al. (2007), 0 (sharp) .. 1 (blurred), 9-tap box re-blur.
- blockiness: mean absolute luma step across 8-pixel block borders / mean step elsewhere (1 = none).
  Computed at analysis resolution: codec blocks are visible only when the decode keeps native size.
- noise_sigma: Immerkær (1996) fast noise σ estimate of Y.
- contrast: RMS contrast std(Y) / 255.
- colorfulness: Hasler & Süsstrunk (2003) M3.
- luma_mean, luma_p05, luma_p95, clip_dark (share of Y <= 5), clip_bright (share of Y >= 250).
- mscn_alpha, mscn_sigma: generalised Gaussian fit of MSCN coefficients (BRISQUE / NIQE statistics);
  pair_h_alpha, pair_h_mean, pair_v_alpha, pair_v_mean: asymmetric GGD fits of horizontal / vertical
  neighbour products.
- brisque: OpenCV quality BRISQUE (0 best .. ~100) on every `brisque_stride`-th analysed frame, with the
  LIVE model files of Debian `opencv-data`; NaN (and the `brisque_available` flag 0) when missing.
- ti: temporal information (P.910): std of the luma difference to the previous analysed frame (0.5 s earlier
  at the defaults, not the native frame interval).

Pooled vector: mean and std over frames of each descriptor, then brisque_available.
Clip rows: per-clip mean of each descriptor.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

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
    pool_by_clip,
)

DESCRIPTORS = [
    "sharpness",
    "gradient_energy",
    "si",
    "blur",
    "blockiness",
    "noise_sigma",
    "contrast",
    "colorfulness",
    "luma_mean",
    "luma_p05",
    "luma_p95",
    "clip_dark",
    "clip_bright",
    "mscn_alpha",
    "mscn_sigma",
    "pair_h_alpha",
    "pair_h_mean",
    "pair_v_alpha",
    "pair_v_mean",
    "brisque",
    "ti",
]

BRISQUE_DIRS = [Path("/usr/share/opencv4/quality"), Path("/usr/local/share/opencv4/quality")]


@functools.lru_cache(maxsize=1)
def brisque_model_files() -> tuple[str, str] | None:
    """Paths of OpenCV's BRISQUE LIVE model/range files, or None when not installed."""
    env = os.environ.get("REELSCORE_BRISQUE_DIR")
    dirs = ([Path(env)] if env else []) + BRISQUE_DIRS
    for d in dirs:
        m, r = d / "brisque_model_live.yml", d / "brisque_range_live.yml"
        if m.exists() and r.exists():
            return str(m), str(r)
    return None


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma (float32, 0..255) of an RGB uint8 image."""
    f = rgb.astype(np.float32)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def _u8(y: np.ndarray) -> np.ndarray:
    """Luma rounded to uint8: integer filters below are exact, so results never depend on SIMD paths."""
    return y if y.dtype == np.uint8 else np.clip(y + 0.5, 0, 255).astype(np.uint8)


def sharpness(y: np.ndarray) -> float:
    """Variance of the Laplacian (3x3, on integer luma)."""
    import cv2

    return float(cv2.Laplacian(_u8(y), cv2.CV_16S, ksize=1).astype(np.float64).var())


def sobel_magnitude(y: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude (float64), from exact integer derivatives of the luma."""
    import cv2

    # Float32 Sobel in OpenCV rounds differently on aligned and unaligned rows (SIMD vs
    # scalar), which made reruns differ in the last bit.
    yi = _u8(y)
    gx = cv2.Sobel(yi, cv2.CV_16S, 1, 0, ksize=3).astype(np.float64)
    gy = cv2.Sobel(yi, cv2.CV_16S, 0, 1, ksize=3).astype(np.float64)
    return np.sqrt(gx * gx + gy * gy)


def crete_blur(y: np.ndarray) -> float:
    """Crété-Roffet no-reference perceptual blur, 0 (sharp) .. 1 (blurred)."""
    import cv2

    out = []
    for axis, ksize in ((1, (9, 1)), (0, (1, 9))):
        blurred = cv2.blur(y, ksize, borderType=cv2.BORDER_REFLECT)
        d_f = np.abs(np.diff(y, axis=axis))
        d_b = np.abs(np.diff(blurred, axis=axis))
        s_f = float(d_f.sum(dtype=np.float64))
        s_v = float(np.maximum(0.0, d_f - d_b).sum(dtype=np.float64))
        out.append((s_f - s_v) / s_f if s_f > 0 else 1.0)
    return float(max(out))


def blockiness(y: np.ndarray, block: int = 8) -> float:
    """Mean |luma step| on block borders divided by the mean step inside blocks (≈1 without blocking)."""
    ratios = []
    for axis in (1, 0):
        d = np.abs(np.diff(y, axis=axis))
        n = d.shape[axis]
        if n < 2 * block:
            continue
        pos = np.arange(n)
        border = (pos % block) == block - 1
        take = lambda m: d[:, m] if axis == 1 else d[m, :]  # noqa: E731
        b, i = float(take(border).mean(dtype=np.float64)), float(take(~border).mean(dtype=np.float64))
        ratios.append(b / i if i > 1e-6 else 1.0)
    return float(np.mean(ratios)) if ratios else 1.0


def noise_sigma(y: np.ndarray) -> float:
    """Immerkær fast noise σ estimate."""
    import cv2

    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    r = cv2.filter2D(_u8(y), cv2.CV_16S, k, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1].astype(np.float64)
    h, w = y.shape
    if h < 3 or w < 3:
        return 0.0
    return float(np.sqrt(np.pi / 2.0) * np.abs(r).sum(dtype=np.float64) / (6.0 * (w - 2) * (h - 2)))


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler–Süsstrunk colourfulness M3."""
    import cv2

    r, g, b = (c.astype(np.float32) for c in cv2.split(rgb))
    rg = cv2.subtract(r, g)
    yb = cv2.subtract(cv2.addWeighted(r, 0.5, g, 0.5, 0.0), b)
    (m_rg,), (s_rg,) = (v.ravel() for v in cv2.meanStdDev(rg))
    (m_yb,), (s_yb,) = (v.ravel() for v in cv2.meanStdDev(yb))
    return float(np.sqrt(s_rg**2 + s_yb**2) + 0.3 * np.sqrt(m_rg**2 + m_yb**2))


def luma_percentiles(y: np.ndarray, qs: tuple[float, ...] = (5.0, 95.0)) -> list[float]:
    """Percentiles of luma from a 256-bin histogram (integer levels; fast)."""
    import cv2

    hist = cv2.calcHist([np.clip(y + 0.5, 0, 255).astype(np.uint8)], [0], None, [256], [0, 256]).ravel()
    cdf = np.cumsum(hist) / max(1.0, hist.sum())
    return [float(np.searchsorted(cdf, q / 100.0)) for q in qs]


# Reductions accumulate in float64: float32 sums depend on memory alignment (SIMD order),
# which would make two runs of the same video differ in the last bit.

# Generalised-Gaussian shape lookup (BRISQUE's moment matching).
_ALPHAS = np.arange(0.2, 10.0, 0.001)


@functools.lru_cache(maxsize=1)
def _ggd_table() -> np.ndarray:
    from scipy.special import gamma

    return gamma(2.0 / _ALPHAS) ** 2 / (gamma(1.0 / _ALPHAS) * gamma(3.0 / _ALPHAS))


def ggd_fit(x: np.ndarray) -> tuple[float, float]:
    """(shape α, σ) of a zero-mean generalised Gaussian by moment matching."""
    x = np.asarray(x, np.float64).ravel()
    # not np.dot: threaded BLAS stalls on busy machines
    return _ggd_from_moments(float(np.square(x).sum()) / x.size, float(np.abs(x).mean()))


def _ggd_from_moments(sigma_sq: float, e: float) -> tuple[float, float]:
    """(shape α, σ) from the mean square and the mean absolute value."""
    if sigma_sq <= 0 or e <= 0:
        return float("nan"), 0.0
    alpha = float(_ALPHAS[np.argmin((_ggd_table() - e * e / sigma_sq) ** 2)])
    return alpha, float(np.sqrt(sigma_sq))


def _aggd_from_moments(n_l: int, n_r: int, ss_l: float, ss_r: float, abssum: float, n: int) -> tuple[float, float]:
    """(shape α, mean η) from the sign counts, the sums of squares of each side and the sum of |x| over n values."""
    from scipy.special import gamma

    if n_l == 0 or n_r == 0:
        return float("nan"), 0.0
    sl, sr = np.sqrt(ss_l / n_l), np.sqrt(ss_r / n_r)
    gamma_hat = sl / sr
    r_hat = (abssum / n) ** 2 / ((ss_l + ss_r) / n)
    rhat_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    alpha = float(_ALPHAS[np.argmin((_ggd_table() - rhat_norm) ** 2)])
    const = np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, float((sr - sl) * (gamma(2 / alpha) / gamma(1 / alpha)) * const)


def aggd_fit(x: np.ndarray) -> tuple[float, float]:
    """(shape α, mean η) of an asymmetric generalised Gaussian (BRISQUE's paired products)."""
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    neg, pos = np.minimum(x, 0.0), np.maximum(x, 0.0)  # no boolean-index copies: this runs per frame
    return _aggd_from_moments(int(np.count_nonzero(neg)), int(np.count_nonzero(pos)), float(np.square(neg).sum()),
                              float(np.square(pos).sum()), float(pos.sum()) - float(neg.sum()), x.size)


def mscn(y: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients (7x7 Gaussian, σ = 7/6)."""
    import cv2

    mu = cv2.GaussianBlur(y, (7, 7), 7 / 6, borderType=cv2.BORDER_REPLICATE)
    var = cv2.GaussianBlur(cv2.multiply(y, y), (7, 7), 7 / 6, borderType=cv2.BORDER_REPLICATE) - cv2.multiply(mu, mu)
    return cv2.divide(cv2.subtract(y, mu), cv2.sqrt(np.abs(var)) + 1.0)


def nss_stats(y: np.ndarray) -> list[float]:
    """[mscn α, mscn σ, H-pair α, H-pair η, V-pair α, V-pair η]."""
    m = mscn(y)
    a, s = ggd_fit(m)
    ha, he = aggd_fit(m[:, :-1] * m[:, 1:])
    va, ve = aggd_fit(m[:-1, :] * m[1:, :])
    return [a, s, ha, he, va, ve]


@functools.lru_cache(maxsize=4)
def _brisque_model(files: tuple[str, str]):
    from reelscore.features.brisque import Model

    return Model(*files)


def brisque(rgb: np.ndarray) -> float:
    """BRISQUE score as OpenCV's QualityBRISQUE computes it (features.brisque: same value, faster); NaN
    when the model files are not installed."""
    files = brisque_model_files()
    if files is None:
        return float("nan")
    return _brisque_model(files).score(rgb)


_OPENCV_BRISQUE = threading.local()


def brisque_opencv(rgb: np.ndarray) -> float:
    """BRISQUE through OpenCV's own QualityBRISQUE, one loaded object per thread (the reference that
    features.brisque is tested and benchmarked against)."""
    import cv2

    files = brisque_model_files()
    if files is None:
        return float("nan")
    model = getattr(_OPENCV_BRISQUE, "model", None)
    if model is None:
        model = _OPENCV_BRISQUE.model = cv2.quality.QualityBRISQUE_create(*files)
    return float(model.compute(np.ascontiguousarray(rgb[..., ::-1]))[0])


def _sum(a: np.ndarray) -> float:
    """Sum of a float32/float64 array, accumulated in double by OpenCV (no float64 copy of the array)."""
    import cv2

    return float(cv2.sumElems(a)[0])


def _nss_stats_fast(y: np.ndarray) -> list[float]:
    """nss_stats with the sums taken by OpenCV in double on the float32 maps (no float64 copies)."""
    import cv2

    from reelscore.features.brisque import aggd_moments

    m = mscn(y)
    a, sd = _ggd_from_moments(cv2.norm(m, cv2.NORM_L2SQR) / m.size, cv2.norm(m, cv2.NORM_L1) / m.size)
    h = cv2.multiply(m[:, :-1], m[:, 1:])
    v = cv2.multiply(m[:-1, :], m[1:, :])
    return [a, sd, *_aggd_from_moments(*aggd_moments(h), h.size), *_aggd_from_moments(*aggd_moments(v), v.size)]


def _steps(y: np.ndarray, axis: int) -> np.ndarray:
    """|y[i+1] - y[i]| along an axis (float32, as np.abs(np.diff(y, axis)))."""
    import cv2

    return cv2.absdiff(y[:, 1:], y[:, :-1]) if axis == 1 else cv2.absdiff(y[1:, :], y[:-1, :])


def _blur_and_blockiness(y: np.ndarray, block: int = 8) -> tuple[float, float]:
    """crete_blur and blockiness from one set of luma steps per axis."""
    import cv2

    blur, ratios = [], []
    for axis, ksize in ((1, (9, 1)), (0, (1, 9))):
        d_f = _steps(y, axis)
        d_b = _steps(cv2.blur(y, ksize, borderType=cv2.BORDER_REFLECT), axis)
        s_f = _sum(d_f)
        s_v = _sum(cv2.threshold(cv2.subtract(d_f, d_b), 0, 0, cv2.THRESH_TOZERO)[1])
        blur.append((s_f - s_v) / s_f if s_f > 0 else 1.0)
        n = d_f.shape[axis]
        if n >= 2 * block:
            border = d_f[:, block - 1::block] if axis == 1 else d_f[block - 1::block, :]
            s_b = _sum(border)
            nb = border.size
            b, i = s_b / nb, (s_f - s_b) / (d_f.size - nb)
            ratios.append(b / i if i > 1e-6 else 1.0)
    return float(max(blur)), (float(np.mean(ratios)) if ratios else 1.0)


def frame_descriptors(rgb: np.ndarray, prev_y: np.ndarray | None = None, with_brisque: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """All DESCRIPTORS of one RGB frame → (float64 [len(DESCRIPTORS)], its luma).

    The same descriptors as the single functions above (sharpness, crete_blur, ...), sharing their
    intermediates (integer luma, luma steps) and summing with OpenCV in double instead of float64
    copies: equal to them within 1e-9 relative (tested), 1.5x faster.
    """
    import cv2

    y = luma(rgb)
    y8 = _u8(y)
    gx = cv2.Sobel(y8, cv2.CV_64F, 1, 0, ksize=3)  # exact integers, as the CV_16S derivatives
    gy = cv2.Sobel(y8, cv2.CV_64F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    lap = cv2.Laplacian(y8, cv2.CV_16S, ksize=1)
    hist = cv2.calcHist([y8], [0], None, [256], [0, 256]).ravel()
    cdf = np.cumsum(hist) / max(1.0, hist.sum())
    p05, p95 = (float(np.searchsorted(cdf, q / 100.0)) for q in (5.0, 95.0))
    blur, block = _blur_and_blockiness(y)
    h, w = y.shape
    if h < 3 or w < 3:
        noise = 0.0
    else:
        k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
        r = cv2.filter2D(y8, cv2.CV_16S, k, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
        noise = float(np.sqrt(np.pi / 2.0) * cv2.norm(r, cv2.NORM_L1) / (6.0 * (w - 2) * (h - 2)))
    mean, sd = cv2.meanStdDev(y)
    lap_sd, mag_sd = cv2.meanStdDev(lap)[1][0, 0], cv2.meanStdDev(mag)[1][0, 0]  # double sums: ~1e-14 of NumPy's
    n = y.size
    vals = [
        float(lap_sd) ** 2,
        float(cv2.norm(mag, cv2.NORM_L2SQR)) / n / 255.0**2,
        float(mag_sd),
        blur,
        block,
        noise,
        float(sd[0, 0]) / 255.0,
        colorfulness(rgb),
        float(mean[0, 0]),
        p05,
        p95,
        float(np.count_nonzero(y <= 5.0)) / n,
        float(np.count_nonzero(y >= 250.0)) / n,
        *_nss_stats_fast(y),
        brisque(rgb) if with_brisque else float("nan"),
        float((y - prev_y).std(dtype=np.float64)) if prev_y is not None and prev_y.shape == y.shape else float("nan"),
    ]
    return np.asarray(vals, np.float64), y


def frame_descriptors_reference(rgb: np.ndarray, prev_y: np.ndarray | None = None,
                                with_brisque: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """frame_descriptors written as the single functions, one after another (the test reference)."""
    y = luma(rgb)
    mag = sobel_magnitude(y)
    p05, p95 = luma_percentiles(y)
    vals = [
        sharpness(y),
        float(np.square(mag, dtype=np.float64).mean()) / 255.0**2,
        float(mag.std(dtype=np.float64)),
        crete_blur(y),
        blockiness(y),
        noise_sigma(y),
        float(y.std(dtype=np.float64)) / 255.0,
        colorfulness(rgb),
        float(y.mean(dtype=np.float64)),
        float(p05),
        float(p95),
        float(np.mean(y <= 5.0)),
        float(np.mean(y >= 250.0)),
        *nss_stats(y),
        brisque(rgb) if with_brisque else float("nan"),
        float((y - prev_y).std(dtype=np.float64)) if prev_y is not None and prev_y.shape == y.shape else float("nan"),
    ]
    return np.asarray(vals, np.float64), y


class TechnicalPass(GridPass):
    """technical's descriptors, frame by frame as the grid is decoded.

    Frames are independent except TI (this frame's luma minus the previous one's), so each chunk runs on
    OpenCV's thread budget (`cv2.getNumThreads()`; OpenCV and NumPy release the GIL) and TI is filled in
    from the lumas, the previous chunk's last one included: the same values as one frame after another.
    """

    def __init__(self, brisque_stride: int = 4) -> None:
        self.stride = max(1, int(brisque_stride))
        self.rows: list[np.ndarray] = []
        self.times: list[float] = []
        self.prev_y: np.ndarray | None = None

    def add(self, frames: np.ndarray, timestamps: np.ndarray) -> None:
        """Descriptors of the next frames (BRISQUE on every `brisque_stride`-th frame of the video)."""
        from reelscore.common.threads import opencv_map

        base = len(self.rows)

        def one(k: int) -> tuple[np.ndarray, np.ndarray]:
            return frame_descriptors(frames[k], None, with_brisque=((base + k) % self.stride == 0))

        ti = DESCRIPTORS.index("ti")
        with opencv_map() as run:
            for v, y in run(one, range(len(frames))):
                if self.prev_y is not None and self.prev_y.shape == y.shape:
                    v[ti] = float((y - self.prev_y).std(dtype=np.float64))
                self.prev_y = y
                self.rows.append(v)
        self.times.extend(float(t) for t in timestamps)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(descriptors float64 [N, len(DESCRIPTORS)], times [N])."""
        rows = np.array(self.rows, np.float64).reshape(-1, len(DESCRIPTORS))
        return rows, np.asarray(self.times, np.float64)


class TechnicalExtractor(Extractor):
    """Weight-free per-frame distortion and quality descriptors (sharpness, blur, noise, BRISQUE, ...)."""

    name = "technical"
    version = "2"
    modality = "visual"
    needs = frozenset({"frames"})
    sampler = "shared grid: every `stride`-th grid frame (default 2 → 2 frames/s), BRISQUE on every `brisque_stride`-th of those (0.5/s)"
    preprocessing = "RGB uint8 at the grid's short side (default 360 px); BT.601 luma in 0..255, float32"

    @dataclass
    class Config:
        """Hyper-parameters of the technical extractor."""

        stride: int = 2
        brisque_stride: int = 4

    def feature_names(self) -> list[str]:
        """Mean and std of each descriptor, then brisque_available."""
        return [f"{d}_{s}" for d in DESCRIPTORS for s in ("mean", "std")] + ["brisque_available"]

    def clip_feature_names(self) -> list[str]:
        """Per-clip mean of each descriptor."""
        return list(DESCRIPTORS)

    def key_config(self) -> dict:
        """Config plus whether BRISQUE can run (it changes the outputs)."""
        return {**self.config(), "brisque": brisque_model_files() is not None}

    def grid_pass(self, inputs: VideoInputs | None = None) -> "TechnicalPass":
        """Descriptors of each grid frame as the decode hands them over (no frame is kept)."""
        return TechnicalPass(self.cfg.brisque_stride)

    def per_frame(self, frames: np.ndarray) -> np.ndarray:
        """Descriptors of a frame stack [N, H, W, 3] → float64 [N, len(DESCRIPTORS)] (the grid pass, in one go)."""
        return feed_pass(self.grid_pass(), frames)[0]

    @staticmethod
    def _pool(vals: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(vals, 0), np.nanstd(vals, 0)
        avail = 1.0 if brisque_model_files() is not None else 0.0
        return np.append(np.column_stack([mean, std]).ravel(), avail).astype(np.float32)

    @property
    def grid_stride(self) -> int:
        """Reads every `stride`-th grid frame."""
        return max(1, int(self.cfg.stride))

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Per-frame descriptors → clip means and pooled mean/std."""
        vals, ts = grid_pass_result(self, inputs)
        dur = inputs.duration_s if inputs.duration_s else float(ts[-1] + 1 / inputs.plan.fps)
        count = n_clips(dur, inputs.plan)
        clips = pool_by_clip(vals, clip_index(ts, inputs.plan), count)
        avail = brisque_model_files() is not None
        meta = {} if avail else {"note": "BRISQUE model files not found (install Debian opencv-data); brisque is NaN"}
        return ExtractorOutput(
            pooled=self._pool(vals),
            clip_starts=clip_starts(count, inputs.plan),
            clips=clips,
            meta=meta,
            frame_values=vals,
            frame_times=np.asarray(ts, np.float64),
        )

    def window(self, output: ExtractorOutput, start_s: float, end_s: float) -> ExtractorOutput | None:
        """Mean/std of the whole video's per-frame descriptors inside [start_s, end_s): the same descriptors
        (temporal ones see the frame before the window, as in the whole-video pass), computed once."""
        if output.frame_values is None or output.frame_times is None:
            return None
        t = output.frame_times
        sel = (t >= start_s - 1e-9) & (t < end_s - 1e-9)
        if not sel.any():
            return None
        vals = output.frame_values[sel].copy()
        # strided descriptors (BRISQUE on every k-th frame) may have no sample inside a short window:
        # hold the value of the nearest frame that has one, as a per-window pass would have computed one
        gaps = np.isnan(vals).all(axis=0) & ~np.isnan(output.frame_values).all(axis=0)
        if gaps.any():
            mid = 0.5 * (start_s + end_s)
            for j in np.flatnonzero(gaps):
                have = np.flatnonzero(~np.isnan(output.frame_values[:, j]))
                vals[:, j] = output.frame_values[have[np.argmin(np.abs(t[have] - mid))], j]
        return ExtractorOutput(pooled=self._pool(vals), meta=dict(output.meta))
