"""Child processes: how many to start, and that they do not outlive their parent."""

from __future__ import annotations

import functools
import os
import signal
import sys
from typing import Callable


@functools.lru_cache(maxsize=1)
def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_parent() -> Callable[[], None]:
    """A function that makes the calling process get SIGKILL when its parent dies (Linux PR_SET_PDEATHSIG).

    The C function is looked up here, in the parent, so the result is safe as `subprocess`'s
    `preexec_fn` (between fork and exec nothing may load a library); a no-op elsewhere.
    """
    prctl = _prctl()

    def arm() -> None:
        if prctl is not None:
            prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    return arm


WORKER_MEMORY = 2**30  # what one worker may need at its peak (`score`: ~0.75 GiB measured on 1080p clips)


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def auto_workers(n_items: int, device: str = "cpu") -> int:
    """Worker processes `score` and `extract` use when not told: one per core once there are two videos per
    core, as many as memory allows at ~1 GiB each; else 1 (a GPU run stays in one process). Separate
    processes score ~1.4x more videos per second than one process's threads on 2 cores (bench/score_bench.py)."""
    if device != "cpu" or n_items < 4:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    n = min(cores, n_items // 2)
    mem = _available_memory()
    if mem is not None:
        n = min(n, max(1, mem // WORKER_MEMORY))
    return max(1, n)
