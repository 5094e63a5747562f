"""Worker processes: each loads the scoring models once, then takes jobs from the SQLite queue.

Workers are separate processes so that a decoder crash or a stuck model cannot
take the HTTP server down, and so that scoring runs beside the event loop, not
inside it. The pool supervises them: a dead worker's job goes back to the queue
(or fails after `max_attempts`), and the worker is started again.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
import traceback
from pathlib import Path

from reelscore.common.atomic import write_text_atomic
from reelscore.serve.jobs import JobStore

log = logging.getLogger("reelscore.serve")

IDLE_POLL_S = 0.2


def _die_with_parent(parent_pid: int) -> None:
    """Make this process exit when the server dies, even by SIGKILL, so no orphan finishes a stale run."""
    from reelscore.common.process import die_with_parent

    die_with_parent()()

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(3)


def frames_dir(data_dir: str | Path, job_id: str) -> Path:
    """Where a job's thumbnails live."""
    return Path(data_dir) / "frames" / job_id


def extract_thumbnails(path: str | Path, out_dir: Path, n: int = 4, short_side: int = 240) -> int:
    """Write up to `n` JPEG frames spread over the video as 0.jpg..; returns how many were written."""
    import numpy as np
    from PIL import Image

    from reelscore.common.atomic import atomic_path
    from reelscore.media.samplers import spread_frames

    sample = spread_frames(path, n=n, short_side=short_side)
    out_dir.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(sample.frames):
        with atomic_path(out_dir / f"{k}.jpg") as tmp:
            Image.fromarray(np.ascontiguousarray(frame)).save(tmp, format="JPEG", quality=85)
    return len(sample.frames)


def run_job(store: JobStore, scorer, job, data_dir: Path, n_frames: int) -> None:
    """Score one claimed job and store its outcome (fenced by the job's run_id)."""
    run_id = job.run_id

    def on_stage(stage: str, frac: float) -> None:
        store.set_stage(job.id, run_id, stage, 0.05 + 0.85 * frac)

    store.set_stage(job.id, run_id, "scoring", 0.05)
    try:
        result = scorer.score(Path(data_dir) / job.file_path, title=job.title, description=job.description,
                              video_id=job.id, on_stage=on_stage)
        result["path"] = job.file_path  # the server's name, relative to the data dir
        if scorer.problems:  # marks the result as made by a degraded worker: re-submission re-scores it
            result["server_problems"] = dict(scorer.problems)
    except Exception as exc:  # a bug, not a media problem: keep the worker alive, fail this job
        log.error("job %s: scoring raised\n%s", job.id, traceback.format_exc())
        store.finish(job.id, run_id, None, {"code": "internal", "kind": "internal",
                                            "message": f"scoring failed: {type(exc).__name__}: {exc}"})
        return
    if not result.get("ok"):
        err = dict(result.get("error") or {})
        err.setdefault("kind", "media")
        err.pop("path", None)
        store.finish(job.id, run_id, result, err)
        return
    frames = 0
    if n_frames > 0:
        store.set_stage(job.id, run_id, "thumbnails", 0.92)
        try:
            frames = extract_thumbnails(Path(data_dir) / job.file_path, frames_dir(data_dir, job.id), n_frames)
        except Exception as exc:  # thumbnails are a convenience; the scores stand without them
            log.warning("job %s: thumbnails failed: %s", job.id, exc)
            result.setdefault("unavailable", {})["frames"] = f"thumbnail extraction failed: {exc}"
    store.finish(job.id, run_id, result, None, frames=frames)


def worker_main(db_path: str, data_dir: str, name: str, parent_pid: int, threads: int, n_frames: int,
                ready, stop, score_config: dict | None = None) -> None:
    """Entry point of a worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which stops us in order
    _die_with_parent(parent_pid)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name} %(levelname)s %(message)s")
    from reelscore.common.threads import set_compute_threads

    set_compute_threads(threads)
    from reelscore.scoring import ScoreConfig, Scorer

    scorer = Scorer(ScoreConfig(**(score_config or {})))
    scorer.load()  # models once per worker, before taking any job
    if scorer.problems:
        log.error("worker %s: loaded with problems: %s", name, scorer.problems)
    write_text_atomic(worker_state_path(data_dir, name), json.dumps({"pid": os.getpid(), "problems": scorer.problems}))
    store = JobStore(db_path)
    ready.value = 1
    while not stop.value:
        job = store.claim(name)
        if job is None:
            time.sleep(IDLE_POLL_S)
            continue
        log.info("job %s: start (attempt %d)", job.id, job.attempts)
        t0 = time.perf_counter()
        run_job(store, scorer, job, Path(data_dir), n_frames)
        log.info("job %s: end in %.2f s", job.id, time.perf_counter() - t0)


def worker_state_path(data_dir: str | os.PathLike, name: str) -> Path:
    """Where a worker records what it could not load (read by /v1/health)."""
    return Path(data_dir) / "workers" / f"{name}.json"


class WorkerPool:
    """N worker processes plus a supervisor thread that requeues the jobs of dead workers."""

    def __init__(self, store: JobStore, data_dir: Path, workers: int = 1, max_attempts: int = 3, n_frames: int = 4,
                 score_config: dict | None = None):
        self.store = store
        self.data_dir = Path(data_dir)
        self.n = max(1, int(workers))
        self.max_attempts = max_attempts
        self.n_frames = n_frames
        self.score_config = dict(score_config or {})
        self._ctx = mp.get_context("spawn")  # no fork of a threaded server holding sockets and torch state
        # Lock-free shared flags, not multiprocessing.Event: a worker killed inside Event.wait() leaves the
        # Event's condition counting a sleeper that never wakes, and the next set() waits for it forever.
        self._stop = self._ctx.RawValue("b", 0)
        self._procs: dict[str, tuple[mp.process.BaseProcess, object]] = {}
        self._lock = threading.Lock()
        self._sup: threading.Thread | None = None
        self._stopping = threading.Event()
        self.restarts = 0
        self.threads = max(1, (os.cpu_count() or 1) // self.n)

    def _spawn(self, name: str) -> None:
        ready = self._ctx.RawValue("b", 0)
        p = self._ctx.Process(
            target=worker_main,
            args=(str(self.store.db_path), str(self.data_dir), name, os.getpid(), self.threads, self.n_frames,
                  ready, self._stop, self.score_config),
            name=name,
            daemon=True,
        )
        p.start()
        self._procs[name] = (p, ready)

    def start(self) -> None:
        """Start the workers and the supervisor (from the thread that lives as long as the server)."""
        with self._lock:
            for i in range(self.n):
                self._spawn(f"worker-{i}")
        self._sup = threading.Thread(target=self._supervise, daemon=True, name="pool-supervisor")
        self._sup.start()

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            with self._lock:
                for name, (p, _ready) in list(self._procs.items()):
                    if p.is_alive() or self._stopping.is_set():
                        continue
                    reason = f"worker exited with code {p.exitcode}"
                    for job in self.store.running_of(name):
                        status = self.store.requeue_run(job.id, job.run_id, reason, self.max_attempts)
                        log.warning("job %s: %s; job is now %s", job.id, reason, status)
                    self.restarts += 1
                    self._spawn(name)

    def status(self) -> dict:
        """Alive and ready workers."""
        with self._lock:
            procs_named = list(self._procs.items())
        procs = [v for _, v in procs_named]
        problems: dict[str, dict] = {}
        for name, (p, r) in procs_named:
            if not (p.is_alive() and r.value):
                continue
            try:
                state = json.loads(worker_state_path(self.data_dir, name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if state.get("problems"):
                problems[name] = state["problems"]
        return {
            "workers": self.n,
            "alive": sum(p.is_alive() for p, _ in procs),
            "ready": sum(bool(p.is_alive() and r.value) for p, r in procs),
            "restarts": self.restarts,
            "problems": problems,
        }

    def pids(self) -> list[int]:
        """Process ids of the workers."""
        with self._lock:
            return [p.pid for p, _ in self._procs.values() if p.pid is not None]

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask workers to stop after their current job; kill the slow ones and requeue what they held."""
        self._stopping.set()
        self._stop.value = 1
        deadline = time.monotonic() + timeout_s
        with self._lock:
            procs = dict(self._procs)
        for _name, (p, _) in procs.items():
            p.join(max(0.0, deadline - time.monotonic()))
        for name, (p, _) in procs.items():
            if p.is_alive():
                p.kill()
                p.join(2.0)
            for job in self.store.running_of(name):
                # A stop is not the file's fault: requeue whatever the attempt count.
                self.store.requeue_run(job.id, job.run_id, "server stopped", max_attempts=10**9)
