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
