"""Retention of stored uploads and thumbnails: by age and by total size, never touching active jobs.

A finished job keeps its row and result (small); its upload and thumbnails are deleted once every job
that uses that upload finished more than `keep_days` ago, or, while uploads + thumbnails exceed
`max_store_gb`, the oldest such files first. An upload shared with a queued or running job, or
written in the last `min_age_s` (a re-submission may be about to use it), is never deleted.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from reelscore.serve.jobs import JobStore


@dataclass
class RetentionPolicy:
    """How long and how much the service keeps; None switches a limit off."""

    keep_days: float | None = 30.0
    max_store_gb: float | None = 20.0
    min_age_s: float = 3600.0


def _size(p: Path) -> int:
    if p.is_file():
        return p.stat().st_size
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return 0


def stored_bytes(data_dir: str | Path) -> int:
    """Bytes held by uploads and thumbnails."""
    d = Path(data_dir)
    return _size(d / "uploads") + _size(d / "frames")


def apply_retention(store: JobStore, data_dir: str | Path, policy: RetentionPolicy, now: float | None = None,
                    lock=None) -> dict:
    """Delete what the policy says may go; returns counts of files, jobs and bytes freed.

    `lock` (held by the API while it places an upload and creates its job) makes a purge and a
    re-submission of the same content never interleave.
    """
    import contextlib

    from reelscore.serve.worker import frames_dir

    guard = lock if lock is not None else contextlib.nullcontext()

    d = Path(data_dir)
    now = time.time() if now is None else now
    usage = [u for u in store.file_usage() if u["active"] == 0 and u["last_finished"] is not None]
    usage.sort(key=lambda u: u["last_finished"])
    out = {"files": 0, "jobs": 0, "bytes": 0}

    def purge(u: dict) -> None:
        path = d / u["file_path"]
        with guard:
            try:
                if path.exists() and time.time() - path.stat().st_mtime < policy.min_age_s:
                    return  # just written or refreshed by a re-submission
            except OSError:
                return
            job_ids = store.purge_file(u["file_path"])
            if job_ids is None:  # became active meanwhile
                return
            freed = _size(path)
            path.unlink(missing_ok=True)
        for j in job_ids:
            fd = frames_dir(d, j)
            freed += _size(fd)
            shutil.rmtree(fd, ignore_errors=True)
        out["files"] += 1
        out["jobs"] += len(job_ids)
        out["bytes"] += freed

    if policy.keep_days is not None:
        cutoff = now - policy.keep_days * 86400.0
        for u in [u for u in usage if u["last_finished"] < cutoff]:
            purge(u)
    if policy.max_store_gb is not None:
        cap = policy.max_store_gb * 1024**3
        remaining = [u for u in store.file_usage() if u["active"] == 0 and u["last_finished"] is not None
                     and (d / u["file_path"]).exists()]
        remaining.sort(key=lambda u: u["last_finished"])
        total = stored_bytes(d)
        for u in remaining:
            if total <= cap:
                break
            before = out["bytes"]
            purge(u)
            total -= out["bytes"] - before
    return out
