"""Shared fixtures (owned by the media area): synthetic test media made once per session.

`test_media` is make_test_media's dict name -> Path (good clips: portrait_h264,
landscape_h264, hevc, vp9_webm, rotated90, vfr, video_only, one_frame; broken ones
listed in reelscore.media.synth.EXPECTED_ERRORS). Files are tiny (64x112, 2 s).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Progress bars on stderr only clutter test output.
os.environ.setdefault("REELSCORE_NO_PROGRESS", "1")
# Tests that move REELSCORE_CACHE (to isolate stores and embedding caches) keep reading the one set of
# ONNX exports instead of exporting the networks again into every temporary cache.
if not os.environ.get("REELSCORE_MODEL_CACHE"):
    from reelscore.common.cache import model_cache_dir

    os.environ["REELSCORE_MODEL_CACHE"] = str(model_cache_dir())


def pytest_configure(config: pytest.Config) -> None:
    """Arm a whole-suite watchdog: every thread's stack on the terminal and exit 1 if the run outlives it.

    The per-test timeout cannot end a hang inside a thread the test then joins (a stuck child start once
    stalled CI silently until its 90-min limit); this ends such a run with the stacks that show where.
    """
    import faulthandler
    import sys
    import threading

    limit = float(os.environ.get("REELSCORE_TEST_SUITE_LIMIT_S", 2700))
    if limit <= 0:
        return

    def expire() -> None:
        capman = config.pluginmanager.getplugin("capturemanager")
        if capman is not None:
            capman.suspend_global_capture(in_=True)  # else the stacks would go to a capture file nobody reads
        sys.stderr.write(f"\ntest suite still running after {limit:.0f} s (REELSCORE_TEST_SUITE_LIMIT_S): "
                         "every thread's stack follows\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(limit, expire)
    timer.daemon = True
    timer.start()
    config._reelscore_watchdog = timer


def pytest_unconfigure(config: pytest.Config) -> None:
    """Disarm the watchdog once the run is over."""
    timer = getattr(config, "_reelscore_watchdog", None)
    if timer is not None:
        timer.cancel()


@pytest.fixture(scope="session")
def test_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> path of every synthetic test file (see reelscore.media.synth.make_test_media)."""
    from reelscore.media.synth import make_test_media

    return make_test_media(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def test_media_dir(test_media: dict[str, Path]) -> Path:
    """Directory holding the session's synthetic test media."""
    return next(iter(test_media.values())).parent


@pytest.fixture(scope="session")
def good_videos(test_media: dict[str, Path]) -> dict[str, Path]:
    """Only the decodable video clips of test_media."""
    from reelscore.media.synth import EXPECTED_ERRORS

    return {k: v for k, v in test_media.items() if k not in EXPECTED_ERRORS}


def _ffprobe_json(path) -> dict:
    import json
    import subprocess

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def _ffprobe_frame_times(path):
    """Sorted presentation times (s) of the video packets, read by ffprobe (independent of PyAV)."""
    import subprocess

    import numpy as np

    info = _ffprobe_json(path)
    v = [s for s in info["streams"] if s["codec_type"] == "video"][0]
    start = float(v.get("start_time", 0) or 0)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True,
    )
    vals = [x.strip(",") for x in out.stdout.split()]
    return np.sort(np.array([float(x) for x in vals if x not in ("", "N/A")])) - start


@pytest.fixture(scope="session")
def ffprobe_json():
    """Function path -> ffprobe's -show_streams -show_format JSON."""
    return _ffprobe_json


@pytest.fixture(scope="session")
def ffprobe_frame_times():
    """Function path -> sorted video frame times (s from the video stream start) according to ffprobe."""
    return _ffprobe_frame_times
