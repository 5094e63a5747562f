"""The synthetic media helper writes what it claims (checked with ffprobe, independent of our probe)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from reelscore.media.synth import EXPECTED_ERRORS, draw_frame, make_clip, read_frame_index


def _ffprobe(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True,
    )
    return out.returncode, json.loads(out.stdout or "{}")


def test_standard_set_has_every_kind(test_media):
    for name in ["portrait_h264", "landscape_h264", "hevc", "vp9_webm", "rotated90", "vfr",
                 "audio_only", "video_only", "one_frame", "truncated", "corrupt", "empty", "zero_duration"]:
        assert test_media[name].exists(), name
    assert set(EXPECTED_ERRORS) <= set(test_media)


@pytest.mark.parametrize(
    "name,codec,w,h",
    [("portrait_h264", "h264", 64, 112), ("landscape_h264", "h264", 112, 64), ("hevc", "hevc", 64, 112),
     ("vp9_webm", "vp9", 64, 112), ("rotated90", "h264", 112, 64)],
)
def test_codecs_and_stored_sizes(test_media, name, codec, w, h):
    rc, info = _ffprobe(test_media[name])
    assert rc == 0
    v = [s for s in info["streams"] if s["codec_type"] == "video"][0]
    assert (v["codec_name"], v["width"], v["height"]) == (codec, w, h)
    assert any(s["codec_type"] == "audio" for s in info["streams"])


def test_rotation_flag_seen_by_ffprobe(test_media):
    _, info = _ffprobe(test_media["rotated90"])
    v = [s for s in info["streams"] if s["codec_type"] == "video"][0]
    rot = [sd.get("rotation") for sd in v.get("side_data_list", []) if "rotation" in sd]
    assert rot and int(rot[0]) % 360 == 90


def test_vfr_has_irregular_frame_intervals(test_media):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
         "-of", "csv=p=0", str(test_media["vfr"])], capture_output=True, text=True, check=True,
    )
    pts = np.sort([float(x) for x in out.stdout.split()])
    gaps = np.round(np.diff(pts), 4)
    assert len(set(gaps.tolist())) >= 2


def test_broken_files_really_are_broken(test_media):
    assert test_media["empty"].stat().st_size == 0
    for name in ["corrupt", "truncated_moov"]:
        rc, _ = _ffprobe(test_media[name])
        assert rc != 0, name
    _, info = _ffprobe(test_media["audio_only"])
    assert [s["codec_type"] for s in info["streams"]] == ["audio"]


def test_bar_code_round_trips():
    for i in [0, 1, 77, 128, 255, 256 + 9]:
        assert read_frame_index(draw_frame(i, 0.1, 64, 112, 1.0)) == i % 256


def test_make_clip_custom(tmp_path):
    p = make_clip(tmp_path / "c.mp4", seconds=1.0, width=96, height=64, fps=10, audio=False, seed=3)
    rc, info = _ffprobe(p)
    assert rc == 0 and len(info["streams"]) == 1
    assert abs(float(info["format"]["duration"]) - 1.0) < 0.05
