"""A server killed with SIGKILL mid-queue loses nothing: after a restart every job completes exactly once."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest

from serve_helpers import ServerProc, submit, wait_job

pytestmark = pytest.mark.timeout(400)


def _children(pid: int) -> list[int]:
    psutil = pytest.importorskip("psutil")
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pids: list[int]) -> list[int]:
    import psutil

    return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def test_sigkill_mid_queue_then_restart_completes_every_job_once(tmp_path):
    from reelscore.media.synth import make_clip

    clips = [make_clip(tmp_path / f"c{i}.mp4", 2.0, 64, 112, 15, seed=100 + i) for i in range(6)]
    data = tmp_path / "data"

    # 1) Accept-only server: every job is queued when it dies.
    srv = ServerProc(data, "--workers", "0")
    srv.start(need_workers=False)
    with httpx.Client(base_url=srv.url, timeout=30.0) as c:
        ids = []
        for i, clip in enumerate(clips):
            r = submit(c, clip, title=f"clip {i}")
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        assert c.get("/v1/health").json()["queue"]["queued"] == 6
    srv.kill()

    # 2) Restart with a worker; kill again as soon as one job is done and others are still waiting.
    srv = ServerProc(data, "--workers", "1")
    srv.start()
    workers = _children(srv.proc.pid)
    assert workers, "the server should have started a worker process"
    states: list[str] = []
    with httpx.Client(base_url=srv.url, timeout=30.0) as c:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            states = [c.get(f"/v1/jobs/{j}").json()["status"] for j in ids]
            if "done" in states:
                break
            time.sleep(0.05)
    srv.kill()
    assert "done" in states and states.count("done") < len(ids), states  # really mid-queue
    time.sleep(1.5)
    assert _alive(workers) == [], "workers must die with the server (no orphan finishing stale runs)"

    # 3) Restart: the queue resumes and finishes.
    srv.start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30.0) as c:
            jobs = [wait_job(c, j) for j in ids]
            # Re-submitting after all this still finds the earlier jobs.
            again = submit(c, clips[0], title="clip 0")
            assert again.status_code == 200 and again.json()["id"] == ids[0]
    finally:
        srv.stop()
    assert [j["status"] for j in jobs] == ["done"] * 6
    assert all(j["result"]["ok"] for j in jobs)

    con = sqlite3.connect(data / "jobs.sqlite3")
    rows = dict(con.execute("SELECT id, completions FROM jobs").fetchall())
    finals = con.execute(
        "SELECT job_id, COUNT(*) FROM events WHERE event IN ('done','failed') GROUP BY job_id").fetchall()
    stale = con.execute("SELECT COUNT(*) FROM events WHERE event='stale_finish_ignored'").fetchone()[0]
    con.close()
    assert sorted(rows) == sorted(ids) and set(rows.values()) == {1}
    assert dict(finals) == {j: 1 for j in ids}
    assert stale == 0


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_stops_cleanly_after_a_worker_was_killed_and_restarted(tmp_path, sig):
    """Kill -9 an idle worker, let the supervisor restart it, then stop the server: it exits, no job lost."""
    import os
    import signal
    import subprocess

    from reelscore.media.synth import make_clip

    clip = make_clip(tmp_path / "c.mp4", 2.0, 64, 112, 15, seed=7)
    data = tmp_path / "data"
    srv = ServerProc(data, "--workers", "1")
    srv.start()
    try:
        worker = _children(srv.proc.pid)
        assert worker
        time.sleep(1.0)  # idle: the worker sits in its wait between queue polls
        for pid in worker:
            os.kill(pid, signal.SIGKILL)
        with httpx.Client(base_url=srv.url, timeout=30.0) as c:
            deadline = time.monotonic() + 180
            h = {}
            while time.monotonic() < deadline:
                h = c.get("/v1/health").json()["workers"]
                if h["restarts"] >= 1 and h["ready"] >= 1:
                    break
                time.sleep(0.3)
            assert h["restarts"] >= 1 and h["ready"] >= 1, h
            job = submit(c, clip, title="after restart").json()["id"]
            assert wait_job(c, job)["status"] == "done"
            time.sleep(1.0)  # idle again before the stop
        srv.proc.send_signal(getattr(signal, sig))
        try:
            code = srv.proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"server still running 30 s after {sig} (shutdown hang):\n{srv.log()}")
        assert code is not None
        time.sleep(1.0)
        assert _alive(_children(srv.proc.pid)) == []
    finally:
        srv.kill()
    con = sqlite3.connect(data / "jobs.sqlite3")
    assert con.execute("SELECT status, completions FROM jobs").fetchall() == [("done", 1)]
