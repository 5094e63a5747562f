"""motion's pair statistics as a grid pass: chunks of any size give the rows of one pass over the whole stack,
and those rows are the literal per-pair computation (grey + histogram per frame, Farneback per pair)."""

from __future__ import annotations

import cv2
import numpy as np

from reelscore.features.motion import (
    PAIR_NAMES,
    PairPass,
    hsv_hist,
    pair_stats,
    small_gray,
)


def _frames(n: int = 23, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur((rng.random((72, 128, 3)) * 255).astype(np.uint8), (0, 0), 3)
    out = [np.roll(base, 2 * i, axis=1) for i in range(n)]
    if n > 11:
        out[11] = np.full_like(base, (220, 20, 40))  # a cut: its two pairs have no flow values
    return np.stack(out)


def _literal(frames: np.ndarray, fps: float, side_px: int, thr: float) -> np.ndarray:
    grey = [small_gray(f, side_px) for f in frames]
    hist = [hsv_hist(f, side_px) for f in frames]
    side = float(min(grey[0].shape))
    rows = []
    for i in range(1, len(frames)):
        diff = float(np.mean(np.abs(grey[i - 1].astype(np.int16) - grey[i].astype(np.int16))))
        if cv2.compareHist(hist[i - 1], hist[i], cv2.HISTCMP_BHATTACHARYYA) > thr:
            rows.append([diff, np.nan, np.nan, np.nan, np.nan, 1.0])
            continue
        f = cv2.calcOpticalFlowFarneback(grey[i - 1], grey[i], None, 0.5, 3, 15, 3, 5, 1.2, 0)
        mag = np.hypot(f[..., 0], f[..., 1]) / side * fps
        rows.append([diff, mag.mean(dtype=np.float64), mag.std(dtype=np.float64), np.percentile(mag, 90), mag.max(), 0.0])
    return np.asarray(rows, np.float64)


def test_pair_pass_in_any_chunks_equals_the_literal_pairs():
    frames = _frames()
    want = _literal(frames, 4.0, 48, 0.5)
    assert want.shape == (len(frames) - 1, len(PAIR_NAMES)) and np.isnan(want[:, 1]).sum() == 2
    np.testing.assert_allclose(pair_stats(frames, 4.0, 48, 0.5), want, rtol=1e-6, atol=1e-9)
    for chunk in (1, 5, 16, 40):
        p = PairPass(4.0, 48, 0.5)
        for s in range(0, len(frames), chunk):
            p.add(frames[s: s + chunk], np.arange(s, min(s + chunk, len(frames))) / 4.0)
        np.testing.assert_array_equal(p.result(), pair_stats(frames, 4.0, 48, 0.5), err_msg=f"chunk {chunk}")


def test_pair_pass_with_one_or_no_frame():
    p = PairPass(4.0, 48, 0.5)
    assert p.result().shape == (0, len(PAIR_NAMES))
    p.add(_frames(1), np.zeros(1))
    p.add(_frames(1)[:0], np.zeros(0))
    assert p.result().shape == (0, len(PAIR_NAMES))
