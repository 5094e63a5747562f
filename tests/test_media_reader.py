"""VideoReader returns exactly the frame on screen at each time (checked by the bar-coded index)."""

from __future__ import annotations

import numpy as np
import pytest

from reelscore.media import MediaError, VideoReader
from reelscore.media.synth import make_clip, read_frame_index

CLIPS = ["portrait_h264", "landscape_h264", "hevc", "vp9_webm", "rotated90", "vfr", "one_frame"]


def _expected(times_ref: np.ndarray, ts) -> list[int]:
    return [max(0, int(np.searchsorted(times_ref, t + 1e-6)) - 1) for t in ts]


@pytest.mark.parametrize("name", CLIPS)
def test_iter_frames_all_in_order(test_media, ffprobe_frame_times, name):
    ref = ffprobe_frame_times(test_media[name])
    with VideoReader(test_media[name]) as r:
        got = list(r.iter_frames())
        assert [read_frame_index(f) for _, f in got] == list(range(len(ref)))
        np.testing.assert_allclose([t for t, _ in got], ref, atol=1e-4)
        for _, f in got:
            assert f.dtype == np.uint8 and f.shape == (r.info.height, r.info.width, 3)


@pytest.mark.parametrize("name", CLIPS)
def test_frames_at_is_exact_in_any_order(test_media, ffprobe_frame_times, name):
    ref = ffprobe_frame_times(test_media[name])
    rng = np.random.default_rng(0)
    ts = np.concatenate([[-0.5, 0.0, 10.0], ref[[0, -1]], ref[1:] - 1e-3 if len(ref) > 1 else [], rng.uniform(0, 2.1, 20)])
    rng.shuffle(ts)
    with VideoReader(test_media[name]) as r:
        s = r.frames_at(ts)
    assert s.timestamps.dtype == np.float64 and s.frames.dtype == np.uint8
    np.testing.assert_array_equal(s.timestamps, ts)
    assert [read_frame_index(f) for f in s.frames] == _expected(ref, ts)


def test_sparse_access_seeks_dense_access_decodes_forward(tmp_path, ffprobe_frame_times):
    path = make_clip(tmp_path / "long.mp4", seconds=6.0, fps=15, gop=15, audio=False, seed=4)
    ref = ffprobe_frame_times(path)
    with VideoReader(path) as r:
        s = r.frames_at([0.0, 2.0, 4.0, 5.0])
        assert r.seeks >= 3
        assert r.decoded_frames < len(ref) // 2
        assert [read_frame_index(f) for f in s.frames] == [0, 30, 60, 75]
    with VideoReader(path) as r:
        ts = np.arange(len(ref)) / 15.0
        s = r.frames_at(ts)
        assert r.seeks == 1
        assert r.decoded_frames == len(ref)
        assert [read_frame_index(f) for f in s.frames] == list(range(len(ref)))


@pytest.mark.parametrize(
    "name,shape",
    [("portrait_h264", (56, 32, 3)), ("landscape_h264", (32, 56, 3)), ("rotated90", (56, 32, 3))],
)
def test_resize_short_side(test_media, name, shape):
    with VideoReader(test_media[name], short_side=32) as r:
        assert r.frame_shape == shape
        s = r.frames_at([0.0, 1.0])
    assert s.frames.shape == (2, *shape)
    assert [read_frame_index(f) for f in s.frames] == [0, 15]


def test_rotation_is_applied(test_media):
    # rotated90 and portrait_h264 encode the same displayed pictures (seed 1).
    with VideoReader(test_media["rotated90"]) as r, VideoReader(test_media["portrait_h264"]) as p:
        a = r.frames_at([0.5, 1.5]).frames.astype(np.int16)
        b = p.frames_at([0.5, 1.5]).frames.astype(np.int16)
    assert a.shape == b.shape == (2, 112, 64, 3)
    assert np.abs(a - b).mean() < 6
    wrong = np.rot90(np.rot90(b, axes=(1, 2)), axes=(1, 2))  # upside down
    assert np.abs(a - wrong).mean() > 20


def test_vfr_times_are_real_timestamps(test_media, ffprobe_frame_times):
    ref = ffprobe_frame_times(test_media["vfr"])
    gaps = np.unique(np.round(np.diff(ref), 3))
    assert len(gaps) >= 2  # really variable
    with VideoReader(test_media["vfr"]) as r:
        times = r.frame_times()
    np.testing.assert_allclose(times, ref, atol=1e-4)


@pytest.mark.parametrize("name", ["truncated", "corrupt", "truncated_webm"])
def test_reader_refuses_broken(test_media, name):
    with pytest.raises(MediaError):
        VideoReader(test_media[name])


@pytest.mark.parametrize("rotation", [180, 270])
def test_other_rotations_display_upright(tmp_path, rotation):
    upright = make_clip(tmp_path / "u.mp4", seconds=1.0, width=64, height=112, audio=False, seed=9)
    turned = make_clip(tmp_path / f"r{rotation}.mp4", seconds=1.0, width=64, height=112, audio=False, seed=9,
                       rotation=rotation)
    with VideoReader(upright) as u, VideoReader(turned) as r:
        assert (r.info.width, r.info.height, r.info.rotation) == (64, 112, rotation)
        a = r.frames_at([0.2, 0.8]).frames.astype(np.int16)
        b = u.frames_at([0.2, 0.8]).frames.astype(np.int16)
    assert a.shape == b.shape
    assert np.abs(a - b).mean() < 6
    assert [read_frame_index(f) for f in a.astype(np.uint8)] == [3, 12]


def test_single_thread_decodes_the_same_frames(test_media):
    with VideoReader(test_media["hevc"], threads=1) as one, VideoReader(test_media["hevc"], threads=2) as two:
        np.testing.assert_array_equal(one.frames_at([0.1, 1.3]).frames, two.frames_at([0.1, 1.3]).frames)


def test_exact_on_mpegts_where_demuxer_seeks_are_inexact(tmp_path, ffprobe_frame_times):
    # MPEG-TS has no index: seeks land near (not at) key frames, sometimes after t or past
    # the last key frame. Each call mixes backward and forward jumps.
    path = make_clip(tmp_path / "c.ts", seconds=6.0, fps=15, gop=15, audio=True, seed=3)
    ref = ffprobe_frame_times(path)
    assert len(ref) == 90
    rng = np.random.default_rng(0)
    with VideoReader(path) as r:
        assert [read_frame_index(f) for _, f in r.iter_frames()] == list(range(90))
        for _ in range(4):
            ts = rng.uniform(-0.1, 6.1, 7)
            got = [read_frame_index(f) for f in r.frames_at(ts).frames]
            assert got == _expected(ref, ts)
        assert [read_frame_index(f) for f in r.frames_at([5.5, 2.0, 5.9]).frames] == _expected(ref, [5.5, 2.0, 5.9])
