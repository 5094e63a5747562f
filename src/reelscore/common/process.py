"""Child processes that do not outlive their parent."""

from __future__ import annotations

import functools
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
