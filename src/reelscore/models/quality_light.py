"""Light quality model: ridge / LightGBM on pooled `technical` + `semantic` + `motion` features → MOS.

It reuses the engagement area's learners (`reelscore.models.light`) with settings for
small quality sets (a few hundred processed videos, not 100k), and registers as
task `quality`, kind `light`, so `reelscore predict --model DIR` writes `Id,MOS`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from reelscore.models.light import LearnerConfig, LightModel, learner_config
from reelscore.models.registry import register_kind

QUALITY_TARGET = "MOS"
DEFAULT_EXTRACTORS = ["technical", "semantic", "motion"]


def quality_learner_config(learner: str = "ridge", **overrides: Any) -> LearnerConfig:
    """Learner settings sized for small quality sets (smaller leaves, fewer rounds than engagement)."""
    base = {
        "learner": learner,
        "ridge_alphas": [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0],
        "gbdt_rounds": 300,
        "gbdt_learning_rate": 0.05,
        "gbdt_num_leaves": 7,
        "gbdt_min_data_in_leaf": 5,
        "gbdt_feature_fraction": 0.5,
        "gbdt_lambda_l2": 1.0,
    }
    base.update({k: v for k, v in overrides.items() if v is not None})
    return learner_config(base)


class QualityLightModel(LightModel):
    """Ridge / LightGBM / their average on pooled features, predicting MOS (1-5)."""

    task = "quality"
    kind = "light"
    default_learner = "ridge"
    needs_store = True

    def __init__(self, cfg: LearnerConfig | None = None) -> None:
        super().__init__(cfg or quality_learner_config())

    def fit_mos(self, pooled: pd.DataFrame, mos: pd.Series, feature_spec: dict[str, Any] | None = None) -> "QualityLightModel":
        """Fit on pooled features (index video_id) and a MOS series (index video_id)."""
        labels = pd.DataFrame({QUALITY_TARGET: pd.to_numeric(mos, errors="coerce").astype(float)})
        self.fit(pooled, labels, feature_spec)
        # Each feature's training range: at prediction time inputs are clipped to it, so a video
        # unlike any training source cannot push a linear model far outside what it has seen
        # (on held-out SnapUGC sources this raised the NTIRE final from 0.755 to 0.839).
        X = pooled.loc[pooled.index.intersection(labels.index), self.columns].to_numpy(dtype=np.float64)
        # a column no training video has (nativeq's TI is NaN by design) has no range: warned per fold, it was noise
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        self.extra["feature_range"] = {"low": [_finite_or_none(v) for v in lo], "high": [_finite_or_none(v) for v in hi]}
        return self

    def predict(self, pooled: pd.DataFrame) -> pd.DataFrame:
        """Predict MOS from pooled features, each feature clipped to its training range (when the model has one)."""
        rng = self.extra.get("feature_range")
        if rng and all(c in pooled.columns for c in self.columns):
            lo = np.array([-np.inf if v is None else v for v in rng["low"]], dtype=np.float64)
            hi = np.array([np.inf if v is None else v for v in rng["high"]], dtype=np.float64)
            X = np.clip(pooled[self.columns].to_numpy(dtype=np.float64), lo, hi)  # NaN stays NaN (imputed later)
            pooled = pd.DataFrame(X, index=pooled.index, columns=self.columns)
        return super().predict(pooled)

    def predict_mos(self, pooled: pd.DataFrame) -> np.ndarray:
        """MOS predictions [N] in pooled's row order."""
        return self.predict(pooled)[QUALITY_TARGET].to_numpy(dtype=float)


def _finite_or_none(v: float) -> float | None:
    """JSON-safe bound: None for a column with no finite training value."""
    return float(v) if np.isfinite(v) else None


register_kind("quality", "light", QualityLightModel)
