"""The SQLite job queue: idempotent submission, ordered claims, fenced completion, recovery."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from reelscore.serve.jobs import JobStore, QueueFull


def _submit(store: JobStore, sha: str, title: str | None = None, **kw):
    return store.submit(sha, f"uploads/{sha}.mp4", 10, title, None, {"duration_s": 2.0}, **kw)


def test_submit_is_idempotent_on_content_and_texts(tmp_path):
    store = JobStore(tmp_path / "q.sqlite3")
    a, created_a = _submit(store, "aa", "t")
    b, created_b = _submit(store, "aa", "t")
    c, created_c = _submit(store, "aa", "other title")
    assert created_a and not created_b and created_c
    assert a.id == b.id != c.id
    assert store.counts()["queued"] == 2


def test_claims_are_fifo_and_exclusive(tmp_path):
    store = JobStore(tmp_path / "q.sqlite3")
    ids = [_submit(store, f"{i:02d}")[0].id for i in range(3)]
    first = store.claim("w0")
    second = store.claim("w1")
    assert [first.id, second.id] == ids[:2]
    assert first.status == "running" and first.attempts == 1 and first.run_id
    assert store.queue_position(store.get(ids[2])) == 0
    assert store.claim("w0").id == ids[2]
    assert store.claim("w0") is None


def test_finish_is_fenced_by_run_id(tmp_path):
    store = JobStore(tmp_path / "q.sqlite3")
    job, _ = _submit(store, "aa")
    run1 = store.claim("w0")
    assert store.recover() == 1  # the server restarted: run1 is orphaned
    run2 = store.claim("w1")
    assert run2.run_id != run1.run_id and run2.attempts == 2
    assert not store.finish(job.id, run1.run_id, {"ok": True, "who": "stale"}, None)
    assert store.finish(job.id, run2.run_id, {"ok": True, "who": "current"}, None, frames=2)
    assert not store.finish(job.id, run2.run_id, {"ok": True, "who": "again"}, None)
    done = store.get(job.id)
    assert done.status == "done" and done.completions == 1 and done.result["who"] == "current" and done.frames == 2
    events = [e["event"] for e in store.events(job.id)]
    assert events.count("done") == 1 and "stale_finish_ignored" in events


def test_crashed_runs_requeue_then_fail(tmp_path):
    store = JobStore(tmp_path / "q.sqlite3")
    job, _ = _submit(store, "aa")
    for attempt in (1, 2):
        run = store.claim("w0")
        assert store.running_of("w0")[0].id == job.id
        assert store.requeue_run(job.id, run.run_id, "segfault", max_attempts=3) == "queued"
    run = store.claim("w0")
    assert run.attempts == 3
    assert store.requeue_run(job.id, run.run_id, "segfault", max_attempts=3) == "failed"
    failed = store.get(job.id)
    assert failed.status == "failed" and failed.error["code"] == "worker_crashed" and failed.completions == 1


def test_internal_failures_can_be_resubmitted_media_errors_cannot(tmp_path):
    store = JobStore(tmp_path / "q.sqlite3")
    a, _ = _submit(store, "aa")
    b, _ = _submit(store, "bb")
    ra, rb = store.claim("w"), store.claim("w")
    store.finish(a.id, ra.run_id, None, {"code": "internal", "kind": "internal", "message": "bug"})
    store.finish(b.id, rb.run_id, {"ok": False}, {"code": "corrupt", "kind": "media", "message": "bad"})
    again_a, created = _submit(store, "aa")
    again_b, _ = _submit(store, "bb")
    assert not created and again_a.id == a.id and again_a.status == "queued"
    assert again_b.status == "failed"


def test_queue_bound(tmp_path):
    store = JobStore(tmp_path / "q.sqlite3")
    _submit(store, "aa", max_queued=2)
    _submit(store, "bb", max_queued=2)
    with pytest.raises(QueueFull):
        _submit(store, "cc", max_queued=2)
    assert _submit(store, "aa", max_queued=2)[1] is False  # a duplicate is no new load


def _claim_all(db: str, name: str, out) -> None:
    store = JobStore(db)
    got = []
    while (job := store.claim(name)) is not None:
        got.append(job.id)
        store.finish(job.id, job.run_id, {"ok": True}, None)
    out.put(got)


def test_concurrent_processes_never_share_a_job(tmp_path):
    db = tmp_path / "q.sqlite3"
    store = JobStore(db)
    ids = {_submit(store, f"{i:03d}")[0].id for i in range(60)}
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(str(db), f"w{i}", out)) for i in range(3)]
    for p in procs:
        p.start()
    got = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    flat = [j for g in got for j in g]
    assert sorted(flat) == sorted(ids)  # every job once, none twice
    assert store.counts()["done"] == 60
    assert all(store.get(j).completions == 1 for j in ids)


def test_results_made_by_a_degraded_worker_are_rescored_on_resubmission(tmp_path):
    store = JobStore(tmp_path / "q.sqlite3")
    a, _ = _submit(store, "aa")
    b, _ = _submit(store, "bb")
    ra, rb = store.claim("w"), store.claim("w")
    store.finish(a.id, ra.run_id, {"ok": True, "server_problems": {"quality": "model failed to load"}}, None)
    store.finish(b.id, rb.run_id, {"ok": True}, None)
    again_a, created_a = _submit(store, "aa")
    again_b, _ = _submit(store, "bb")
    assert not created_a and again_a.id == a.id
    assert again_a.status == "queued" and again_a.result is None
    assert again_b.status == "done" and again_b.result == {"ok": True}
