"""features.brisque computes OpenCV's BRISQUE features and score exactly, without OpenCV's pixel loops."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")


def _images():
    import skimage.data

    rng = np.random.default_rng(3)
    base = skimage.data.chelsea()
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (90, 130, 3), dtype=np.uint8), (0, 0), 3.0)
    jpeg = cv2.imdecode(cv2.imencode(".jpg", base, [cv2.IMWRITE_JPEG_QUALITY, 10])[1], cv2.IMREAD_COLOR)
    return {
        "photo": base,
        "photo, blurred": cv2.GaussianBlur(base, (0, 0), 2.5),
        "photo, JPEG q10": jpeg,
        "photo, noisy": np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8),
        "smooth noise": smooth,
        "odd size": rng.integers(0, 256, (37, 53, 3), dtype=np.uint8),
        "tiny": rng.integers(0, 256, (8, 9, 3), dtype=np.uint8),
        "flat (NaN features)": np.full((64, 80, 3), 128, np.uint8),
        "half flat": np.r_[np.zeros((20, 40, 3), np.uint8), np.full((20, 40, 3), 200, np.uint8)],
        "grey": cv2.cvtColor(base, cv2.COLOR_RGB2GRAY),
    }


def test_features_equal_opencvs_compute_features():
    from reelscore.features import brisque as B

    for name, img in _images().items():
        bgr = img if img.ndim == 2 else np.ascontiguousarray(img[..., ::-1])
        want = cv2.quality.QualityBRISQUE_computeFeatures(bgr).ravel()
        got = B.features(img)
        assert got.dtype == np.float32 and got.shape == (36,)
        np.testing.assert_array_equal(got, want, err_msg=name)  # bit for bit, NaNs where OpenCV has them


def test_score_equals_opencvs_quality_brisque():
    from reelscore.features.technical import brisque, brisque_model_files, brisque_opencv

    if brisque_model_files() is None:
        pytest.skip("OpenCV's BRISQUE model files (Debian opencv-data) are not installed")
    for name, img in _images().items():
        if img.ndim == 2:
            continue
        assert brisque(img) == brisque_opencv(img), name


def test_shape_search_follows_opencvs_loop():
    """The table search stops where OpenCV's loop breaks, also for NaN and infinite ratios."""
    from reelscore.features import brisque as B

    shapes, ratios = B.shape_table()
    assert shapes[0] == 0.2 and shapes[-1] < 10 and len(shapes) == 9801
    assert np.all(np.diff(ratios) > 0)

    def loop(x: float) -> float:  # the C loop, literally
        prev_gamma, prev_diff = 0.0, 1e10
        for g, r in zip(shapes, ratios):
            d = abs(r - x)
            if d > prev_diff:
                break
            prev_diff, prev_gamma = d, g
        return prev_gamma

    for x in [0.0, 0.05, ratios[0], ratios[10] + 1e-12, (ratios[500] + ratios[501]) / 2, 0.5, 0.74, 2.0,
              float("nan"), float("inf")]:
        assert B._first_minimum(x) == loop(x), x


def _misaligned(a: np.ndarray) -> np.ndarray:
    """The same pixels in a buffer that starts 3 bytes off (SIMD code may take other paths)."""
    buf = np.empty(a.nbytes + 3, np.uint8)
    out = buf[3:].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def test_frame_descriptors_equal_the_single_functions_within_1e_9():
    """technical's per-frame descriptors share intermediates and sum with OpenCV in double; they stay within
    1e-9 relative of the single functions applied one after another, and do not depend on alignment."""
    import skimage.data

    from reelscore.features.technical import DESCRIPTORS, frame_descriptors, frame_descriptors_reference

    rng = np.random.default_rng(11)
    imgs = list(_images().values())[:7] + [skimage.data.coffee(), np.full((40, 60, 3), 250, np.uint8),
                                          rng.integers(0, 256, (2, 3, 3), dtype=np.uint8)]
    prev = None
    for img in imgs:
        if img.ndim == 2:
            continue
        want, _ = frame_descriptors_reference(img, prev, with_brisque=False)
        got, y = frame_descriptors(img, prev, with_brisque=False)
        again, _ = frame_descriptors(_misaligned(img), prev, with_brisque=False)
        np.testing.assert_array_equal(got, again)
        for name, a, b in zip(DESCRIPTORS, want, got):
            if np.isnan(a):
                assert np.isnan(b), name
            else:
                assert b == pytest.approx(a, rel=1e-9, abs=1e-12), name
        prev = y
