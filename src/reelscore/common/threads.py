"""One thread budget for the numeric libraries of a process (OpenCV, ONNX Runtime, torch)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable, Iterator


def set_compute_threads(n: int) -> None:
    """Give OpenCV, ONNX Runtime sessions made later, and torch `n` threads, without importing torch.

    torch costs ~1.5 s to import and the default scoring path does not need it: OMP_NUM_THREADS is
    what torch reads when it is imported later, and what reelscore's ONNX sessions read.
    """
    import cv2

    n = max(1, int(n))
    os.environ["OMP_NUM_THREADS"] = str(n)
    cv2.setNumThreads(n)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)


def compute_threads() -> int:
    """This process's thread budget: OMP_NUM_THREADS when set (set_compute_threads sets it), else its cores."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def opencv_map(min_items: int = 2) -> Iterator[Callable]:
    """A `map` over OpenCV's thread budget (`cv2.getNumThreads()`), for per-frame work that releases the GIL.

    Yields the built-in `map` on one thread, else a thread pool's ordered `map`; results are those of a
    plain loop. Calls with fewer than `min_items` items run inline (a pool is not worth starting).
    """
    import cv2

    threads = max(1, cv2.getNumThreads())
    if threads == 1:
        yield map
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as ex:
        def run(fn, *items):
            return ex.map(fn, *items) if len(items[0]) >= min_items else map(fn, *items)
        yield run


def cpu_session(path, threads: int = 1):
    """An ONNX Runtime CPU session of the model file at `path` with `threads` intra-op threads (one inter-op)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
