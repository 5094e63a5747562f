"""Progress bars for long verbs (rich), quiet when not attached to a terminal or asked."""

from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, TypeVar

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")


def make_progress(disable: bool | None = None) -> Progress:
    """A rich Progress with count, rate-friendly columns and ETA, writing to stderr."""
    from rich.console import Console

    if disable is None:
        disable = os.environ.get("REELSCORE_NO_PROGRESS") == "1"
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        disable=disable,
    )


def track(items: Iterable[T], description: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate with a progress bar showing count, rate (unit/s) and ETA."""
    import time

    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    with make_progress() as prog:
        task = prog.add_task(description, total=total, rate="")
        for n, item in enumerate(items, 1):
            yield item
            dt = time.perf_counter() - t0
            prog.update(task, advance=1, rate=f"{n / dt:.2f} {unit}/s" if dt > 0 else "")
