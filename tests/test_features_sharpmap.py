"""sharpmap: region values against an independent computation, the direction a blurred border moves them,
and the extractor's values equal those of independently decoded native frames."""

from __future__ import annotations

import numpy as np

from reelscore.features.analysis import Analyzer
from reelscore.media.synth import make_clip


def _reference(grey: np.ndarray) -> np.ndarray:
    """The four region values written plainly: SciPy convolution, boolean masks, a loop over cells."""
    from scipy.ndimage import convolve

    k = np.array([[2, 0, 2], [0, -8, 0], [2, 0, 2]], np.float64)  # OpenCV's 3x3 Laplacian aperture
    d = np.abs(convolve(grey.astype(np.float64), k, mode="mirror"))
    h, w = d.shape
    rr, cc = np.mgrid[0:h, 0:w]

    def inside(a, b):
        return (rr >= int(h * a)) & (rr < int(h * b)) & (cc >= int(w * a)) & (cc < int(w * b))

    centre, inner = inside(0.3, 0.7), inside(0.1, 0.9)
    c, p, r = d[centre].mean(), d[~inner].mean(), d[inner & ~centre].mean()
    ys, xs = np.linspace(0, h, 9).astype(int), np.linspace(0, w, 9).astype(int)
    cells = np.array([[np.log(d[ys[i]:ys[i + 1], xs[j]:xs[j + 1]].mean() + 1) for j in range(8)] for i in range(8)])
    return np.array([np.log((c + 1) / (p + 1)), np.log((c + 1) / (r + 1)), cells.std(), cells.max() - np.median(cells)])


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w)).astype(np.uint8)


def test_region_values_match_an_independent_computation():
    from reelscore.features.sharpmap import detail_map, region_values

    for h, w in ((90, 160), (123, 77)):
        g = _texture(h, w, seed=h)
        np.testing.assert_allclose(region_values(detail_map(g)), _reference(g), rtol=1e-5, atol=1e-6)


def test_a_blurred_border_around_a_sharp_centre_reads_as_one():
    import cv2

    from reelscore.features.sharpmap import detail_map, region_values

    g = _texture(180, 320)
    even = region_values(detail_map(g))
    blurred = cv2.GaussianBlur(g, (0, 0), 4)
    roi = blurred.copy()
    roi[45:135, 80:240] = g[45:135, 80:240]  # the central half kept sharp, as a region-of-interest pre-process
    v = region_values(detail_map(roi))
    assert abs(even[0]) < 0.1 and abs(even[1]) < 0.1  # detail spread evenly: centre ≈ border
    assert v[0] > 1.5 and v[1] > 0.5  # centre much sharper than the border and than the ring
    assert v[2] > even[2] + 0.5 and v[3] > even[3] + 0.5  # detail unevenly spread over the cells
    flat = region_values(detail_map(np.full((60, 80), 128, np.uint8)))
    np.testing.assert_array_equal(flat, 0.0)  # a flat frame is finite: no detail anywhere
    tiny = region_values(detail_map(_texture(6, 40)))
    assert np.isfinite(tiny[:2]).all() and np.isnan(tiny[2:]).all()  # too small for the 8x8 grid: spread unknown


def test_extractor_reads_the_native_index_frames(tmp_path):
    import av
    import cv2

    clip = make_clip(tmp_path / "s.mp4", seconds=2.0, width=200, height=120, fps=10, seed=5, audio=False)
    an = Analyzer.from_names(["sharpmap", "nativeq"], options={"sharpmap": {"frames": 4}, "nativeq": {"frames": 4}})
    res = an.analyze(str(clip))
    assert res.errors == {}
    got = res.outputs["sharpmap"].pooled
    assert got.shape == (8,) and res.outputs["sharpmap"].meta["frames"] == 4
    with av.open(str(clip)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]

    idx = np.linspace(0, len(frames) - 1, 4).astype(int)
    per = np.stack([_reference(cv2.cvtColor(frames[i], cv2.COLOR_RGB2GRAY)) for i in idx])
    want = np.column_stack([per.mean(0), per.std(0)]).ravel()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
