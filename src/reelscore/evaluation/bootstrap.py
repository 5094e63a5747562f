"""Seeded percentile bootstrap: replicates of a statistic over resampled items, and their 95 % interval."""

from __future__ import annotations

import math
import warnings
from typing import Callable, Sequence

import numpy as np

MIN_VALID_SHARE = 0.5


def resample_indices(n_items: int, n_boot: int, seed: int, stream: int = 0):
    """Yield `n_boot` index arrays (with replacement); the same (seed, stream) always gives the same sequence."""
    rng = np.random.default_rng([int(seed), int(stream)])
    for _ in range(n_boot):
        yield rng.integers(0, n_items, n_items)


def replicates(
    stat: Callable[..., float],
    arrays: Sequence[np.ndarray],
    n_boot: int,
    seed: int,
    stream: int = 0,
) -> np.ndarray:
    """Statistic on `n_boot` resamples of the rows of `arrays` (NaN where a resample is degenerate)."""
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    out = np.full(n_boot, np.nan)
    if n == 0 or n_boot <= 0:
        return out
    # Degenerate resamples are expected (e.g. all-equal draws on tiny sets); they
    # are counted via NaN below, so their per-call warnings would only be noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b, idx in enumerate(resample_indices(n, n_boot, seed, stream)):
            out[b] = stat(*(a[idx] for a in arrays))
    return out


def percentile_interval(reps: np.ndarray, level: float = 0.95, name: str = "") -> tuple[float, float]:
    """Percentile interval of the finite replicates; NaN (with a warning) when fewer than half are finite."""
    reps = np.asarray(reps, dtype=float)
    finite = reps[np.isfinite(reps)]
    if reps.size == 0:
        return (math.nan, math.nan)
    if finite.size < MIN_VALID_SHARE * reps.size:
        warnings.warn(
            f"{name or 'bootstrap'}: only {finite.size}/{reps.size} resamples gave a finite value; interval is NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        return (math.nan, math.nan)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))
