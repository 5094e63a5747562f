"""Sampler timestamps are pinned, and the frames returned are the ones on screen at those times."""

from __future__ import annotations

import numpy as np
import pytest

from reelscore.media import VideoReader
from reelscore.media import samplers as S
from reelscore.media.synth import make_clip, read_frame_index


def _idx(frames) -> list[int]:
    return [read_frame_index(f) for f in frames]


def _shown(ref: np.ndarray, ts) -> list[int]:
    return [max(0, int(np.searchsorted(ref, t + 1e-6)) - 1) for t in np.ravel(ts)]


# -- per_second ---------------------------------------------------------------
@pytest.mark.parametrize("k,times,frames", [
    (1, [0.0, 1.0], [0, 15]),
    (2, [0.0, 0.5, 1.0, 1.5], [0, 7, 15, 22]),
    (4, [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75], [0, 3, 7, 11, 15, 18, 22, 26]),
])
@pytest.mark.parametrize("name", ["portrait_h264", "rotated90", "hevc", "vp9_webm"])
def test_per_second_cfr(test_media, name, k, times, frames):
    with VideoReader(test_media[name]) as r:
        s = S.per_second(r, k)
    np.testing.assert_allclose(s.timestamps, times)
    assert _idx(s.frames) == frames
    assert s.frames.shape == (len(times), 112, 64, 3)


def test_per_second_vfr(test_media, ffprobe_frame_times):
    ref = ffprobe_frame_times(test_media["vfr"])
    with VideoReader(test_media["vfr"]) as r:
        s = S.per_second(r, 2)
    np.testing.assert_allclose(s.timestamps, [0.0, 0.5, 1.0, 1.5])
    assert _idx(s.frames) == _shown(ref, s.timestamps)


def test_per_second_grid_edges():
    np.testing.assert_allclose(S.per_second_times(2.0, 1), [0, 1])
    np.testing.assert_allclose(S.per_second_times(2.5, 1), [0, 1, 2])
    np.testing.assert_allclose(S.per_second_times(0.0667, 1), [0])
    np.testing.assert_allclose(S.per_second_times(1.0, 3), [0, 1 / 3, 2 / 3])
    with pytest.raises(ValueError):
        S.per_second_times(2.0, 0)


def test_per_second_one_frame(test_media):
    with VideoReader(test_media["one_frame"]) as r:
        s = S.per_second(r, 1)
    assert s.timestamps.tolist() == [0.0] and _idx(s.frames) == [0]


# -- clips ------------------------------------------------------------------
def test_clips_cfr_cover_every_frame(test_media):
    with VideoReader(test_media["portrait_h264"]) as r:
        c = S.clips(r, L=16)
    np.testing.assert_allclose(c.starts, [0.0, 16 / 15])
    assert c.timestamps.shape == (2, 16) and c.frames.shape == (2, 16, 112, 64, 3)
    np.testing.assert_allclose(c.timestamps[0], np.arange(16) / 15)
    # 30 frames: clip 2 holds frames 16..29 and repeats frame 29 twice.
    assert _idx(c.frames[0]) == list(range(16))
    assert _idx(c.frames[1]) == list(range(16, 30)) + [29, 29]
    np.testing.assert_allclose(c.timestamps[1, -3:], [29 / 15] * 3)


def test_clips_vfr_on_time_grid(test_media, ffprobe_frame_times):
    ref = ffprobe_frame_times(test_media["vfr"])
    with VideoReader(test_media["vfr"]) as r:
        fps = r.info.fps
        c = S.clips(r, L=16)
    assert fps == pytest.approx(16.5)
    np.testing.assert_allclose(c.starts, [0.0, 16 / 16.5, 32 / 16.5])
    assert c.timestamps.shape == (3, 16)
    assert _idx(c.frames.reshape(-1, *c.frames.shape[2:])) == _shown(ref, c.timestamps)


def test_clips_shorter_than_L(test_media):
    with VideoReader(test_media["one_frame"]) as r:
        c = S.clips(r, L=4)
    assert c.timestamps.tolist() == [[0.0] * 4] and c.frames.shape[:2] == (1, 4)


def test_clips_rotated_and_resized(test_media):
    with VideoReader(test_media["rotated90"], short_side=32) as r:
        c = S.clips(r, L=8)
    assert c.frames.shape == (4, 8, 56, 32, 3)
    assert _idx(c.frames[1]) == list(range(8, 16))


# -- window -----------------------------------------------------------------
def test_window_cfr(test_media):
    with VideoReader(test_media["landscape_h264"]) as r:
        w = S.window(r, 0.0, 1.0)
        w2 = S.window(r, 0.5, 5.0)
    np.testing.assert_allclose(w.timestamps, np.arange(15) / 15, atol=1e-6)
    assert _idx(w.frames) == list(range(15)) and w.frames.shape == (15, 64, 112, 3)
    assert _idx(w2.frames) == list(range(8, 30))  # first frame at or after 0.5 s is 8/15


def test_window_vfr_native_timing(test_media, ffprobe_frame_times):
    ref = ffprobe_frame_times(test_media["vfr"])
    with VideoReader(test_media["vfr"]) as r:
        w = S.window(r, 0.5, 1.5)
    inside = np.flatnonzero((ref >= 0.5 - 1e-6) & (ref < 1.5 - 1e-6))
    np.testing.assert_allclose(w.timestamps, ref[inside], atol=1e-4)
    assert _idx(w.frames) == inside.tolist()


def test_window_errors(test_media):
    with VideoReader(test_media["portrait_h264"]) as r:
        with pytest.raises(ValueError):
            S.window(r, 1.0, 1.0)
        with pytest.raises(ValueError):
            S.window(r, 2.5, 3.0)


# -- fragments --------------------------------------------------------------
def test_fragment_indices_match_dover_layout():
    # 300 frames, 8 segments of 37; 4 frames 2 apart, centred: offset (37 - 8) // 2 = 14.
    idx = S.fragment_indices(300, frames=32, interval=2, segments=8, rng=None)
    expected = [37 * s + 14 + 2 * j for s in range(8) for j in range(4)]
    assert idx.tolist() == expected
    # Short video: no room, offsets 0, wrap modulo num_frames.
    assert S.fragment_indices(10, 32, 2, 8).tolist()[:8] == [0, 2, 4, 6, 1, 3, 5, 7]
    assert max(S.fragment_indices(10, 32, 2, 8)) < 10
    r1 = S.fragment_indices(300, rng=np.random.default_rng(5))
    r2 = S.fragment_indices(300, rng=np.random.default_rng(5))
    assert r1.tolist() == r2.tolist()
    seg = r1.reshape(8, 4)
    assert np.all(np.diff(seg, axis=1) == 2)
    assert np.all(seg[:, 0] >= np.arange(8) * 37) and np.all(seg[:, -1] < np.arange(1, 9) * 37)


def test_fragment_offsets_inside_their_cells():
    rng = np.random.default_rng(0)
    offs = S.fragment_offsets(1080, 1920, grid=7, size=32, rng=rng)
    assert offs.shape == (7, 7, 2)
    cell_h, cell_w = 1080 // 7, 1920 // 7
    for i in range(7):
        for j in range(7):
            y, x = offs[i, j]
            assert i * cell_h <= y <= (i + 1) * cell_h - 32
            assert j * cell_w <= x <= (j + 1) * cell_w - 32
    centred = S.fragment_offsets(1080, 1920, 7, 32, None)
    assert centred[0, 0].tolist() == [(cell_h - 32) // 2, (cell_w - 32) // 2]


def test_fragments_patches_are_aligned_crops(tmp_path):
    path = make_clip(tmp_path / "big.mp4", seconds=1.0, width=96, height=160, fps=15, audio=False, seed=2)
    with VideoReader(path) as r:
        f = S.fragments(r, grid=2, size=32, frames=8, interval=1, segments=2, seed=3)
        full = r.frames_at(f.timestamps).frames
    assert f.scale == 1.0 and f.frames.shape == (8, 64, 64, 3)
    np.testing.assert_allclose(f.timestamps, f.indices / 15)
    for i in range(2):
        for j in range(2):
            y, x = f.offsets[i, j]
            np.testing.assert_array_equal(
                f.frames[:, i * 32:(i + 1) * 32, j * 32:(j + 1) * 32], full[:, y:y + 32, x:x + 32]
            )


def test_fragments_seeded_and_upsampled(test_media):
    with VideoReader(test_media["portrait_h264"]) as r:
        a = S.fragments(r, seed=1)
        b = S.fragments(r, seed=1)
        c = S.fragments(r, seed=2)
        d = S.fragments(r, random=False)
    assert a.frames.shape == (32, 224, 224, 3) and a.timestamps.shape == (32,)
    assert a.scale == pytest.approx(224 / 64)  # 64-px side upscaled to 7 * 32
    np.testing.assert_array_equal(a.frames, b.frames)
    assert not np.array_equal(a.offsets, c.offsets)
    # 30 frames: segments of 3 frames, no room, indices wrap: same as DOVER.
    assert d.indices.tolist() == S.fragment_indices(30, 32, 2, 8).tolist()
