"""nativeq: native-resolution descriptors on independently decoded frames, and repeated frames counted."""

from __future__ import annotations

import numpy as np

from reelscore.features.analysis import Analyzer
from reelscore.features.technical import DESCRIPTORS, frame_descriptors
from reelscore.media.synth import make_clip


def test_descriptors_are_those_of_the_native_index_frames(tmp_path):
    import av

    clip = make_clip(tmp_path / "n.mp4", seconds=2.0, width=200, height=120, fps=10, seed=3, audio=False)
    an = Analyzer.from_names(["nativeq"], options={"nativeq": {"frames": 4}})
    res = an.analyze(str(clip))
    assert res.errors == {}
    got = res.outputs["nativeq"].pooled
    with av.open(str(clip)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    idx = np.linspace(0, len(frames) - 1, 4).astype(int)
    rows = np.stack([frame_descriptors(frames[i])[0] for i in idx])
    rows[:, DESCRIPTORS.index("ti")] = np.nan
    want = np.column_stack([np.nanmean(rows, 0), np.nanstd(rows, 0)]).ravel()
    ok = np.isfinite(want)
    np.testing.assert_allclose(got[:-2][ok], want[ok], rtol=1e-5, atol=1e-6)
    assert np.isnan(got[:-2][~ok]).all()
    assert got[-2] == 0.0  # moving shapes: no repeated frames


def test_every_other_frame_repeated_is_half_the_pairs(tmp_path):
    rng = np.random.default_rng(0)
    base = [rng.integers(0, 255, (64, 96, 3)).astype(np.uint8) for _ in range(20)]
    # frames 2k and 2k+1 are the same picture: pairs alternate repeat / change
    clip = make_clip(tmp_path / "r.mp4", seconds=2.0, width=96, height=64, fps=20, audio=False, crf=0,
                     frame_fn=lambda i, t: base[(i // 2) % 20])
    an = Analyzer.from_names(["nativeq"], options={"nativeq": {"frames": 2, "pairs": 20}})
    res = an.analyze(str(clip))
    share = res.outputs["nativeq"].pooled[-2]
    assert share == 0.5  # 10 of 20 consecutive pairs are repeats
