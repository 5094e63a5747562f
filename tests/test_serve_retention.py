"""Retention: uploads and thumbnails of finished jobs go by age and by total size; active jobs and results stay."""

from __future__ import annotations

import time

from reelscore.serve.jobs import JobStore
from reelscore.serve.retention import RetentionPolicy, apply_retention


def _job(store: JobStore, d, name: str, size: int, finished_ago_s: float | None, title: str = "t"):
    up = d / "uploads" / f"{name}.mp4"
    up.parent.mkdir(parents=True, exist_ok=True)
    up.write_bytes(b"x" * size)
    old = time.time() - 10 * 86400
    import os

    os.utime(up, (old, old))  # written long ago
    job, _ = store.submit(name, f"uploads/{name}.mp4", size, title, None, {}, max_queued=100)
    if finished_ago_s is not None:
        run = store.claim("w")
        store.finish(run.id, run.run_id, {"ok": True, "scores": {}}, None, frames=2)
        fr = d / "frames" / run.id
        fr.mkdir(parents=True, exist_ok=True)
        (fr / "0.jpg").write_bytes(b"j" * 100)
        with store._tx() as con:
            con.execute("UPDATE jobs SET finished_at=? WHERE id=?", (time.time() - finished_ago_s, run.id))
    return job


def test_age_limit_keeps_active_jobs_and_results(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    old = _job(store, tmp_path, "old", 1000, finished_ago_s=40 * 86400)
    recent = _job(store, tmp_path, "recent", 1000, finished_ago_s=3600)
    queued = _job(store, tmp_path, "queued", 1000, finished_ago_s=None)
    out = apply_retention(store, tmp_path, RetentionPolicy(keep_days=30, max_store_gb=None))
    assert out["files"] == 1 and out["jobs"] == 1 and out["bytes"] == 1100
    assert not (tmp_path / "uploads" / "old.mp4").exists() and not (tmp_path / "frames" / old.id).exists()
    assert (tmp_path / "uploads" / "recent.mp4").exists() and (tmp_path / "uploads" / "queued.mp4").exists()
    kept = store.get(old.id)
    assert kept.status == "done" and kept.result == {"ok": True, "scores": {}} and kept.frames == 0
    assert store.get(queued.id).status == "queued" and store.get(recent.id).frames == 2


def test_size_limit_removes_oldest_first_and_never_a_shared_active_upload(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    _job(store, tmp_path, "a", 4000, finished_ago_s=5 * 3600)
    _job(store, tmp_path, "b", 4000, finished_ago_s=3 * 3600)
    _job(store, tmp_path, "c", 4000, finished_ago_s=1 * 3600)
    # another job on the same upload as "c" is still queued: "c" must stay whatever its age
    store.submit("c", "uploads/c.mp4", 4000, "other title", None, {}, max_queued=100)
    out = apply_retention(store, tmp_path, RetentionPolicy(keep_days=None, max_store_gb=6000 / 1024**3))
    assert not (tmp_path / "uploads" / "a.mp4").exists() and not (tmp_path / "uploads" / "b.mp4").exists()
    assert (tmp_path / "uploads" / "c.mp4").exists() and out["files"] == 2


def test_fresh_upload_is_not_deleted(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    _job(store, tmp_path, "r", 500, finished_ago_s=40 * 86400)
    (tmp_path / "uploads" / "r.mp4").touch()  # just re-submitted: the API refreshed it
    assert apply_retention(store, tmp_path, RetentionPolicy(keep_days=1, max_store_gb=None))["files"] == 0
