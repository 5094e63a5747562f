"""`train quality`: labels from a processed set + features → cross-validated (by source) quality model.

Splits are always by source (leave-one-source-out) unless asked otherwise, so that no
processed version of a test source is ever seen in training.
"""

from __future__ import annotations

import sys

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelscore.common.tables import read_table
from reelscore.workflows.quality_data import (  # noqa: F401  (re-exported: the training API)
    NTIRE_WEIGHTS,
    TrainQualityError,
    quality_metrics,
    read_quality_labels,
    source_folds,
)


def _read_pairs(labels_path: Path, pairs: str | Path | None) -> pd.DataFrame | None:
    p = Path(pairs) if pairs is not None else labels_path.parent / "pairs.csv"
    if not p.is_file():
        return None
    return read_table(p, role="pairs file", error=TrainQualityError)


def _feature_spec(store, extractors: list[str]) -> dict[str, Any]:
    have = store.extractors()
    missing = [e for e in extractors if e not in have]
    if missing:
        raise TrainQualityError(
            f"feature store {store.path if hasattr(store, 'path') else store} lacks extractor(s) {missing}; "
            f"has {sorted(have)} (run `reelscore extract --extractors {','.join(missing)}`)"
        )
    return {e: (have[e].get("version") if isinstance(have[e], dict) else None) for e in extractors}


def train_light(labels: pd.DataFrame, store, extractors: list[str], learner: str, split_by: str, pairs, cv: bool = True, folds: int | None = None, columns: str | None = None, ridge_alpha: float | None = None):
    """Fit the light model with out-of-fold validation; returns (model, oof predictions, metrics).

    ridge_alpha fixes the ridge penalty; None picks it by efficient leave-one-VIDEO-out inside
    each training fold, which favours fitting a source's own versions over new sources.
    """
    from reelscore.models.quality_light import QualityLightModel, quality_learner_config

    spec = _feature_spec(store, extractors)
    pooled = store.pooled(extractors)
    pooled.index = pooled.index.astype(str)
    if columns:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # groups in the user's regex are fine: we only match
            keep = pooled.columns[pooled.columns.str.contains(columns, regex=True)]
        if len(keep) == 0:
            raise TrainQualityError(f"--columns {columns!r} matches none of the {pooled.shape[1]} pooled columns")
        pooled = pooled[keep]
    ids = labels.index.intersection(pooled.index)
    if len(ids) < 3:
        raise TrainQualityError(f"only {len(ids)} labelled videos have features in the store; need at least 3")
    if len(ids) < len(labels):  # said, not silent: a label without features is not trained on
        print(f"{len(labels) - len(ids)} of {len(labels)} labelled videos have no features in the store and are "
              f"left out (e.g. {labels.index.difference(ids)[0]!r}); training on {len(ids)}", file=sys.stderr)
    lab = labels.loc[ids]
    X = pooled.loc[ids]
    cfg = quality_learner_config(learner, ridge_alphas=None if ridge_alpha is None else [float(ridge_alpha)])
    oof = pd.Series(np.nan, index=ids, dtype=float)
    metrics: dict[str, Any] = {}
    if cv:
        fold_list = source_folds(lab["source"], split_by, folds=folds)
        small = min(len(tr) for tr, _ in fold_list)
        if small < 3:
            raise TrainQualityError(
                f"cross-validation ({'by source' if split_by == 'source' else split_by}) leaves a fold with only {small} "
                f"training videos of {len(ids)} ({lab['source'].nunique()} sources); need at least 3: "
                "add sources or versions per source, or pass --no-cv"
            )
        for tr, te in fold_list:
            m = QualityLightModel(cfg).fit_mos(X.iloc[tr], lab["y"].iloc[tr], spec)
            oof.iloc[te] = m.predict_mos(X.iloc[te])
        metrics = quality_metrics(oof, lab["y"], pairs)
        n_src = int(lab["source"].nunique())
        metrics["split"] = ("leave-one-source-out" if len(fold_list) == n_src else f"{len(fold_list)}-fold by source") if split_by == "source" else "5-fold"
        metrics["n_sources"] = n_src
    model = QualityLightModel(cfg).fit_mos(X, lab["y"], spec)
    model.extra["column_filter"] = columns
    return model, oof, metrics


def train_quality(
    labels: str | Path,
    out: str | Path,
    features: str | Path | None = None,
    model: str = "light",
    learner: str = "ridge",
    extractors: list[str] | None = None,
    target: str = "mos",
    split_by: str = "source",
    pairs: str | Path | None = None,
    videos_dir: str | Path | None = None,
    config: str | Path | None = None,
    preset: str = "cpu",
    epochs: int | None = None,
    clip: str | Path | None = None,
    cv: bool = True,
    trained_on: str | None = None,
    folds: int | None = None,
    columns: str | None = None,
    ridge_alpha: float | None = None,
    encoder: str | None = None,
    ema: float | None = None,
) -> dict[str, Any]:
    """Train `model` (light | ksvqe) on `labels`; write the model directory `out`; return a summary."""
    from reelscore.common.atomic import write_table_atomic

    labels_path = Path(labels)
    lab = read_quality_labels(labels_path, target)
    pair_df = _read_pairs(labels_path, pairs)
    extractors = extractors or ["technical", "semantic", "motion"]
    if model == "light":
        if features is None:
            raise TrainQualityError("--model light needs --features STORE (run `reelscore extract` on the processed set's manifest.csv)")
        from reelscore.features.store import FeatureStore

        store = FeatureStore(features)
        mdl, oof, metrics = train_light(lab, store, extractors, learner, split_by, pair_df, cv, folds, columns, ridge_alpha)
    elif model == "ksvqe":
        from reelscore.workflows.quality_train_net import train_ksvqe

        base = Path(videos_dir) if videos_dir is not None else labels_path.parent
        overrides = {k: v for k, v in (("encoder", encoder), ("ema", ema)) if v is not None}
        mdl, oof, metrics = train_ksvqe(lab, base, split_by, pair_df, config, preset, epochs, clip, cv, folds=folds,
                                        overrides=overrides)
    else:
        raise TrainQualityError(f"--model {model}: expected light or ksvqe")
    mdl.val_metrics = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()}
    mdl.extra["trained_on"] = trained_on or (
        f"{len(lab)} labelled videos from {lab['source'].nunique()} sources in {labels_path} (label column {target!r})"
    )
    mdl.extra["label_column"] = target
    mdl.save(out)
    if cv and oof.notna().any():
        df = pd.DataFrame({"Id": oof.index, "MOS": oof.to_numpy(), "truth": lab.loc[oof.index, "y"].to_numpy(), "source": lab.loc[oof.index, "source"].to_numpy()})
        write_table_atomic(df, Path(out) / "cv_predictions.csv")
    return {"out": str(out), "val_metrics": metrics, "n": int(len(lab))}


def metrics_json(m: dict[str, Any]) -> str:
    """Metrics as JSON (NaN → null)."""
    return json.dumps({k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in m.items()}, indent=2)
