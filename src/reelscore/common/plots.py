"""PNG plotting boilerplate: pyplot on the Agg backend and atomic PNG saves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """`matplotlib.pyplot` on the Agg backend (imported on call, so importing a plotting module stays cheap)."""
    import matplotlib

    # Agg before pyplot: servers and CI have no display, and we only ever write PNG files.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: str | os.PathLike, **savefig: Any) -> Path:
    """Write `fig` to `path` as a PNG (atomically), close it, and return the path."""
    from reelscore.common.atomic import atomic_path

    path = Path(path)
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", **savefig)
    finally:
        pyplot().close(fig)  # figures are global pyplot state; a long batch would leak them
    return path
