"""Reader taps: one decode pass serves the grid, the first-N frames and exact index frames; audio specs share one decode."""

from __future__ import annotations

import numpy as np
import pytest

from reelscore.media import AudioSpec, VideoReader, decode_audio, decode_audio_tracks


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from reelscore.media.synth import make_clip

    # key frame every 5 frames: the grid would seek, which the first-N tap must hold off
    return make_clip(tmp_path_factory.mktemp("taps") / "t.mp4", seconds=4.0, width=64, height=112, fps=20, gop=5, seed=7)


def test_first_frames_tap_equals_plain_decode(clip):
    with VideoReader(clip) as r:
        plain = [f for _, f in zip(range(30), (a for _, a in r.iter_frames()))]
    with VideoReader(clip, short_side=48) as r:
        got = r.tap_first(30)
        grid = r.frames_at(np.arange(16) / 4.0)
        r.finish_taps()
        tapped_decodes = r.decoded_frames
    with VideoReader(clip, short_side=48) as r:
        ref_grid = r.frames_at(np.arange(16) / 4.0)
    assert len(got) == 30
    for (t, a), b in zip(got, plain):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(grid.frames, ref_grid.frames)  # the tap does not change the grid
    assert tapped_decodes <= 80  # 4 s at 20 fps: nothing decoded twice


def test_first_frames_beyond_the_grid_and_short_videos(clip):
    with VideoReader(clip) as r:
        got = r.tap_first(500, transform=lambda a: a.mean())
        r.frames_at([0.0, 0.5])
        r.finish_taps()
    assert len(got) == 80  # the whole video when it is shorter than asked


def test_index_frames_tap(clip):
    with VideoReader(clip) as r:
        times = r.frame_times()
        want = times[[0, 40, 79]]
        got = r.tap_at(want)
        r.frames_at(np.r_[np.arange(16) / 4.0, want])
        r.finish_taps()
    with VideoReader(clip) as r:
        ref = r.frames_at(want).frames
    assert sorted(got) == sorted(float(t) for t in want)
    for t, f in zip(want, ref):
        np.testing.assert_array_equal(got[float(t)], f)


def test_audio_specs_from_one_decode(clip):
    mono, stereo, capped = decode_audio_tracks(clip, [AudioSpec(16000, "mono"), AudioSpec(22050, "stereo", "s16"),
                                                      AudioSpec(8000, "mono", "fltp", 1.5)])
    np.testing.assert_allclose(mono.samples, decode_audio(clip).samples)
    assert stereo.samples.shape[0] == 2 and stereo.sample_rate == 22050
    assert np.all(np.abs(stereo.samples) <= 1) and np.allclose(stereo.samples * 32768, np.round(stereo.samples * 32768))
    assert capped.samples.shape == (12000,)


def _analyzer(names):
    from reelscore.features.analysis import Analyzer

    return Analyzer.from_names(names, threads=1)


def test_first_frame_requests_share_one_conversion_per_frame(clip, monkeypatch):
    """Three first-frame requests (two of one shape) cost one native RGB conversion per frame, same arrays."""
    from reelscore.features.analysis import Analyzer, _grey_small
    from reelscore.features.base import FirstFrames, VideoInputs
    from reelscore.media import probe

    reqs = [FirstFrames(9, 32, 18, True), FirstFrames(5, 32, 18, True), FirstFrames(7, 0, 0, True, 24)]
    calls = []
    real = VideoReader.to_rgb

    def counting(self, frame, size=None):
        calls.append(size)
        return real(self, frame, size=size)

    monkeypatch.setattr(VideoReader, "to_rgb", counting)
    an = Analyzer([], threads=1)
    inputs = VideoInputs(video_id="t", path=str(clip), plan=an.plan)
    an._decode_frames(str(clip), probe(clip), inputs, reqs)
    assert calls.count((0, 0)) == 9  # native conversions: one per first frame, not 9 + 5 + 7
    monkeypatch.setattr(VideoReader, "to_rgb", real)
    with VideoReader(clip) as r:
        plain = [a for _, a in zip(range(9), (a for _, a in r.iter_frames()))]
    for req in reqs:
        want = np.stack([_grey_small(req)(a) for a in plain[: req.n]])
        np.testing.assert_array_equal(inputs.extra[req], want)


def test_grid_converts_only_the_frames_extractors_read(clip):
    """technical reads every 2nd grid frame: the grid is converted at half rate, with the same features."""
    an = _analyzer(["technical"])
    an.stream_grid = False  # keep the grid to count its frames
    assert an.grid_step(list(an.extractors.values())) == 2
    half = an.analyze(str(clip))
    assert half.inputs.grid_step == 2 and len(half.inputs.frames) == len(an.plan.timestamps(half.inputs.duration_s)[::2])
    full_an = _analyzer(["technical"])
    full_an.stream_grid = False
    full_an.grid_step = lambda exts: 1  # every grid frame, as before the analysis knew what is read
    full = full_an.analyze(str(clip))
    assert len(full.inputs.frames) == 2 * len(half.inputs.frames)
    np.testing.assert_array_equal(half.outputs["technical"].pooled, full.outputs["technical"].pooled)
    np.testing.assert_array_equal(half.outputs["technical"].clips, full.outputs["technical"].clips)
    # an extractor that reads every grid frame (motion) keeps the whole grid
    assert _analyzer(["technical", "motion"]).grid_step([e for e in _analyzer(["technical", "motion"]).extractors.values()]) == 1
    # at least one frame per second even when nothing reads the grid
    only_native = _analyzer(["nativeq"])
    assert only_native.grid_step(list(only_native.extractors.values())) == int(only_native.plan.fps)
    with pytest.raises(ValueError, match="one grid frame in 3 asked for"):
        half.inputs.grid_every(3)


def test_streamed_grid_gives_the_kept_grids_values_without_keeping_frames(clip):
    """technical, semantic and motion take their frames chunk by chunk during the decode (GRID_CHUNK at a
    time): no whole-video frame array, the same features as reading a kept grid; index and first frames too."""
    names = ["technical", "semantic", "motion", "nativeq"]
    streamed, kept = _analyzer(names), _analyzer(names)
    streamed.stream_grid, kept.stream_grid = True, False
    a, b = streamed.analyze(str(clip)), kept.analyze(str(clip))
    assert a.errors == {} and b.errors == {}
    assert a.inputs.frames is None and b.inputs.frames is not None
    assert set(a.inputs.grid_results) == {"technical", "semantic", "motion"}
    np.testing.assert_array_equal(a.inputs.timestamps, b.inputs.timestamps)
    for n in names:
        np.testing.assert_array_equal(a.outputs[n].pooled, b.outputs[n].pooled, err_msg=n)
        if b.outputs[n].clips is not None:
            np.testing.assert_array_equal(a.outputs[n].clips, b.outputs[n].clips, err_msg=n)
    assert a.outputs["semantic"].meta == b.outputs["semantic"].meta


def test_a_failing_grid_pass_fails_only_its_extractor(clip, monkeypatch):
    from reelscore.features.technical import TechnicalPass

    def broken(self, frames, timestamps):
        raise ValueError("broken pass")

    monkeypatch.setattr(TechnicalPass, "add", broken)
    an = _analyzer(["technical", "semantic"])
    an.stream_grid = True
    res = an.analyze(str(clip))
    assert res.ok and "broken pass" in res.errors["technical"] and "semantic" in res.outputs


def test_without_a_grid_reader_only_the_index_frames_are_decoded(clip):
    """nativeq alone reads native index frames and the first frames: the decode seeks to the index frames
    instead of walking the grid, and gives the frames a plain decode gives."""
    from reelscore.features.base import IndexFrames

    an = _analyzer(["nativeq"])
    res = an.analyze(str(clip))
    assert res.errors == {} and res.inputs.frames is None
    req = IndexFrames(an.extractors["nativeq"].cfg.frames)
    with VideoReader(clip) as r:
        times = r.frame_times()
        want = r.frames_at(times[np.linspace(0, times.size - 1, req.count).astype(int)]).frames
    np.testing.assert_array_equal(res.inputs.extra[req], want)


def test_auto_streams_only_a_grid_larger_than_the_bound(clip):
    """By default a short video keeps its (small) grid, which is cheaper; past `stream_above_bytes` it streams."""
    an = _analyzer(["technical", "semantic"])
    assert an.stream_grid is None
    assert an.analyze(str(clip)).inputs.frames is not None
    an.stream_grid = None
    an.stream_above_bytes = 1000  # smaller than this clip's grid
    res = an.analyze(str(clip))
    assert res.inputs.frames is None and set(res.inputs.grid_results) == {"technical", "semantic"}
    an.stream_above_bytes = 256 * 2**20
    assert an.keeps_grid(None, 3600.0) is False and an.keeps_grid(None, 0.5, (64, 112)) is True


@pytest.fixture(scope="module")
def bclip(tmp_path_factory):
    from reelscore.media.synth import make_clip

    # x264 "veryfast" makes B pictures nothing references: the ones a one-thread decode may skip
    return make_clip(tmp_path_factory.mktemp("skip") / "b.mp4", seconds=5.0, width=96, height=160, fps=20, seed=11)


@pytest.mark.parametrize("codec", ["h264", "libx265"])
def test_skipping_unread_pictures_returns_the_full_decodes_frames(bclip, tmp_path, codec):
    if codec != "h264":
        from reelscore.media.synth import make_clip

        bclip = make_clip(tmp_path / "b.mp4", seconds=5.0, width=96, height=160, fps=20, codec=codec, seed=12)
    grid = np.arange(0.0, 5.0, 0.5)
    with VideoReader(bclip, short_side=48, threads=1) as full:
        want = full.frames_at(grid).frames
        first_want = [a for _, a in zip(range(12), (f for _, f in VideoReader(bclip, threads=1).iter_frames()))]
        n_full = full.decoded_frames
    with VideoReader(bclip, short_side=48, threads=1) as r:
        times, packets = r.packet_table()
        assert times.size == packets.sizes.size == 100
        assert r.skip_unread(grid, first=12)
        got_first = r.tap_first(12)
        got = r.frames_at(grid).frames
        r.finish_taps()
        n_skip = r.decoded_frames
    np.testing.assert_array_equal(got, want)
    assert len(got_first) == 12 and all(np.array_equal(a, b) for (_, a), b in zip(got_first, first_want))
    assert n_skip < n_full  # some pictures were never decoded
    with VideoReader(bclip, threads=2) as r:  # frame threads: the switch would reach the decoder late
        r.packet_table()
        assert not r.can_skip and not r.skip_unread(grid)


def test_analysis_on_one_thread_skips_unread_pictures_with_the_same_outputs(bclip):
    from reelscore.features.analysis import Analyzer

    names = ["technical", "semantic", "motion", "nativeq", "bitstream"]
    outs = {}
    for flag in (False, True):
        an = Analyzer.from_names(names, threads=1)
        an.skip_unread = flag
        res = an.analyze(str(bclip))
        assert res.errors == {}, res.errors
        outs[flag] = res.outputs
    for n in names:
        np.testing.assert_array_equal(outs[True][n].pooled, outs[False][n].pooled, err_msg=n)
        if outs[False][n].clips is not None:
            np.testing.assert_array_equal(outs[True][n].clips, outs[False][n].clips, err_msg=n)
