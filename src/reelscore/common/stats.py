"""Correlation primitives shared by training (validation) and evaluation (reports)."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st


def paired_arrays(pred: ArrayLike, truth: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and truth as flat float arrays of one length (ValueError if the lengths differ)."""
    p = np.asarray(pred, dtype=float).ravel()
    t = np.asarray(truth, dtype=float).ravel()
    if p.shape != t.shape:
        raise ValueError(f"prediction and truth differ in length: {p.size} vs {t.size}")
    return p, t


def is_degenerate(p: np.ndarray, t: np.ndarray, name: str) -> bool:
    """True (with a RuntimeWarning naming the metric) when a correlation is undefined: < 3 items or constant input."""
    # stacklevel 3: the warning points at the code that called the metric, not at the metric
    if p.size < 3:
        warnings.warn(f"{name}: fewer than 3 items ({p.size}); result is NaN", RuntimeWarning, stacklevel=3)
        return True
    if np.all(p == p[0]) or np.all(t == t[0]):
        which = "predictions" if np.all(p == p[0]) else "truth"
        warnings.warn(f"{name}: constant {which}; result is NaN", RuntimeWarning, stacklevel=3)
        return True
    return False


def srcc(pred: ArrayLike, truth: ArrayLike) -> float:
    """Spearman rank correlation (NaN with a warning for constant input or < 3 items)."""
    p, t = paired_arrays(pred, truth)
    if is_degenerate(p, t, "SRCC"):
        return float("nan")
    return float(_st.spearmanr(p, t).statistic)


def plcc(pred: ArrayLike, truth: ArrayLike) -> float:
    """Pearson linear correlation (NaN with a warning for constant input or < 3 items)."""
    p, t = paired_arrays(pred, truth)
    if is_degenerate(p, t, "PLCC"):
        return float("nan")
    return float(_st.pearsonr(p, t).statistic)


def krcc(pred: ArrayLike, truth: ArrayLike) -> float:
    """Kendall rank correlation (tau-b)."""
    p, t = paired_arrays(pred, truth)
    if is_degenerate(p, t, "KRCC"):
        return float("nan")
    return float(_st.kendalltau(p, t).statistic)


def rmse(pred: ArrayLike, truth: ArrayLike) -> float:
    """Root-mean-square error."""
    p, t = paired_arrays(pred, truth)
    if p.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((p - t) ** 2)))
