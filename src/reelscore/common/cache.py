"""reelscore's cache folder (unpacked model files, text embeddings, stores made from manifests)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """$REELSCORE_CACHE (else ~/.cache/reelscore), joined with `parts`; nothing is created."""
    # `or`: an empty REELSCORE_CACHE must not turn into the current directory
    base = os.environ.get("REELSCORE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "reelscore")
    return Path(base).joinpath(*parts)
