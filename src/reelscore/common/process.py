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

    For the calling process itself (a worker arming itself at start); to start a program that dies with this
    process use `killed_with_parent`, not this as `preexec_fn`. A no-op outside Linux.
    """
    prctl = _prctl()

    def arm() -> None:
        if prctl is not None:
            prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    return arm


# Runs in a fresh interpreter (not between fork and exec, where Python code can deadlock on a lock another
# thread held at fork time): arm the death signal, give up if the parent is already gone, then become the command.
_LAUNCHER = (
    "import ctypes,os,sys\n"
    "ctypes.CDLL(None).prctl(1, 9)\n"
    "os.getppid() == int(sys.argv[1]) or os._exit(137)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def killed_with_parent(cmd: list[str]) -> list[str]:
    """`cmd` wrapped so the program gets SIGKILL when this process (the thread that starts it) dies, on Linux.

    Safe from any thread: `subprocess` then needs no `preexec_fn`, which can deadlock the child when other
    threads exist (a thread pool running several encodes). The same `cmd` elsewhere.
    """
    if _prctl() is None:
        return list(cmd)
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(os.getpid()), *map(str, cmd)]


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
