"""Weight-free distortion descriptors of frames (the KSVQE distortion-aware input and the NIQE-style baseline).

`frame_descriptors` gives a small vector per frame: sharpness, MSCN statistics at two
scales (BRISQUE's normalisation), 8x8 blockiness, noise level, contrast, brightness,
colourfulness. `NaturalnessModel` is a NIQE-style baseline: a multivariate Gaussian of
MSCN patch features fitted on pristine photographs (scikit-image's CC0 data images),
scored by the Mahalanobis-like NIQE distance — higher means less natural.
"""

from __future__ import annotations

import numpy as np

DESCRIPTOR_NAMES = [
    "log_lap_var", "log_lap_var_half", "mscn_var", "mscn_absmean", "mscn_kurt", "mscn_h_mean", "mscn_v_mean",
    "mscn_var_half", "mscn_kurt_half", "blockiness", "noise_sigma", "contrast", "brightness", "colorfulness",
    "edge_density", "dark_share", "bright_share",
]


def _grey(frame: np.ndarray) -> np.ndarray:
    import cv2

    if frame.ndim == 3:
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return frame.astype(np.float64)


def mscn(grey: np.ndarray, sigma: float = 7 / 6) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients (BRISQUE / NIQE normalisation)."""
    import cv2

    mu = cv2.GaussianBlur(grey, (7, 7), sigma, borderType=cv2.BORDER_REPLICATE)
    var = cv2.GaussianBlur(grey * grey, (7, 7), sigma, borderType=cv2.BORDER_REPLICATE) - mu * mu
    return (grey - mu) / (np.sqrt(np.abs(var)) + 1.0)


def _kurt(x: np.ndarray) -> float:
    x = x.ravel()
    m2 = float(np.mean((x - x.mean()) ** 2))
    return float(np.mean((x - x.mean()) ** 4) / (m2 * m2)) if m2 > 1e-12 else 0.0


def blockiness(grey: np.ndarray, block: int = 8) -> float:
    """Mean absolute step across 8-px block boundaries over the mean step inside blocks (1 ≈ no blocking)."""
    dh = np.abs(np.diff(grey, axis=1))
    dv = np.abs(np.diff(grey, axis=0))
    if dh.shape[1] < 2 * block or dv.shape[0] < 2 * block:
        return 1.0
    cols = np.arange(dh.shape[1])
    rows = np.arange(dv.shape[0])
    on_h, on_v = (cols % block) == block - 1, (rows % block) == block - 1
    edge = dh[:, on_h].mean() + dv[on_v, :].mean()
    inner = dh[:, ~on_h].mean() + dv[~on_v, :].mean()
    return float(edge / (inner + 1e-6))


def frame_descriptors(frame: np.ndarray, max_side: int = 720) -> np.ndarray:
    """Distortion descriptor vector (len(DESCRIPTOR_NAMES)) of one RGB uint8 frame."""
    import cv2

    rgb = frame
    h, w = rgb.shape[:2]
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        # INTER_AREA keeps the compression artefacts' statistics reasonably intact when shrinking.
        rgb = cv2.resize(rgb, (max(8, int(w * s)), max(8, int(h * s))), interpolation=cv2.INTER_AREA)
    g = _grey(rgb)
    half = cv2.resize(g, (max(8, g.shape[1] // 2), max(8, g.shape[0] // 2)), interpolation=cv2.INTER_AREA)
    lap = cv2.Laplacian(g, cv2.CV_64F)
    lap_h = cv2.Laplacian(half, cv2.CV_64F)
    m, mh = mscn(g), mscn(half)
    # Noise: Immerkaer's fast estimator (Laplacian-difference kernel, robust median form).
    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
    nconv = cv2.filter2D(g, cv2.CV_64F, k)
    noise = float(np.median(np.abs(nconv)) * np.sqrt(np.pi / 2) / 6.0)
    r, gg, b = (rgb[..., i].astype(np.float64) for i in range(3)) if rgb.ndim == 3 else (g, g, g)
    rg, yb = r - gg, 0.5 * (r + gg) - b
    colorful = float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))
    edges = cv2.Canny(g.astype(np.uint8), 100, 200)
    return np.array([
        np.log1p(lap.var()), np.log1p(lap_h.var()),
        m.var(), np.abs(m).mean(), _kurt(m),
        float((m[:, :-1] * m[:, 1:]).mean()), float((m[:-1, :] * m[1:, :]).mean()),
        mh.var(), _kurt(mh),
        blockiness(g), noise, g.std() / 255.0, g.mean() / 255.0, colorful / 255.0,
        float((edges > 0).mean()), float((g < 16).mean()), float((g > 239).mean()),
    ], dtype=np.float64)


def video_descriptors(frames: np.ndarray) -> np.ndarray:
    """Mean and std over frames of the per-frame descriptors → [2·D]."""
    d = np.stack([frame_descriptors(f) for f in frames])
    return np.concatenate([d.mean(axis=0), d.std(axis=0)])


def video_descriptor_names() -> list[str]:
    """Names of video_descriptors' entries."""
    return [f"{n}_mean" for n in DESCRIPTOR_NAMES] + [f"{n}_std" for n in DESCRIPTOR_NAMES]


# --- NIQE-style naturalness baseline -------------------------------------------------

def _ggd_features(block: np.ndarray) -> list[float]:
    """Variance-and-shape proxy of MSCN coefficients (moment form instead of the GGD fit, for speed)."""
    x = block.ravel()
    return [float(x.var()), float(np.abs(x).mean()), _kurt(x)]


def niqe_patch_features(grey: np.ndarray, patch: int = 64) -> np.ndarray:
    """Per-patch NIQE-style features (MSCN moments and neighbour products at two scales) → [P, F]."""
    import cv2

    feats = []
    scales = [grey, cv2.resize(grey, (max(8, grey.shape[1] // 2), max(8, grey.shape[0] // 2)), interpolation=cv2.INTER_AREA)]
    per_scale = []
    for s_i, img in enumerate(scales):
        m = mscn(img)
        p = patch // (2**s_i)
        rows = []
        for y in range(0, m.shape[0] - p + 1, p):
            for x in range(0, m.shape[1] - p + 1, p):
                blk = m[y : y + p, x : x + p]
                f = _ggd_features(blk)
                for a, b in ((blk[:, :-1], blk[:, 1:]), (blk[:-1, :], blk[1:, :]), (blk[:-1, :-1], blk[1:, 1:]), (blk[1:, :-1], blk[:-1, 1:])):
                    prod = a * b
                    f += [float(prod.mean()), float(prod.var())]
                rows.append(f)
        per_scale.append(np.array(rows))
    n = min(len(a) for a in per_scale)
    if n == 0:
        return np.zeros((0, sum(a.shape[1] if a.ndim == 2 else 11 for a in per_scale)))
    feats = np.concatenate([a[:n] for a in per_scale], axis=1)
    return feats


class NaturalnessModel:
    """NIQE-style: a Gaussian fitted on sharp patches of pristine photos; distance of a frame's patch Gaussian to it."""

    def __init__(self, patch: int = 64) -> None:
        self.patch = patch
        self.mu: np.ndarray | None = None
        self.cov: np.ndarray | None = None

    def fit_pristine(self, images: list[np.ndarray]) -> "NaturalnessModel":
        """Fit on RGB uint8 pristine images, keeping the sharpest 75 % of patches (as NIQE does)."""
        feats = []
        for img in images:
            g = _grey(img)
            f = niqe_patch_features(g, self.patch)
            if len(f):
                sharp = f[:, 0]
                feats.append(f[sharp >= np.quantile(sharp, 0.25)])
        x = np.concatenate(feats)
        self.mu = x.mean(axis=0)
        self.cov = np.cov(x, rowvar=False)
        return self

    @classmethod
    def default(cls) -> "NaturalnessModel":
        """Fitted on scikit-image's CC0/public-domain photos (astronaut, coffee, chelsea, rocket, ...)."""
        from skimage import data

        names = ["astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "motorcycle_left"]
        imgs = []
        for n in names:
            fn = getattr(data, n, None)
            if fn is None:
                raise RuntimeError(
                    f"scikit-image has no data photo {n!r}: the naturalness model's fit would change silently"
                )
            img = fn()  # all seven ship inside scikit-image's wheel; a fetch attempt must fail loudly
            if isinstance(img, tuple):
                img = img[0]
            if img.ndim == 2:
                img = np.stack([img] * 3, axis=-1)
            imgs.append(np.asarray(img[..., :3], dtype=np.uint8))
        if not imgs:
            raise RuntimeError("no scikit-image data photos available to fit the naturalness model")
        return cls().fit_pristine(imgs)

    def score_frame(self, frame: np.ndarray, max_side: int = 720) -> float:
        """NIQE-style distance of one RGB uint8 frame (higher = less natural)."""
        import cv2

        h, w = frame.shape[:2]
        if max(h, w) > max_side:
            s = max_side / max(h, w)
            frame = cv2.resize(frame, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        f = niqe_patch_features(_grey(frame), self.patch)
        if len(f) < 2:
            return float("nan")
        mu2, cov2 = f.mean(axis=0), np.cov(f, rowvar=False)
        d = self.mu - mu2
        pooled = (self.cov + cov2) / 2.0
        return float(np.sqrt(max(0.0, d @ np.linalg.pinv(pooled) @ d)))
