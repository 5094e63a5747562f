"""Seeded k-fold cross-validation with the challenge figures (SRCC, PLCC, EVQA final = 0.6·SRCC + 0.4·PLCC)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from reelscore.common.stats import plcc, rmse, srcc


def evqa_final(s: float, p: float) -> float:
    """The VQualA 2025 EVQA final score."""
    return 0.6 * s + 0.4 * p


def score(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """SRCC, PLCC, RMSE and the EVQA final score of one prediction vector."""
    s, p = srcc(pred, truth), plcc(pred, truth)
    return {"srcc": s, "plcc": p, "rmse": rmse(pred, truth), "final": evqa_final(s, p), "n": int(len(truth))}


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """Fold index [n] of a seeded random permutation split into `folds` near-equal parts."""
    if folds < 2 or folds > n:
        raise ValueError(f"folds must be in [2, {n}]; got {folds}")
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=int)
    out[rng.permutation(n)] = np.arange(n) % folds
    return out


def kfold_cv(
    fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n: int,
    y: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    on_fold: Callable[[int, dict], None] | None = None,
) -> tuple[dict, np.ndarray]:
    """Run fit_predict(train_idx, test_idx) → test predictions per fold; return figures and out-of-fold predictions.

    Figures: mean and std over folds of SRCC/PLCC/final, plus the same on the pooled out-of-fold vector.
    """
    y = np.asarray(y, dtype=float)
    fid = fold_ids(n, folds, seed)
    oof = np.full(n, np.nan)
    per_fold = []
    for k in range(folds):
        test = np.flatnonzero(fid == k)
        train = np.flatnonzero(fid != k)
        oof[test] = fit_predict(train, test)
        f = score(oof[test], y[test])
        per_fold.append(f)
        if on_fold:
            on_fold(k, f)
    res: dict = {"folds": folds, "seed": seed, "per_fold": per_fold}
    for key in ("srcc", "plcc", "final"):
        vals = np.array([f[key] for f in per_fold])
        res[f"{key}_mean"] = float(vals.mean())
        res[f"{key}_std"] = float(vals.std(ddof=1)) if folds > 1 else 0.0
    res["pooled"] = score(oof, y)
    return res, oof
