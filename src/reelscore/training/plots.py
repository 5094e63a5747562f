"""Learning-curve PNGs (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


def plot_curve(
    path: str | Path,
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    xlabel: str,
    title: str,
    right: dict[str, Sequence[float]] | None = None,
    right_label: str = "",
) -> Path:
    """Write a line plot of `series` over `x` (and optional second-axis series) as a PNG, atomically."""
    from reelscore.common.plots import pyplot, save_png

    fig, ax = pyplot().subplots(figsize=(6, 4), dpi=100)
    for name, ys in series.items():
        ax.plot(list(x)[: len(ys)], list(ys), marker="o", ms=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if right:
        ax2 = ax.twinx()
        for name, ys in right.items():
            ax2.plot(list(x)[: len(ys)], list(ys), ls="--", label=name, color="gray")
        ax2.set_ylabel(right_label)
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="best", fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)
