"""Quality training data and scoring of a fit: labels files, NTIRE 2024 metrics, folds split by source."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelscore.common.tables import find_column, read_table

NTIRE_WEIGHTS = {"SROCC": 0.45, "PLCC": 0.45, "Rank1": 0.05, "Rank2": 0.05}


class TrainQualityError(ValueError):
    """The inputs of `train quality` cannot be used (message names the input and reason)."""


def read_quality_labels(path: str | Path, target: str = "mos") -> pd.DataFrame:
    """labels.csv → DataFrame index video_id with columns name, source, y (+ path when present)."""
    path = Path(path)
    df = read_table(path, role="labels file", error=TrainQualityError)
    cols = {str(c).strip().lower(): c for c in df.columns}
    id_col = find_column(df.columns, "name", "video_id", "id")
    if id_col is None:
        raise TrainQualityError(f"{path}: no id column (name, video_id or Id)")
    ids = df[id_col].astype(str).str.strip()
    if id_col == cols.get("name"):
        ids = ids.map(lambda n: Path(n).stem)
    tcol = cols.get(target.lower())
    if tcol is None:
        raise TrainQualityError(f"{path}: no label column {target!r}; columns: {', '.join(df.columns)}")
    out = pd.DataFrame({"video_id": ids.to_numpy()})
    out["name"] = df[cols["name"]].astype(str).to_numpy() if "name" in cols else out["video_id"]
    out["source"] = df[cols["source"]].astype(str).to_numpy() if "source" in cols else out["video_id"]
    out["y"] = pd.to_numeric(df[tcol], errors="coerce").to_numpy()
    if "path" in cols:
        out["path"] = df[cols["path"]].astype(str).to_numpy()
    finite = np.isfinite(out["y"].to_numpy(float))  # NaN, empty, text and ±inf are not labels
    bad = int((~finite).sum())
    out = out[finite]
    if bad:
        print(f"{path}: {bad} rows without a finite numeric {target!r} skipped", file=sys.stderr)
    if out.empty:
        raise TrainQualityError(f"{path}: no rows with a numeric {target!r} label ({len(df)} rows read)")
    if out["video_id"].duplicated().any():
        raise TrainQualityError(f"{path}: duplicate video ids, e.g. {out['video_id'][out['video_id'].duplicated()].iloc[0]!r}")
    return out.set_index("video_id")


def quality_metrics(pred: pd.Series, truth: pd.Series, pairs: pd.DataFrame | None = None) -> dict[str, Any]:
    """SROCC, PLCC, Rank1 (homologous), Rank2 (non-homologous) and the NTIRE 2024 final score."""
    from reelscore.common.stats import plcc, srcc
    from reelscore.evaluation.metrics import pair_accuracy

    ids = pred.index.intersection(truth.index)
    p, t = pred.loc[ids].to_numpy(float), truth.loc[ids].to_numpy(float)
    m: dict[str, Any] = {"n": int(len(ids)), "SROCC": srcc(p, t), "PLCC": plcc(p, t)}
    for key, homo in (("Rank1", 1), ("Rank2", 0)):
        m[key] = float("nan")
        m[f"n_{key}"] = 0
        if pairs is None or pairs.empty:
            continue
        sub = pairs[pairs["homologous"].astype(int) == homo]
        stem = lambda s: Path(str(s)).stem  # noqa: E731
        sub = sub[sub["video1"].map(stem).isin(ids) & sub["video2"].map(stem).isin(ids)]
        if sub.empty:
            continue
        s1 = pred.loc[sub["video1"].map(stem)].to_numpy(float)
        s2 = pred.loc[sub["video2"].map(stem)].to_numpy(float)
        better = np.where(sub["better"].astype(str).to_numpy() == sub["video1"].astype(str).to_numpy(), 1, 2)
        m[key] = pair_accuracy(s1, s2, better)
        m[f"n_{key}"] = int(len(sub))
    parts = {k: m[k] for k in NTIRE_WEIGHTS}
    if all(np.isfinite(v) for v in parts.values()):
        m["final"] = float(sum(NTIRE_WEIGHTS[k] * parts[k] for k in NTIRE_WEIGHTS))
    elif np.isfinite(parts["SROCC"]) and np.isfinite(parts["PLCC"]):
        m["final"] = float("nan")
    return m


def source_folds(groups: pd.Series, split_by: str = "source", n_splits: int = 5, seed: int = 0, folds: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train_idx, test_idx) folds: leave-one-source-out (or `folds` groups of sources), or shuffled K-fold when split_by='none'."""
    n = len(groups)
    if split_by == "source":
        uniq = sorted(groups.unique())
        if len(uniq) < 2:
            raise TrainQualityError("split by source needs at least 2 sources in the labels")
        g = groups.to_numpy()
        if folds is not None and 2 <= folds < len(uniq):
            # Sources dealt round-robin (in a seeded order) into `folds` groups: still never split a source.
            order = np.random.default_rng(seed).permutation(len(uniq))
            fold_of = {uniq[j]: i % folds for i, j in enumerate(order)}
            f = np.array([fold_of[x] for x in g])
            return [(np.flatnonzero(f != k), np.flatnonzero(f == k)) for k in range(folds)]
        return [(np.flatnonzero(g != s), np.flatnonzero(g == s)) for s in uniq]
    if split_by != "none":
        raise TrainQualityError(f"--split-by {split_by}: expected source or none")
    order = np.random.default_rng(seed).permutation(n)
    chunks = np.array_split(order, min(n_splits, n))
    return [(np.setdiff1d(order, c), c) for c in chunks]
