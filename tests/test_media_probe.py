"""probe(): fields agree with ffprobe on every good clip; every broken file gets its own error code."""

from __future__ import annotations

import pytest

from reelscore.media import CODES, MediaError, MediaLimits, VideoInfo, probe
from reelscore.media.synth import EXPECTED_ERRORS

GOOD = ["portrait_h264", "landscape_h264", "hevc", "vp9_webm", "rotated90", "vfr", "video_only", "one_frame"]
KEYS = ["path", "duration_s", "fps", "frames", "width", "height", "rotation", "container", "video_codec",
        "bit_rate", "has_audio", "audio_codec", "sample_rate", "channels"]


def _fps(rate: str) -> float:
    num, den = rate.split("/")
    return float(num) / float(den)


@pytest.mark.parametrize("name", GOOD)
def test_probe_matches_ffprobe(test_media, ffprobe_json, name):
    path = test_media[name]
    info = probe(path)
    ref = ffprobe_json(path)
    v = [s for s in ref["streams"] if s["codec_type"] == "video"][0]
    audio = [s for s in ref["streams"] if s["codec_type"] == "audio"]
    rot = 0
    for sd in v.get("side_data_list", []):
        if "rotation" in sd:
            rot = int(sd["rotation"]) % 360
    assert info.rotation == rot
    w, h = (v["height"], v["width"]) if rot in (90, 270) else (v["width"], v["height"])
    assert (info.width, info.height) == (w, h)
    assert abs(info.duration_s - float(ref["format"]["duration"])) <= 0.05
    assert info.fps == pytest.approx(_fps(v["avg_frame_rate"]), rel=1e-6)
    if "nb_frames" in v:
        assert info.frames == int(v["nb_frames"])
    assert info.video_codec == v["codec_name"]
    assert info.container == ref["format"]["format_name"]
    assert info.bit_rate == pytest.approx(int(ref["format"]["bit_rate"]), rel=0.05)
    assert info.has_audio == bool(audio)
    if audio:
        assert info.audio_codec == audio[0]["codec_name"]
        assert info.sample_rate == int(audio[0]["sample_rate"])
        assert info.channels == int(audio[0]["channels"])
    else:
        assert (info.audio_codec, info.sample_rate, info.channels) == (None, None, None)
    assert list(info.to_dict()) == KEYS


def test_displayed_sizes(test_media):
    assert (probe(test_media["portrait_h264"]).width, probe(test_media["portrait_h264"]).height) == (64, 112)
    assert (probe(test_media["landscape_h264"]).width, probe(test_media["landscape_h264"]).height) == (112, 64)
    rot = probe(test_media["rotated90"])
    assert (rot.width, rot.height, rot.rotation, rot.stored_size) == (64, 112, 90, (112, 64))


def test_estimated_frames_without_container_count(test_media):
    # WebM stores no frame count: frames = round(duration * fps).
    info = probe(test_media["vp9_webm"])
    assert info.frames == 30 and info.fps == 15.0


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_broken_files_get_the_right_code(test_media, name):
    path = test_media[name]
    with pytest.raises(MediaError) as ei:
        probe(path)
    err = ei.value
    assert err.code == EXPECTED_ERRORS[name]
    assert err.path == str(path)
    assert str(err) == f"{path}: {err.code}: {err.message}"
    assert err.message


def test_not_found_and_directory(tmp_path):
    with pytest.raises(MediaError) as ei:
        probe(tmp_path / "nope.mp4")
    assert ei.value.code == "not_found"
    with pytest.raises(MediaError) as ei:
        probe(tmp_path)
    assert ei.value.code == "not_a_video"


@pytest.mark.parametrize(
    "limits",
    [MediaLimits(max_file_bytes=1000), MediaLimits(max_pixels=64 * 100), MediaLimits(max_duration_s=1.5)],
)
def test_limits(test_media, limits):
    with pytest.raises(MediaError) as ei:
        probe(test_media["portrait_h264"], limits)
    assert ei.value.code == "too_large"


def test_limits_off():
    lim = MediaLimits(max_file_bytes=None, max_pixels=None, max_duration_s=None)
    assert lim.max_pixels is None


def test_error_codes_are_the_contract():
    assert set(CODES) == {"not_found", "not_a_video", "no_video_stream", "no_audio_stream", "corrupt",
                          "truncated", "zero_duration", "too_large", "unsupported_codec"}
    with pytest.raises(ValueError):
        MediaError("bogus", "x", "y")
    assert list(VideoInfo.__dataclass_fields__) == [
        "path", "duration_s", "fps", "frames", "width", "height", "rotation", "container", "video_codec",
        "bit_rate", "has_audio", "audio_codec", "sample_rate", "channels",
    ]


def test_media_error_survives_pickling():
    import pickle

    err = pickle.loads(pickle.dumps(MediaError("truncated", "/x/y.mp4", "cut short")))
    assert (err.code, err.path, err.message, str(err)) == ("truncated", "/x/y.mp4", "cut short",
                                                            "/x/y.mp4: truncated: cut short")
