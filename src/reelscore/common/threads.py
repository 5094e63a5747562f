"""One thread budget for the numeric libraries of a process (OpenCV, ONNX Runtime, torch)."""

from __future__ import annotations

import os
import sys


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
