"""Evaluation metrics: correlations (raw and logistic-mapped), RMSE, top-K RMSE, duration-grouped SRCC, pair accuracy.

The raw correlations are the shared primitives in `reelscore.common.stats`; this
module adds what only evaluation needs. Every metric returns NaN with a
RuntimeWarning on degenerate input (constant values, fewer than 3 items, empty
sets), never a silent 0.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import curve_fit
from scipy.special import expit
from scipy.stats import rankdata

from reelscore.common.stats import is_degenerate, krcc, paired_arrays, plcc, rmse, srcc

__all__ = [
    "srcc",
    "plcc",
    "krcc",
    "rmse",
    "logistic4",
    "fit_logistic4",
    "plcc_logistic4",
    "rmse_top_k",
    "DEFAULT_DURATION_EDGES",
    "DurationGroup",
    "duration_groups",
    "grouped_srcc",
    "pair_accuracy",
    "fast_srcc",
    "fast_plcc",
    "rank_codes",
    "srcc_from_codes",
]

# SnapUGC clips last 10-60 s; 10 s bins give five populated groups on that range,
# with open-ended groups catching anything shorter or longer.
DEFAULT_DURATION_EDGES: tuple[float, ...] = (10.0, 20.0, 30.0, 40.0, 50.0)


def _warn(msg: str) -> None:
    warnings.warn(msg, RuntimeWarning, stacklevel=3)


def logistic4(x: ArrayLike, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """VQEG 4-parameter logistic: (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2."""
    x = np.asarray(x, dtype=float)
    # expit is the overflow-free form of 1 / (1 + exp(-z)).
    return (b1 - b2) * expit((x - b3) / (np.abs(b4) + 1e-12)) + b2


def _logistic4_jac(x, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    # Analytic Jacobian: about half the function evaluations of finite differences.
    a = np.abs(b4) + 1e-12
    z = (x - b3) / a
    s = expit(z)
    ds = (b1 - b2) * s * (1.0 - s)
    return np.column_stack([s, 1.0 - s, -ds / a, -ds * z * np.sign(b4) / a])


def fit_logistic4(pred: ArrayLike, truth: ArrayLike, p0: Sequence[float] | None = None, maxfev: int = 20000, tol: float = 1.49012e-08) -> np.ndarray | None:
    """Least-squares fit of `logistic4` mapping predictions onto truth; None (with a warning) if it fails."""
    p, t = paired_arrays(pred, truth)
    if is_degenerate(p, t, "logistic4 fit"):
        return None
    if p.size < 5:
        # Four parameters need more than four points to be a fit rather than an interpolation.
        _warn(f"logistic4 fit: {p.size} items, need at least 5; mapped metrics are NaN")
        return None
    if p0 is None:
        # Start from the identity-like S-curve spanning the truth range, scaled to the predictions.
        p0 = [float(t.max()), float(t.min()), float(np.mean(p)), float(np.std(p)) / 4.0 or 1.0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, _ = curve_fit(
                logistic4, p, t, p0=p0, jac=_logistic4_jac, maxfev=maxfev, ftol=tol, xtol=tol
            )
    except (RuntimeError, ValueError, TypeError, FloatingPointError) as exc:
        _warn(f"logistic4 fit did not converge ({exc}); mapped metrics are NaN")
        return None
    if not np.all(np.isfinite(params)):
        _warn("logistic4 fit gave non-finite parameters; mapped metrics are NaN")
        return None
    return params


def plcc_logistic4(pred: ArrayLike, truth: ArrayLike, p0: Sequence[float] | None = None, maxfev: int = 20000, tol: float = 1.49012e-08) -> float:
    """PLCC after mapping predictions through the fitted 4-parameter logistic (NaN with a warning if degenerate)."""
    p, t = paired_arrays(pred, truth)
    params = fit_logistic4(p, t, p0=p0, maxfev=maxfev, tol=tol)
    if params is None:
        return float("nan")
    mapped = logistic4(p, *params)
    if np.ptp(mapped) == 0:
        _warn("PLCC_logistic4: the fitted logistic maps every prediction to one value; result is NaN")
        return float("nan")
    return fast_plcc(mapped, t)


def rmse_top_k(pred: ArrayLike, truth: ArrayLike, k: float = 10.0) -> float:
    """RMSE over the ceil(k% · n) items with the highest true values (ties at the cut kept in input order)."""
    p, t = paired_arrays(pred, truth)
    if not 0 < k <= 100:
        raise ValueError(f"top-K percentage must be in (0, 100], got {k}")
    if p.size == 0:
        _warn(f"RMSE_top{k:g}%: no items; result is NaN")
        return float("nan")
    m = max(1, math.ceil(p.size * k / 100.0 - 1e-9))
    top = np.argsort(-t, kind="stable")[:m]
    return float(np.sqrt(np.mean((p[top] - t[top]) ** 2)))


@dataclass
class DurationGroup:
    """One duration bin: [lo, hi) seconds, its item count and SRCC (NaN if degenerate)."""

    label: str
    lo: float
    hi: float
    n: int
    srcc: float

    def to_dict(self) -> dict:
        """JSON-friendly view."""
        return {"label": self.label, "lo": self.lo, "hi": self.hi, "n": self.n, "srcc": self.srcc}


def _bin_labels(edges: tuple[float, ...]) -> list[tuple[str, float, float]]:
    bounds = [-math.inf, *edges, math.inf]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if lo == -math.inf:
            label = f"<{hi:g} s"
        elif hi == math.inf:
            label = f"≥{lo:g} s"
        else:
            label = f"{lo:g}–{hi:g} s"
        out.append((label, lo, hi))
    return out


def _check_edges(edges) -> tuple[float, ...]:
    e = tuple(float(x) for x in edges)
    if not e or any(b <= a for a, b in zip(e[:-1], e[1:])) or not all(math.isfinite(x) for x in e):
        raise ValueError(f"duration bin edges must be finite and strictly increasing, got {list(edges)}")
    return e


def duration_groups(
    pred: ArrayLike,
    truth: ArrayLike,
    durations: ArrayLike,
    edges: Sequence[float] = DEFAULT_DURATION_EDGES,
    _srcc: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> list[DurationGroup]:
    """SRCC inside each duration bin [lo, hi); empty bins are left out, bins with < 3 items get NaN."""
    p, t = paired_arrays(pred, truth)
    d = np.asarray(durations, dtype=float).ravel()
    if d.shape != p.shape:
        raise ValueError(f"durations and predictions differ in length: {d.size} vs {p.size}")
    corr = _srcc or srcc
    groups = []
    for label, lo, hi in _bin_labels(_check_edges(edges)):
        sel = (d >= lo) & (d < hi)
        n = int(sel.sum())
        if n == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = corr(p[sel], t[sel]) if n >= 3 else float("nan")
        if not math.isfinite(value):
            _warn(f"duration group {label}: {n} items, SRCC undefined (fewer than 3 items or constant); left out of the average")
        groups.append(DurationGroup(label, lo, hi, n, float(value)))
    return groups


def grouped_srcc(pred: ArrayLike, truth: ArrayLike, durations: ArrayLike, edges: Sequence[float] = DEFAULT_DURATION_EDGES) -> float:
    """Unweighted mean of per-duration-group SRCC over the groups where SRCC is defined (NaN if none)."""
    groups = duration_groups(pred, truth, durations, edges)
    vals = [g.srcc for g in groups if math.isfinite(g.srcc)]
    if not vals:
        _warn("duration-grouped SRCC: no group has a defined SRCC; result is NaN")
        return float("nan")
    return float(np.mean(vals))


def pair_accuracy(score1: ArrayLike, score2: ArrayLike, better: ArrayLike) -> float:
    """Share of pairs whose predicted order matches `better` (1 or 2); a tie predicts 1, as the NTIRE 2024 script does."""
    s1 = np.asarray(score1, dtype=float).ravel()
    s2 = np.asarray(score2, dtype=float).ravel()
    g = np.asarray(better).ravel()
    if not (s1.shape == s2.shape == g.shape):
        raise ValueError("pair arrays differ in length")
    if s1.size == 0:
        _warn("pair accuracy: no pairs; result is NaN")
        return float("nan")
    if not np.isin(g, (1, 2)).all():
        raise ValueError("pair labels must be 1 (first is better) or 2 (second is better)")
    predicted = np.where(s1 >= s2, 1, 2)
    return float(np.mean(predicted == g))


# Fast forms used inside the bootstrap loop, where thousands of resamples make
# scipy's per-call overhead (and its warnings on degenerate resamples) matter.
def fast_plcc(p: np.ndarray, t: np.ndarray) -> float:
    """Pearson correlation by centred dot products; NaN when either side is constant or < 3 items."""
    if p.size < 3:
        return float("nan")
    pc = p - p.mean()
    tc = t - t.mean()
    den = math.sqrt(float(pc @ pc) * float(tc @ tc))
    if den == 0.0:
        return float("nan")
    return float(np.clip((pc @ tc) / den, -1.0, 1.0))


def rank_codes(x: ArrayLike) -> tuple[np.ndarray, int]:
    """Dense integer codes of `x` (equal values share a code, order preserved) and the number of codes."""
    uniq, codes = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    return codes.ravel(), int(uniq.size)


def _avg_ranks_from_codes(codes: np.ndarray, k: int) -> np.ndarray:
    # Average rank of each code inside this (re)sample, by counting instead of sorting.
    counts = np.bincount(codes, minlength=k)
    upper = np.cumsum(counts)
    return (upper - (counts - 1) / 2.0)[codes]


def srcc_from_codes(cp: np.ndarray, ct: np.ndarray, kp: int, kt: int) -> float:
    """Spearman correlation of two samples given as dense rank codes (see `rank_codes`); NaN when degenerate."""
    if cp.size < 3:
        return float("nan")
    return fast_plcc(_avg_ranks_from_codes(cp, kp), _avg_ranks_from_codes(ct, kt))


def fast_srcc(p: np.ndarray, t: np.ndarray) -> float:
    """Spearman correlation as Pearson on average ranks; NaN when degenerate."""
    if p.size < 3:
        return float("nan")
    return fast_plcc(rankdata(p), rankdata(t))
