"""`reelscore probe` and `reelscore make-test-media` through the real CLI (Typer CliRunner)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reelscore.cli import app
from reelscore.media.synth import EXPECTED_ERRORS

KEYS = ["path", "duration_s", "fps", "frames", "width", "height", "rotation", "container", "video_codec",
        "bit_rate", "has_audio", "audio_codec", "sample_rate", "channels"]
runner = CliRunner()


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_probe_good_json_exit_0(test_media):
    res = runner.invoke(app, ["probe", "--json", str(test_media["portrait_h264"]), str(test_media["rotated90"])])
    assert res.exit_code == 0, res.output
    rows = _lines(res.stdout)
    assert [list(r) for r in rows] == [KEYS, KEYS]
    assert (rows[1]["width"], rows[1]["height"], rows[1]["rotation"]) == (64, 112, 90)


def test_probe_every_broken_file_exit_1_and_good_still_printed(test_media):
    names = ["portrait_h264", *sorted(EXPECTED_ERRORS), "vfr"]
    res = runner.invoke(app, ["probe", "--json", *[str(test_media[n]) for n in names]])
    assert res.exit_code == 1
    rows = _lines(res.stdout)
    assert [r["path"] for r in rows] == [str(test_media[n]) for n in names]
    for n, r in zip(names, rows):
        if n in EXPECTED_ERRORS:
            assert set(r) == {"path", "error", "message"} and r["error"] == EXPECTED_ERRORS[n], r
        else:
            assert "error" not in r and r["frames"] > 0


def test_probe_walks_directories(test_media_dir):
    res = runner.invoke(app, ["probe", "--json", str(test_media_dir)])
    rows = _lines(res.stdout)
    names = {r["path"].rsplit("/", 1)[-1] for r in rows}
    assert {"portrait_h264.mp4", "vp9_webm.webm", "truncated.mp4"} <= names
    assert "notes.txt" not in names and "image.png" not in names  # not video files by extension
    assert res.exit_code == 1


def test_probe_missing_file_and_empty_dir(tmp_path):
    res = runner.invoke(app, ["probe", "--json", str(tmp_path / "no.mp4"), str(tmp_path)])
    assert res.exit_code == 1
    assert [r["error"] for r in _lines(res.stdout)] == ["not_found", "not_found"]


@pytest.mark.parametrize("args", [["probe"], ["probe", "--bogus", "x.mp4"]])
def test_probe_usage_error_exit_2(args):
    assert runner.invoke(app, args).exit_code == 2


def test_probe_table_and_help(test_media):
    res = runner.invoke(app, ["probe", str(test_media["hevc"]), str(test_media["corrupt"])])
    assert res.exit_code == 1
    assert "hevc" in res.stdout and "1 ok, 1 failed" in res.stdout and "corrupt" in res.stdout
    res = runner.invoke(app, ["probe", "--help"])
    assert res.exit_code == 0 and "Examples" in res.stdout


def test_make_test_media(tmp_path):
    res = runner.invoke(app, ["make-test-media", str(tmp_path / "m"), "--seconds", "1"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m" / "portrait_h264.mp4").stat().st_size > 0
    res = runner.invoke(app, ["probe", "--json", str(tmp_path / "m" / "portrait_h264.mp4")])
    assert _lines(res.stdout)[0]["duration_s"] == pytest.approx(1.0, abs=0.05)


def test_deprecated_spellings_still_work_with_a_warning(test_media):
    from typer.testing import CliRunner

    from reelscore.cli import app

    r = CliRunner().invoke(app, ["probe", str(test_media["portrait_h264"]), "--max-duration", "1"])
    assert "deprecated, use --max-duration-s" in r.output and r.exit_code == 1  # the 2-s clip is over 1 s
    r = CliRunner().invoke(app, ["probe", str(test_media["portrait_h264"]), "--max-duration-s", "60"])
    assert r.exit_code == 0 and "deprecated" not in r.output
