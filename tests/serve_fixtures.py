"""pytest plugin of the service tests (load with `pytest_plugins = ["serve_fixtures"]`): clips and one live server."""

from __future__ import annotations

from pathlib import Path

import pytest

from serve_helpers import ServerProc


@pytest.fixture(scope="session")
def serve_clips(tmp_path_factory) -> dict[str, Path]:
    """Small generated clips for the service tests (distinct content, so distinct jobs)."""
    from reelscore.media.synth import make_clip

    d = tmp_path_factory.mktemp("serve_clips")
    return {
        "portrait": make_clip(d / "portrait.mp4", 3.0, 64, 112, 15, seed=21),
        "landscape": make_clip(d / "landscape.mp4", 2.0, 112, 64, 15, seed=22),
        "silent": make_clip(d / "silent.mp4", 2.0, 64, 112, 15, audio=False, seed=23),
        "long": make_clip(d / "long.mp4", 8.0, 64, 112, 5, seed=24),
    }


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """One real server for the API and browser tests: 1 worker, 6 s and 1 MB limits."""
    data = tmp_path_factory.mktemp("serve_data")
    srv = ServerProc(data / "data", "--workers", "1", "--max-duration-s", "6", "--max-upload-mb", "1")
    srv.start()
    yield srv
    srv.stop()
