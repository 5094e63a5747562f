"""Atomic file and directory writes: write to a temp sibling, then rename."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    import pandas as pd


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


# `.<name>.<pid>.<random>.tmp<suffix>`: what atomic_path / atomic_dir name their temps
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp")


def _remove_dead_writers(candidates: Iterable[Path]) -> int:
    n = 0
    for p in candidates:
        m = _TEMP_NAME.match(p.name)
        if m is None or _pid_alive(int(m["pid"])):  # a temp of a live writer is never touched
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        n += 1
    return n


def clean_stale_temps(dest: Path) -> int:
    """Remove temp siblings of `dest` left by a writer that died (killed mid-write); returns how many.

    It lists `dest`'s directory, so verbs call it once per output at their start, not on every write
    (a feature store writes thousands of rows into one directory).
    """
    dest = Path(dest)
    return _remove_dead_writers(dest.parent.glob(f".{dest.name}.*.tmp*"))


def clean_stale_temps_in(directory: Path) -> int:
    """Remove every temp in `directory` whose writer died (all outputs at once); returns how many."""
    directory = Path(directory)
    return _remove_dead_writers(directory.glob(".*.tmp*")) if directory.is_dir() else 0


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path beside `dest`; on success rename it onto `dest`, on error delete it."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sfx = suffix if suffix is not None else "".join(dest.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=f".tmp{sfx}", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp directory beside `dest`; on success replace `dest` with it."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp", dir=dest.parent))
    try:
        yield tmp
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text_atomic(dest: str | os.PathLike, text: str) -> Path:
    """Write text to `dest` atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(dest)


def write_table_atomic(df: pd.DataFrame, dest: str | os.PathLike) -> Path:
    """Write a pandas DataFrame as CSV or Parquet (by suffix) atomically."""
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        if dest.suffix.lower() == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
    return dest
