"""The persistent job queue: jobs, results and an event log in one SQLite (WAL) file.

Every state change is one short transaction, so the server process and its
worker processes can share the file. A job's run is fenced by a fresh `run_id`:
completion only counts when the run that finishes is the run the queue handed
out, which makes a restart (running -> queued) safe against stale workers.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT UNIQUE NOT NULL,
    dedup_key    TEXT UNIQUE NOT NULL,
    sha256       TEXT NOT NULL,
    file_path    TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    title        TEXT,
    description  TEXT,
    status       TEXT NOT NULL,          -- queued | running | done | failed
    stage        TEXT,
    progress     REAL NOT NULL DEFAULT 0,
    run_id       TEXT,
    worker       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    completions  INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    started_at   REAL,
    finished_at  REAL,
    info         TEXT,                   -- probe result (JSON) taken at upload
    result       TEXT,                   -- scoring result (JSON)
    error        TEXT,                   -- {"code","message"} (JSON) when failed
    frames       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status_seq ON jobs(status, seq);
CREATE TABLE IF NOT EXISTS events (
    n       INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id  TEXT NOT NULL,
    event   TEXT NOT NULL,
    run_id  TEXT,
    at      REAL NOT NULL,
    detail  TEXT
);
CREATE INDEX IF NOT EXISTS events_job ON events(job_id);
"""

ACTIVE = ("queued", "running")


@dataclass
class Job:
    """One row of the jobs table."""

    id: str
    sha256: str
    file_path: str
    size_bytes: int
    title: str | None
    description: str | None
    status: str
    stage: str | None
    progress: float
    run_id: str | None
    worker: str | None
    attempts: int
    completions: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    info: dict | None
    result: dict | None
    error: dict | None
    frames: int
    seq: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Job":
        """Build a Job from a sqlite3.Row, decoding the JSON columns."""
        d = dict(row)
        d.pop("dedup_key", None)
        for key in ("info", "result", "error"):
            d[key] = json.loads(d[key]) if d[key] else None
        return cls(**d)


def dedup_key(sha256: str, title: str | None, description: str | None) -> str:
    """The idempotency key: same file content and same texts give the same job."""
    import hashlib

    h = hashlib.sha256()
    h.update(sha256.encode())
    for text in (title, description):
        h.update(b"\x00" if text is None else b"\x01" + text.encode("utf-8"))
    return h.hexdigest()


class JobStore:
    """SQLite-backed job queue shared by the API process and worker processes."""

    def __init__(self, db_path: str | Path, busy_timeout_s: float = 30.0):
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._timeout = busy_timeout_s
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One connection per operation: cheap for SQLite, and safe across threads and forks.
        con = sqlite3.connect(self.db_path, timeout=self._timeout, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA foreign_keys=ON")
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @staticmethod
    def _event(con: sqlite3.Connection, job_id: str, event: str, run_id: str | None = None, detail: Any = None) -> None:
        con.execute(
            "INSERT INTO events(job_id, event, run_id, at, detail) VALUES (?,?,?,?,?)",
            (job_id, event, run_id, time.time(), None if detail is None else json.dumps(detail)),
        )

    # ---- submission -------------------------------------------------------
    def submit(
        self,
        sha256: str,
        file_path: str,
        size_bytes: int,
        title: str | None,
        description: str | None,
        info: dict | None,
        max_queued: int | None = None,
    ) -> tuple[Job, bool]:
        """Queue a job, or return the earlier job with the same content; (job, created)."""
        key = dedup_key(sha256, title, description)
        with self._tx() as con:
            row = con.execute("SELECT * FROM jobs WHERE dedup_key=?", (key,)).fetchone()
            if row is not None:
                job = Job.from_row(row)
                # A job that failed for a server-side reason is worth another try; a media error is not.
                # Nor is a result made while a model or extractor could not load: it is not this file's answer.
                degraded = job.status == "done" and bool((job.result or {}).get("server_problems"))
                if degraded or (job.status == "failed" and (job.error or {}).get("kind") == "internal"):
                    con.execute(
                        "UPDATE jobs SET status='queued', stage='queued', progress=0, run_id=NULL, error=NULL,"
                        " result=NULL, finished_at=NULL WHERE id=?",
                        (job.id,),
                    )
                    self._event(con, job.id, "resubmitted")
                    row = con.execute("SELECT * FROM jobs WHERE id=?", (job.id,)).fetchone()
                return Job.from_row(row), False
            if max_queued is not None:
                n = con.execute("SELECT COUNT(*) FROM jobs WHERE status='queued'").fetchone()[0]
                if n >= max_queued:
                    raise QueueFull(n)
            job_id = uuid.uuid4().hex
            con.execute(
                "INSERT INTO jobs(id, dedup_key, sha256, file_path, size_bytes, title, description, status, stage,"
                " created_at, info) VALUES (?,?,?,?,?,?,?,'queued','queued',?,?)",
                (job_id, key, sha256, file_path, size_bytes, title, description, time.time(),
                 None if info is None else json.dumps(info)),
            )
            self._event(con, job_id, "submitted")
            row = con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return Job.from_row(row), True

    # ---- worker side --------------------------------------------------------
    def claim(self, worker: str) -> Job | None:
        """Hand the oldest queued job to `worker` (status running, fresh run_id), or None."""
        with self._tx() as con:
            row = con.execute("SELECT id FROM jobs WHERE status='queued' ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                return None
            run_id = uuid.uuid4().hex
            con.execute(
                "UPDATE jobs SET status='running', stage='starting', progress=0, run_id=?, worker=?,"
                " attempts=attempts+1, started_at=? WHERE id=?",
                (run_id, worker, time.time(), row["id"]),
            )
            self._event(con, row["id"], "claimed", run_id, {"worker": worker})
            return Job.from_row(con.execute("SELECT * FROM jobs WHERE id=?", (row["id"],)).fetchone())

    def set_stage(self, job_id: str, run_id: str, stage: str, progress: float) -> bool:
        """Record a running job's stage; False when the run is no longer current."""
        with self._connect() as con:
            cur = con.execute(
                "UPDATE jobs SET stage=?, progress=? WHERE id=? AND run_id=? AND status='running'",
                (stage, float(progress), job_id, run_id),
            )
            return cur.rowcount == 1

    def finish(self, job_id: str, run_id: str, result: dict | None, error: dict | None, frames: int = 0) -> bool:
        """Store the outcome of run `run_id`; ignored (False) if that run was superseded."""
        status = "failed" if error is not None else "done"
        with self._tx() as con:
            cur = con.execute(
                "UPDATE jobs SET status=?, stage=?, progress=1, result=?, error=?, frames=?, finished_at=?,"
                " completions=completions+1 WHERE id=? AND run_id=? AND status='running'",
                (status, status, None if result is None else json.dumps(result),
                 None if error is None else json.dumps(error), frames, time.time(), job_id, run_id),
            )
            if cur.rowcount != 1:
                self._event(con, job_id, "stale_finish_ignored", run_id)
                return False
            self._event(con, job_id, status, run_id)
            return True

    def requeue_run(self, job_id: str, run_id: str, reason: str, max_attempts: int) -> str | None:
        """Put back a run whose worker died; fail it after `max_attempts`. Returns the new status."""
        with self._tx() as con:
            row = con.execute("SELECT * FROM jobs WHERE id=? AND run_id=? AND status='running'", (job_id, run_id)).fetchone()
            if row is None:
                return None
            if row["attempts"] >= max_attempts:
                err = {"code": "worker_crashed", "kind": "internal",
                       "message": f"the worker died {row['attempts']} times on this file ({reason})"}
                con.execute(
                    "UPDATE jobs SET status='failed', stage='failed', error=?, finished_at=?,"
                    " completions=completions+1 WHERE id=?",
                    (json.dumps(err), time.time(), job_id),
                )
                self._event(con, job_id, "failed", run_id, err)
                return "failed"
            con.execute("UPDATE jobs SET status='queued', stage='queued', progress=0, run_id=NULL WHERE id=?", (job_id,))
            self._event(con, job_id, "requeued", run_id, {"reason": reason})
            return "queued"

    def running_of(self, worker: str) -> list[Job]:
        """Jobs currently running on `worker`."""
        with self._connect() as con:
            rows = con.execute("SELECT * FROM jobs WHERE status='running' AND worker=?", (worker,)).fetchall()
        return [Job.from_row(r) for r in rows]

    def recover(self) -> int:
        """At server start: every running job belongs to a dead process; queue it again."""
        with self._tx() as con:
            rows = con.execute("SELECT id, run_id FROM jobs WHERE status='running'").fetchall()
            for r in rows:
                self._event(con, r["id"], "requeued", r["run_id"], {"reason": "server restart"})
            con.execute("UPDATE jobs SET status='queued', stage='queued', progress=0, run_id=NULL WHERE status='running'")
        return len(rows)

    # ---- reading -------------------------------------------------------------
    def file_usage(self) -> list[dict]:
        """Per stored upload: how many jobs use it, how many are active, when the last one finished."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT file_path, count(*) AS jobs, sum(CASE WHEN status IN ('queued','running') THEN 1 ELSE 0 END)"
                " AS active, max(finished_at) AS last_finished FROM jobs GROUP BY file_path").fetchall()
        return [dict(r) for r in rows]

    def purge_file(self, file_path: str) -> list[str] | None:
        """Mark the finished jobs of an upload as purged (no thumbnails); None if one of them is active."""
        with self._tx() as con:
            rows = con.execute("SELECT id, status FROM jobs WHERE file_path=?", (file_path,)).fetchall()
            if any(r["status"] in ACTIVE for r in rows):
                return None
            con.execute("UPDATE jobs SET frames=0 WHERE file_path=?", (file_path,))
            for r in rows:
                self._event(con, r["id"], "purged", detail={"file": file_path})
        return [r["id"] for r in rows]

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else Job.from_row(row)

    def queue_position(self, job: Job) -> int | None:
        """How many queued jobs are ahead of this one (0 = next), None if not queued."""
        if job.status != "queued":
            return None
        with self._connect() as con:
            return con.execute("SELECT COUNT(*) FROM jobs WHERE status='queued' AND seq<?", (job.seq,)).fetchone()[0]

    def counts(self) -> dict[str, int]:
        """Number of jobs per status."""
        with self._connect() as con:
            rows = con.execute("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status").fetchall()
        out = {s: 0 for s in ("queued", "running", "done", "failed")}
        out.update({r["status"]: r["n"] for r in rows})
        return out

    def events(self, job_id: str | None = None) -> list[dict]:
        """The event log, for one job or all."""
        with self._connect() as con:
            if job_id is None:
                rows = con.execute("SELECT * FROM events ORDER BY n").fetchall()
            else:
                rows = con.execute("SELECT * FROM events WHERE job_id=? ORDER BY n", (job_id,)).fetchall()
        return [dict(r) for r in rows]


class QueueFull(Exception):
    """The queue holds its maximum number of waiting jobs."""

    def __init__(self, queued: int):
        super().__init__(f"the queue is full ({queued} jobs waiting); try again later")
        self.queued = queued
