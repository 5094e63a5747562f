"""NIQE (Mittal, Soundararajan & Bovik 2013) with a pristine model, and the `niqe` extractor.

NIQE measures how far an image's natural-scene statistics are from those of pristine photographs:
per 96 x 96 patch (and per 48 x 48 patch of the half-size image) 18 features — the GGD fit of the
MSCN coefficients (shape, variance) and the AGGD fits (shape, mean, left and right variance) of the
products of horizontally, vertically and diagonally neighbouring coefficients — are pooled into a
multivariate Gaussian, and NIQE is the Mahalanobis-like distance between that Gaussian and the
pristine one: sqrt((mu_p - mu)^T ((S_p + S) / 2)^+ (mu_p - mu)). Lower is better.

The pristine model is fit here (the original corpus of 125 photographs is not packaged) on the
natural photographs scikit-image ships offline (astronaut, coffee, chelsea, rocket, camera, both
motorcycle views, brick, grass, gravel, moon), keeping the patches sharper than 0.75 x the sharpest
patch of each image, as in the paper. `assets/niqe_pristine.npz` holds that fit; a test refits it
and checks the file, and `python -m reelscore.features.niqe --fit` rewrites it. Absolute values
therefore differ from MATLAB's NIQE (another pristine set); the ordering of distortions is what the
quality models use.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelscore.features.base import Extractor, ExtractorOutput, IndexFrames, VideoInputs
from reelscore.features.technical import _ALPHAS, _ggd_table, ggd_fit, luma

PRISTINE_FILE = Path(__file__).resolve().parents[1] / "assets" / "niqe_pristine.npz"
PRISTINE_IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "stereo_motorcycle:0", "stereo_motorcycle:1",
                   "brick", "grass", "gravel", "moon")
PATCH = 96
SHARPNESS_KEEP = 0.75


def mscn_and_sigma(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MSCN coefficients (7 x 7 Gaussian, sigma 7/6, replicated border, C = 1) of a float image and its local sigma."""
    import cv2

    mu = cv2.GaussianBlur(y, (7, 7), 7 / 6, borderType=cv2.BORDER_REPLICATE)
    var = cv2.GaussianBlur(y * y, (7, 7), 7 / 6, borderType=cv2.BORDER_REPLICATE) - mu * mu
    sigma = np.sqrt(np.abs(var))
    return (y - mu) / (sigma + 1.0), sigma


def _ggd(x: np.ndarray) -> tuple[float, float]:
    """(shape, variance): technical's moment-matched GGD fit, with NIQE's variance instead of σ."""
    a, s = ggd_fit(x)
    return a, s * s


def _aggd(x: np.ndarray) -> tuple[float, float, float, float]:
    """(shape, mean, left variance, right variance) of an asymmetric generalised Gaussian."""
    from scipy.special import gamma

    left, right = x[x < 0], x[x > 0]
    if left.size == 0 or right.size == 0:
        return float("nan"), 0.0, 0.0, 0.0
    sl2, sr2 = float(np.mean(left * left)), float(np.mean(right * right))
    g = np.sqrt(sl2) / np.sqrt(sr2)
    r = float(np.mean(np.abs(x))) ** 2 / float(np.mean(x * x))
    rn = r * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    a = float(_ALPHAS[np.argmin((_ggd_table() - rn) ** 2)])
    eta = (np.sqrt(sr2) - np.sqrt(sl2)) * gamma(2 / a) / gamma(1 / a) * np.sqrt(gamma(1 / a) / gamma(3 / a))
    return a, float(eta), sl2, sr2


def patch_features(y: np.ndarray, patch: int) -> tuple[np.ndarray, np.ndarray]:
    """18 NSS features of every full non-overlapping patch [P, 18] and each patch's sharpness (mean σ) [P]."""
    m, sigma = mscn_and_sigma(y)
    h, w = (y.shape[0] // patch) * patch, (y.shape[1] // patch) * patch
    feats, sharp = [], []
    for i in range(0, h, patch):
        for j in range(0, w, patch):
            p = m[i:i + patch, j:j + patch]
            f = list(_ggd(p))
            for prod in (p[:, :-1] * p[:, 1:], p[:-1, :] * p[1:, :], p[:-1, :-1] * p[1:, 1:], p[1:, :-1] * p[:-1, 1:]):
                f += list(_aggd(prod))
            feats.append(f)
            sharp.append(float(sigma[i:i + patch, j:j + patch].mean()))
    return np.asarray(feats, np.float64).reshape(-1, 18), np.asarray(sharp, np.float64)


def image_features(y: np.ndarray, patch: int = PATCH) -> tuple[np.ndarray, np.ndarray]:
    """[P, 36] features (full size with `patch`, half size with patch/2) and the full-size patch sharpness."""
    import cv2

    y = np.asarray(y, np.float64)
    f1, s1 = patch_features(y, patch)
    half = cv2.resize(y, (y.shape[1] // 2, y.shape[0] // 2), interpolation=cv2.INTER_CUBIC)
    f2, _ = patch_features(half, patch // 2)
    n = min(len(f1), len(f2))
    return np.hstack([f1[:n], f2[:n]]), s1[:n]


@dataclass
class PristineModel:
    """Mean [36] and covariance [36, 36] of the pristine patches' features."""

    mu: np.ndarray
    cov: np.ndarray


def _pristine_grey(name: str) -> np.ndarray:
    import skimage.data

    base, _, k = name.partition(":")
    img = getattr(skimage.data, base)()
    if isinstance(img, tuple):
        img = img[int(k or 0)]
    img = np.asarray(img)
    return luma(img).astype(np.float64) if img.ndim == 3 else img.astype(np.float64)


def fit_pristine(images: tuple[str, ...] = PRISTINE_IMAGES) -> PristineModel:
    """Fit the pristine Gaussian on scikit-image's photographs (sharp patches of each image)."""
    rows = []
    for name in images:
        f, s = image_features(_pristine_grey(name))
        keep = s > SHARPNESS_KEEP * s.max()
        rows.append(f[keep])
    x = np.vstack(rows)
    x = x[np.isfinite(x).all(axis=1)]
    return PristineModel(mu=x.mean(axis=0), cov=np.cov(x, rowvar=False))


@functools.lru_cache(maxsize=1)
def pristine_model() -> PristineModel:
    """The packaged pristine model (assets/niqe_pristine.npz)."""
    with np.load(PRISTINE_FILE) as z:
        return PristineModel(mu=z["mu"], cov=z["cov"])


def niqe(y: np.ndarray, model: PristineModel | None = None) -> float:
    """NIQE of a grey image (0..255 floats); NaN when the image holds fewer than two full 96-px patches."""
    model = model or pristine_model()
    f, _ = image_features(y)
    f = f[np.isfinite(f).all(axis=1)]
    if len(f) < 2:
        return float("nan")
    d = model.mu - f.mean(axis=0)
    cov = (model.cov + np.cov(f, rowvar=False)) / 2.0
    return float(np.sqrt(max(0.0, d @ np.linalg.pinv(cov) @ d)))


class NiqeExtractor(Extractor):
    """NIQE (pristine model fit on scikit-image's photographs) of native frames: mean, std, min, max."""

    name = "niqe"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    per_video = True  # a timeline window reuses the video's values (native frames spread over the video)
    sampler = "frames at indices int(linspace(0, n-1, frames)) at native size"
    preprocessing = "longer side capped at max_side (INTER_AREA); BT.601 luma 0..255; 96-px patches and 48-px at half size"

    @dataclass
    class Config:
        """How many native frames and the size cap."""

        frames: int = 4
        max_side: int = 1280

    def feature_names(self) -> list[str]:
        """Statistics of per-frame NIQE."""
        return ["niqe_mean", "niqe_std", "niqe_min", "niqe_max"]

    grid_stride = 0  # reads its own samplings, not the shared grid

    def requests(self) -> tuple:
        """Native index frames."""
        return (IndexFrames(self.cfg.frames),)

    def setup(self, device: str = "cpu") -> None:
        """Read the packaged pristine model."""
        pristine_model()

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """NIQE of each index frame, pooled."""
        from reelscore.features.nativeq import cap_side

        frames = inputs.require(IndexFrames(self.cfg.frames))
        v = np.array([niqe(luma(cap_side(f, self.cfg.max_side)).astype(np.float64)) for f in frames])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pooled = [np.nanmean(v), np.nanstd(v), np.nanmin(v), np.nanmax(v)]
        return ExtractorOutput(pooled=np.asarray(pooled, np.float32), meta={"frames": int(len(frames))})


def _write_pristine() -> None:
    m = fit_pristine()
    PRISTINE_FILE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(PRISTINE_FILE, mu=m.mu, cov=m.cov, images=np.array(PRISTINE_IMAGES))
    print(f"wrote {PRISTINE_FILE} ({len(m.mu)} features)")


if __name__ == "__main__":
    import sys

    if "--fit" in sys.argv:
        _write_pristine()
