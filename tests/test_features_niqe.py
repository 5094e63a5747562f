"""NIQE: the packaged pristine model is the fit the code makes, distortions raise it, and the extractor's
values are those of independently decoded frames."""

from __future__ import annotations

import numpy as np
import pytest


def test_packaged_pristine_model_is_a_fresh_fit():
    from reelscore.features.niqe import PRISTINE_FILE, fit_pristine

    fresh = fit_pristine()
    with np.load(PRISTINE_FILE) as z:
        np.testing.assert_allclose(z["mu"], fresh.mu, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(z["cov"], fresh.cov, rtol=1e-9, atol=1e-12)


def test_distance_is_the_mahalanobis_form_and_distortions_raise_it():
    import cv2
    import skimage.data
    from scipy.spatial.distance import mahalanobis

    from reelscore.features.niqe import image_features, niqe, pristine_model
    from reelscore.features.technical import luma

    y = luma(skimage.data.coffee()).astype(np.float64)  # JPEG-compressed photo
    m = pristine_model()
    f, _ = image_features(y)
    f = f[np.isfinite(f).all(axis=1)]
    cov = (m.cov + np.cov(f, rowvar=False)) / 2
    assert niqe(y) == pytest.approx(mahalanobis(m.mu, f.mean(0), np.linalg.pinv(cov)), rel=1e-9)
    coins = skimage.data.coins().astype(np.float64)  # not in the pristine set
    base = niqe(coins)
    assert niqe(cv2.GaussianBlur(coins, (0, 0), 2.0)) > base
    rng = np.random.default_rng(0)
    assert niqe(np.clip(coins + rng.normal(0, 20, coins.shape), 0, 255)) > base


def test_extractor_matches_frames_decoded_independently(tmp_path):
    import av

    from reelscore.features.analysis import Analyzer
    from reelscore.features.niqe import niqe
    from reelscore.features.technical import luma
    from reelscore.media.synth import make_clip

    clip = make_clip(tmp_path / "q.mp4", seconds=1.0, width=320, height=240, fps=10, seed=2, audio=False)
    res = Analyzer.from_names(["niqe"], options={"niqe": {"frames": 2}}).analyze(str(clip))
    assert res.errors == {}
    with av.open(str(clip)) as c:
        frames = [fr.to_ndarray(format="rgb24") for fr in c.decode(video=0)]
    v = np.array([niqe(luma(frames[i]).astype(np.float64)) for i in np.linspace(0, len(frames) - 1, 2).astype(int)])
    np.testing.assert_allclose(res.outputs["niqe"].pooled, [v.mean(), v.std(), v.min(), v.max()], rtol=1e-5)
