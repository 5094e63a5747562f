"""Distribution statistics for label summaries: Sarle's bimodality coefficient."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# A uniform distribution has BC = 5/9; values above suggest bimodality (Pfister et al. 2013).
BIMODALITY_THRESHOLD = 5.0 / 9.0


def bimodality_coefficient(x: ArrayLike) -> float:
    """Sarle's BC = (g^2 + 1) / (k + 3(n-1)^2 / ((n-2)(n-3))), sample skewness g and excess kurtosis k."""
    from scipy import stats

    v = np.asarray(x, dtype=float)
    v = v[np.isfinite(v)]
    n = v.size
    if n < 4 or np.all(v == v[0]):
        return float("nan")
    g = float(stats.skew(v, bias=False))
    k = float(stats.kurtosis(v, fisher=True, bias=False))
    return (g * g + 1.0) / (k + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3)))


def bimodality(x: ArrayLike) -> dict:
    """{'coefficient': BC, 'bimodal': BC > 5/9} (bimodal is None when BC is undefined)."""
    bc = bimodality_coefficient(x)
    return {"coefficient": bc, "bimodal": None if np.isnan(bc) else bool(bc > BIMODALITY_THRESHOLD)}
