"""BRISQUE (Mittal, Moorthy & Bovik 2012) as OpenCV's quality module computes it, 1.6-2x faster.

OpenCV's `QualityBRISQUE` gives the score `technical` and `nativeq` report, with the LIVE model of Debian
`opencv-data`. Its feature code spends most of its time in per-pixel C++ loops (the shifted copies
for the paired products, one `tgamma` search per fit). This module computes the same 36 features
with the same OpenCV calls for every image operation (grey conversion, cubic resize, Gaussian blurs,
powers, products), the sums of each AGGD fit with OpenCV's double-accumulating norms instead of a
pixel loop, and the shape search on a table of glibc's `tgamma` over the exact sequence of shapes the
loop visits; the features are cast to float32 as OpenCV does, scaled with the range file and scored
by the LIVE SVM through `cv2.ml`. Only the order of the double sums differs, so the float32 features,
and the score, match OpenCV's bit for bit (tests compare them on photographs and generated images,
flat and tiny ones included).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import threading

import numpy as np

_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))  # H, V, D1, D2 as OpenCV orders them


@functools.lru_cache(maxsize=1)
def _tgamma():
    """glibc's tgamma (the function OpenCV's loop calls), else Python's gamma."""
    name = ctypes.util.find_library("m")
    try:
        fn = ctypes.CDLL(name).tgamma if name else None
    except OSError:
        fn = None
    if fn is None:
        return math.gamma
    fn.restype, fn.argtypes = ctypes.c_double, [ctypes.c_double]
    return fn


@functools.lru_cache(maxsize=1)
def shape_table() -> tuple[np.ndarray, np.ndarray]:
    """(shapes, ratio at each shape) in the order OpenCV's search visits them: 0.2 + 0.001 + ... (< 10)."""
    tg = _tgamma()
    shapes, ratios = [], []
    gam = 0.2
    while gam < 10:  # accumulated like the C loop, so the shapes carry its rounding
        shapes.append(gam)
        ratios.append(tg(2 / gam) * tg(2 / gam) / (tg(1 / gam) * tg(3 / gam)))
        gam += 0.001
    return np.array(shapes), np.array(ratios)


def _first_minimum(x: float) -> float:
    """The shape where OpenCV's search stops: the last one before |ratio - x| first grows."""
    shapes, ratios = shape_table()
    if math.isnan(x):  # no difference ever compares greater: the loop runs to its end
        return float(shapes[-1])
    if math.isinf(x):  # the first difference exceeds the loop's start value: it stops before any shape
        return 0.0
    d = np.abs(ratios - x)
    up = np.flatnonzero(d[1:] > d[:-1])
    return float(shapes[up[0] if up.size else d.size - 1])


def aggd_moments(x: np.ndarray) -> tuple[int, int, float, float, float]:
    """(negatives, positives, sum of squares of the negatives, of the positives, sum of |x|) of a float
    array, with OpenCV's double-accumulating counts and norms (no float64 copy, no pixel loop)."""
    import cv2

    pos = cv2.threshold(x, 0, 0, cv2.THRESH_TOZERO)[1]
    neg = cv2.subtract(x, pos)  # x where x <= 0 (exact)
    return (cv2.countNonZero(neg), cv2.countNonZero(pos), cv2.norm(neg, cv2.NORM_L2SQR),
            cv2.norm(pos, cv2.NORM_L2SQR), cv2.norm(x, cv2.NORM_L1))


def aggd_fit(x: np.ndarray, total: int | None = None) -> tuple[float, float, float]:
    """(left σ, right σ, shape) of an asymmetric generalised Gaussian, as OpenCV's AGGDfit.

    `total` counts values not passed (zeros outside `x`, e.g. the border of a shifted product).
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    n_neg, n_pos, ss_neg, ss_pos, abssum = aggd_moments(x)
    n = int(total if total is not None else x.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        lsigma = math.sqrt(ss_neg / n_neg) if n_neg else float("nan")
        rsigma = math.sqrt(ss_pos / n_pos) if n_pos else float("nan")
        g = lsigma / rsigma if rsigma else float("nan")
        denom = (ss_neg + ss_pos) / n
        rhat = (abssum / n) ** 2 / denom if denom else float("nan")
        rnorm = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    return lsigma, rsigma, _first_minimum(rnorm)


def mscn(img: np.ndarray) -> np.ndarray:
    """BRISQUE's MSCN coefficients of a float32 [0, 1] grey image (OpenCV's operations, in its order)."""
    import cv2

    mu = cv2.GaussianBlur(img, (7, 7), 7.0 / 6.0, 0.0, borderType=cv2.BORDER_REPLICATE)
    mu_sq = cv2.pow(mu, 2.0)
    sigma = cv2.GaussianBlur(cv2.multiply(img, img), (7, 7), 7.0 / 6.0, 0.0, borderType=cv2.BORDER_REPLICATE)
    sigma = cv2.pow(cv2.subtract(sigma, mu_sq), 0.5)
    sigma = cv2.add(sigma, 1.0 / 255)
    out = cv2.divide(cv2.subtract(img, mu), sigma)
    # OpenCV's pow gives NaN where rounding made the local variance negative; its fit skips those pixels
    # (neither > 0 nor < 0), as it skips zeros, so they become zeros here (products with them too)
    cv2.patchNaNs(out, 0.0)
    return out


def _product(m: np.ndarray, di: int, dj: int) -> np.ndarray:
    """m(i, j) * m(i + di, j + dj) where the neighbour exists (the zero border is left out)."""
    import cv2

    h, w = m.shape
    r0, r1 = max(0, -di), h - max(0, di)
    return cv2.multiply(m[r0:r1, : w - dj], m[r0 + di: r1 + di, dj:])


def unit_grey(image: np.ndarray) -> np.ndarray:
    """uint8 RGB (or grey) → float32 grey in [0, 1], as OpenCV's BGR2GRAY then convertTo(CV_32F, 1/255)."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return grey.astype(np.float32) * np.float32(1.0 / 255.0)


def features(image: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features (float32) of a uint8 RGB or grey image, as OpenCV's computeFeatures."""
    import cv2

    tg = _tgamma()
    img = unit_grey(image)
    out: list[float] = []
    for s in range(2):
        h, w = img.shape
        scaled = cv2.resize(img, (int(w / 2.0**s), int(h / 2.0**s)), interpolation=cv2.INTER_CUBIC)
        m = mscn(scaled)
        ls, rs, g = aggd_fit(m)
        out += [g, (ls * ls + rs * rs) / 2]
        for di, dj in _SHIFTS:
            ls, rs, g = aggd_fit(_product(m, di, dj), m.size)
            const = math.sqrt(tg(1 / g)) / math.sqrt(tg(3 / g))
            out += [g, (rs - ls) * (tg(2 / g) / tg(1 / g)) * const, ls**2, rs**2]
    return np.asarray(out, np.float32)


class Model:
    """The LIVE SVM and its feature range, loaded once; `score(image)` as OpenCV's QualityBRISQUE.compute."""

    def __init__(self, model_file: str, range_file: str) -> None:
        import cv2

        self.svm = cv2.ml.SVM_load(model_file)
        fs = cv2.FileStorage(range_file, cv2.FILE_STORAGE_READ)
        rng = fs.getNode("range").mat().astype(np.float32)
        fs.release()
        self.lo, self.span = rng[0], rng[1] - rng[0]
        self._lock = threading.Lock()

    def scale(self, feats: np.ndarray) -> np.ndarray:
        """Features → [-1, 1] per column, in float32 as OpenCV's quality_utils::scale."""
        return np.float32(-1.0) + np.float32(2.0) * (feats - self.lo) / self.span

    def score(self, image: np.ndarray) -> float:
        """BRISQUE score (0 best .. 100) of a uint8 RGB or grey image."""
        x = self.scale(features(image)).reshape(1, -1)
        with self._lock:  # one SVM object; predicting takes microseconds
            _, res = self.svm.predict(x)
        v = float(res[0, 0])
        return v if math.isnan(v) else min(max(v, 0.0), 100.0)
