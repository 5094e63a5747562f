"""Audio features computed in blocks (bounded memory on long videos) equal the one-shot computations."""

from __future__ import annotations

import numpy as np


def test_log_mel_in_blocks_equals_the_whole_signal_at_once():
    from reelscore.features import yamnet as Y

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(Y.HOP * (Y.MEL_BLOCK + 700)) * 0.1).astype(np.float32)  # more than one block
    got = Y.log_mel(x)
    xx = x.astype(np.float64)
    n = 1 + (xx.size - Y.WIN) // Y.HOP
    idx = np.arange(Y.WIN)[None, :] + Y.HOP * np.arange(n)[:, None]
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(Y.WIN) / Y.WIN)
    want = np.log(np.abs(np.fft.rfft(xx[idx] * w, n=Y.NFFT, axis=1)) @ Y.mel_matrix() + Y.LOG_OFFSET).astype(np.float32)
    assert got.shape == want.shape and got.shape[0] > Y.MEL_BLOCK
    np.testing.assert_array_equal(got, want)


def test_short_term_loudness_and_tempo_equal_the_one_shot_forms():
    from reelscore.features.audio import short_term_db, tempo

    rng = np.random.default_rng(1)
    x = (rng.standard_normal(16000 * 70) * 0.2).astype(np.float32)  # more than one block of windows
    win, hop = 6400, 1600
    n = 1 + (x.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    want = np.maximum(-100.0, 10.0 * np.log10(np.mean(np.square(x[idx], dtype=np.float64), axis=1)))
    np.testing.assert_array_equal(short_term_db(x, 16000), want)

    t = np.arange(3000)
    env = np.maximum(0, np.sin(2 * np.pi * t / 50.0)) + 0.1 * rng.random(t.size)  # a 120-BPM pulse
    e = env - env.mean()
    ac = np.correlate(e, e, mode="full")[e.size - 1:]
    lags = np.arange(25, 151)
    bpm = 6000.0 / lags
    best = int(np.argmax(ac[lags] * np.exp(-0.5 * np.log2(bpm / 120.0) ** 2)))
    got_bpm, got_conf = tempo(env)
    assert got_bpm == bpm[best] == 120.0
    assert abs(got_conf - ac[lags[best]] / ac[0]) < 1e-12
