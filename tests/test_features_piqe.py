"""PIQE: the vectorised blocks equal a block-by-block loop written from the paper, distortions raise the
score, and the extractor's values are those of independently decoded frames."""

from __future__ import annotations

import numpy as np
import pytest


def _piqe_loop(y: np.ndarray) -> float:
    """PIQE one block at a time, as the paper describes it (MSCN computed independently with scipy)."""
    from scipy.ndimage import correlate

    ax = np.arange(7) - 3
    g = np.exp(-(ax**2) / (2 * (7 / 6) ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    mu = correlate(y, w, mode="nearest")
    sd = np.sqrt(np.abs(correlate(y * y, w, mode="nearest") - mu * mu))
    m = (y - mu) / (sd + 1.0)
    total, n_active = 0.0, 0
    for i in range(0, (y.shape[0] // 16) * 16, 16):
        for j in range(0, (y.shape[1] // 16) * 16, 16):
            b = m[i:i + 16, j:j + 16]
            v = b.var(ddof=1)
            if v <= 0.1:
                continue
            n_active += 1
            edges = [b[0, :], b[-1, :], b[:, 0], b[:, -1]]
            distorted = any(e[k:k + 6].std(ddof=1) < 0.1 for e in edges for k in range(11))
            centre, surround = b[:, 7:9], np.hstack([b[:, :7], b[:, 9:]])
            r = centre.std(ddof=1) / surround.std(ddof=1) if surround.std(ddof=1) > 0 else 0.0
            s = np.sqrt(v)
            beta = abs(s - r) / max(s, r)
            total += (1 - v) * distorted + v * (s > 2 * beta)
    return 100.0 * (total + 1.0) / (n_active + 1.0)


def _grey(name: str) -> np.ndarray:
    import skimage.data

    from reelscore.features.technical import luma

    img = getattr(skimage.data, name)()
    return (luma(img) if img.ndim == 3 else img).astype(np.float64)


@pytest.mark.parametrize("name", ["camera", "coffee"])
def test_vectorised_piqe_equals_the_block_loop(name):
    import cv2

    from reelscore.features.piqe import piqe

    y = _grey(name)[:200, :250]  # partial blocks at the edges are left out by both
    rng = np.random.default_rng(2)
    for img in (y, cv2.GaussianBlur(y, (0, 0), 1.5), np.clip(y + rng.normal(0, 12, y.shape), 0, 255)):
        assert piqe(img) == pytest.approx(_piqe_loop(img), rel=1e-6, abs=1e-6)


def test_blur_noise_and_blocking_raise_piqe():
    import cv2

    from reelscore.features.piqe import piqe

    y = _grey("astronaut")
    base = piqe(y)
    assert 0 <= base <= 100
    assert piqe(cv2.GaussianBlur(y, (0, 0), 2.0)) > base + 20
    assert piqe(np.clip(y + np.random.default_rng(0).normal(0, 15, y.shape), 0, 255)) > base + 10
    ok, buf = cv2.imencode(".jpg", y.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 5])
    assert piqe(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float64)) > base + 10
    assert np.isnan(piqe(np.zeros((10, 10))))  # no full 16-px block


def test_extractor_matches_frames_decoded_independently(tmp_path):
    import av

    from reelscore.features.analysis import Analyzer
    from reelscore.features.piqe import piqe, piqe_maps
    from reelscore.features.technical import luma
    from reelscore.media.synth import make_clip

    clip = make_clip(tmp_path / "p.mp4", seconds=1.0, width=320, height=240, fps=10, seed=4, audio=False)
    an = Analyzer.from_names(["piqe"], options={"piqe": {"frames": 3}})
    res = an.analyze(str(clip))
    assert res.errors == {}
    got = dict(zip(an.extractors["piqe"].feature_names(), res.outputs["piqe"].pooled.astype(np.float64)))
    with av.open(str(clip)) as c:
        frames = [fr.to_ndarray(format="rgb24") for fr in c.decode(video=0)]
    ys = [luma(frames[i]).astype(np.float64) for i in np.linspace(0, len(frames) - 1, 3).astype(int)]
    v = np.array([piqe(y) for y in ys])
    assert got["piqe_mean"] == pytest.approx(v.mean(), rel=1e-5)
    assert got["piqe_std"] == pytest.approx(v.std(), rel=1e-4, abs=1e-4)
    assert got["piqe_max"] == pytest.approx(v.max(), rel=1e-5)
    maps = [piqe_maps(y) for y in ys]
    assert got["active_share"] == pytest.approx(np.mean([m["active"].mean() for m in maps]), rel=1e-5)
    assert got["distorted_share"] == pytest.approx(np.mean([m["ndc"].sum() / m["active"].sum() for m in maps]), rel=1e-5)
