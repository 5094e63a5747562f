"""PNG panels in the spirit of the SnapUGC paper's Fig. 2, from a labels table."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from reelscore.labels.fmax import PAPER_FMAX, FMax

PANELS = (
    "awt_vs_duration.png",
    "awp_vs_duration.png",
    "nawp_vs_duration.png",
    "nawp_hist.png",
    "ecr_hist.png",
    "ecr_vs_nawp.png",
    "like_rate_hist.png",
)


def _density(ax, x, y, xlabel: str, ylabel: str, title: str) -> None:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size >= 50:
        hb = ax.hexbin(x, y, gridsize=40, mincnt=1, bins="log", cmap="viridis")
        ax.figure.colorbar(hb, ax=ax, label="videos (log)")
    else:
        ax.scatter(x, y, s=10, alpha=0.7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def _hist(ax, v, xlabel: str, title: str, rng=(0.0, 1.0)) -> None:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    ax.hist(v, bins=40, range=rng if v.size else None, color="#3b75af", edgecolor="white")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("videos")
    ax.set_title(title)


def plot_labels(df, out_dir: str | os.PathLike, fmax: FMax | dict | None = None, corr: float | None = None) -> list[Path]:
    """Write the Fig. 2-style panels (PNG) for a labels DataFrame into out_dir; returns their paths."""
    from reelscore.common.plots import pyplot, save_png

    plt = pyplot()

    if isinstance(fmax, dict):
        fmax = FMax(**fmax)
    fmax = fmax or PAPER_FMAX
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    d = df["duration_s"].to_numpy(dtype=float)
    awt = df["awt_s"].to_numpy(dtype=float)
    nawp = df["nawp"].to_numpy(dtype=float)
    ecr = df["ecr"].to_numpy(dtype=float)
    if corr is None and len(df) >= 3 and np.nanstd(ecr) > 0 and np.nanstd(nawp) > 0:
        corr = float(np.corrcoef(ecr, nawp)[0, 1])
    written: list[Path] = []

    def save(fig, name: str) -> None:
        written.append(save_png(fig, out / name, dpi=110, bbox_inches="tight"))

    fig, ax = plt.subplots(figsize=(6, 4.5))
    _density(ax, d, awt, "duration (s)", "AWT (s)", "AWT vs duration")
    xs = np.linspace(max(0.0, np.nanmin(d)) if d.size else 0, np.nanmax(d) if d.size else 60, 100)
    ax.plot(xs, fmax(xs), "r-", lw=2, label=fmax.describe())
    if fmax.source != "paper":
        ax.plot(xs, PAPER_FMAX(xs), "r--", lw=1, label=PAPER_FMAX.describe())
    ax.legend(loc="upper left", fontsize=8)
    save(fig, "awt_vs_duration.png")

    fig, ax = plt.subplots(figsize=(6, 4.5))
    _density(ax, d, df["awp"].to_numpy(dtype=float), "duration (s)", "AWP", "AWP vs duration")
    save(fig, "awp_vs_duration.png")

    fig, ax = plt.subplots(figsize=(6, 4.5))
    _density(ax, d, nawp, "duration (s)", "NAWP", "NAWP vs duration")
    save(fig, "nawp_vs_duration.png")

    fig, ax = plt.subplots(figsize=(6, 4.5))
    _hist(ax, nawp, "NAWP", "NAWP distribution")
    save(fig, "nawp_hist.png")

    fig, ax = plt.subplots(figsize=(6, 4.5))
    _hist(ax, ecr, "ECR (share of views > 5 s)", "ECR distribution")
    save(fig, "ecr_hist.png")

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(nawp, ecr, s=4, alpha=0.35)
    ax.set_xlabel("NAWP")
    ax.set_ylabel("ECR")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("ECR vs NAWP" + (f" (Pearson r = {corr:.3f})" if corr is not None else ""))
    save(fig, "ecr_vs_nawp.png")

    fig, ax = plt.subplots(figsize=(6, 4.5))
    lr = df["like_rate"].to_numpy(dtype=float)
    top = float(np.nanmax(lr)) if np.isfinite(lr).any() else 1.0
    _hist(ax, lr, "like rate", "Like-rate distribution", rng=(0.0, max(top, 1e-3)))
    save(fig, "like_rate_hist.png")
    return written
