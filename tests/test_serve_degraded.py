"""A worker that cannot load a model says so on /v1/health, and its results are re-scored on re-submission."""

from __future__ import annotations

import httpx

from serve_helpers import ServerProc, submit, wait_job


def test_missing_model_makes_health_degraded_and_marks_results(tmp_path):
    from reelscore.media.synth import make_clip

    clip = make_clip(tmp_path / "clip.mp4", 2.0, 64, 112, 15, seed=5)
    server = ServerProc(tmp_path / "data", "--workers", "1", "--quality-model", str(tmp_path / "no-such-model"))
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30.0) as c:
            h = c.get("/v1/health").json()
            assert h["status"] == "degraded"
            (problems,) = h["workers"]["problems"].values()
            assert "no-such-model" in problems["quality"]
            job = submit(c, clip, title="a title").json()
            done = wait_job(c, job["id"])
            assert done["status"] == "done"
            assert "quality" in done["result"]["server_problems"]
            assert done["result"]["scores"]["mos"]["value"] is None
            # the same upload again is queued for a fresh score, not answered with the degraded result
            again = submit(c, clip, title="a title")
            assert again.json()["id"] == job["id"]
            assert again.json()["status"] == "queued"
    finally:
        server.stop()
