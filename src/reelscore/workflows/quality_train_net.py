"""`train quality --model ksvqe`: decode fragments once, cross-validate by source, then fit on everything."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelscore.workflows.quality_data import (
    TrainQualityError,
    quality_metrics,
    source_folds,
)


def _resolve(base: Path, p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() else base / q


def train_ksvqe(
    labels: pd.DataFrame,
    base: Path,
    split_by: str = "source",
    pairs: pd.DataFrame | None = None,
    config: str | Path | None = None,
    preset: str = "cpu",
    epochs: int | None = None,
    clip: str | Path | None = None,
    cv: bool = True,
    final: bool = True,
    folds: int | None = None,
    overrides: dict | None = None,
):
    """Fit KSVQE with out-of-fold validation; returns (model, oof predictions, metrics)."""
    from reelscore.common.config import read_yaml_mapping
    from reelscore.common.progress import track
    from reelscore.models.quality_net import KSVQEModel, ksvqe_config, load_sample

    if "path" not in labels.columns:
        raise TrainQualityError("--model ksvqe reads the videos: labels.csv needs a path column (as `reelscore degrade` writes)")
    try:
        data = read_yaml_mapping(config)
    except ValueError as exc:
        raise TrainQualityError(str(exc)) from None
    try:
        cfg = ksvqe_config(preset, {**data, **(overrides or {})}, epochs=epochs, clip_path=str(clip) if clip is not None else None)
    except ValueError as exc:  # unknown preset, field or encoder: one line, not a traceback
        raise TrainQualityError(str(exc)) from None
    train_s, eval_s, keep = [], [], []
    for vid in track(list(labels.index), "ksvqe: decoding fragments", unit="video"):
        path = _resolve(base, labels.at[vid, "path"])
        try:
            train_s.append(load_sample(path, cfg, train=True))
            eval_s.append(load_sample(path, cfg, train=False))
            keep.append(vid)
        except Exception as exc:  # one clear line; the others go on
            print(f"skipped: {path}: {exc}", file=sys.stderr)
    if len(keep) < 3:
        raise TrainQualityError(f"only {len(keep)} readable labelled videos; need at least 3")
    lab = labels.loc[keep]
    y = lab["y"].to_numpy(float)
    oof = pd.Series(np.nan, index=lab.index, dtype=float)
    metrics: dict[str, Any] = {}
    if cv:
        fold_list = source_folds(lab["source"], split_by, folds=folds)
        for tr, te in track(fold_list, "ksvqe: cross-validation folds", unit="fold"):
            m = KSVQEModel(cfg).fit_samples([train_s[i] for i in tr], y[tr])
            oof.iloc[te] = m.predict_samples([eval_s[i] for i in te])
        metrics = quality_metrics(oof, lab["y"], pairs)
        metrics["split"] = (f"{len(fold_list)}-fold by source" if len(fold_list) < lab["source"].nunique() else "leave-one-source-out") if split_by == "source" else "5-fold"
        metrics["n_sources"] = int(lab["source"].nunique())
    model = KSVQEModel(cfg).fit_samples(train_s, y, progress=True) if final else None
    return model, oof, metrics
