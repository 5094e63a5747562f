"""reelscore's cache folder (unpacked model files, text embeddings, stores made from manifests)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """$REELSCORE_CACHE (else ~/.cache/reelscore), joined with `parts`; nothing is created."""
    # `or`: an empty REELSCORE_CACHE must not turn into the current directory
    base = os.environ.get("REELSCORE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "reelscore")
    return Path(base).joinpath(*parts)


def model_cache_dir() -> Path:
    """Where unpacked and exported model files live: $REELSCORE_MODEL_CACHE, else cache_dir("models").

    Exports (ONNX files of the packaged networks, ~110 MB together) are made once per machine; a separate
    variable lets runs that move the rest of the cache (tests, sandboxes) keep reading the same exports.
    """
    return Path(os.environ["REELSCORE_MODEL_CACHE"]) if os.environ.get("REELSCORE_MODEL_CACHE") else cache_dir("models")

