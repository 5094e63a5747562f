"""Expand command-line inputs into media files: files as given, directories walked for videos."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

from reelscore.media.sniff import VIDEO_EXTENSIONS


def find_videos(
    paths: Iterable[str | os.PathLike], extensions: Iterable[str] = VIDEO_EXTENSIONS, recursive: bool = True
) -> Iterator[Path]:
    """Yield each path; for a directory, its video files (by extension) in sorted order, recursively unless told not to.

    Paths given explicitly are yielded whatever their type (probe then says why a file is
    unusable); hidden files inside directories are skipped.
    """
    exts = {e.lower() for e in extensions}
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
                for name in sorted(files):
                    if not name.startswith(".") and Path(name).suffix.lower() in exts:
                        yield Path(root) / name
        else:
            yield p
