"""f_max(d) = a*d + b, the watch-time ceiling that normalises AWT into NAWP (SnapUGC).

The fit procedure (`fit_fmax`, also documented in docs/labels.md):

1. keep videos with a finite AWT and a duration in [1, 600] s (callers pass only
   videos with enough views, by default those with views >= min_views);
2. put each video in a 1-s duration bin: bin k holds durations in [k, k+1);
3. drop bins with fewer than `min_videos_per_bin` videos (default 5);
4. per remaining bin take the 97th percentile of AWT (numpy's default linear
   interpolation) as the "top 3 %" watch time, at x = the bin's centre k + 0.5;
5. fit y = a*x + b by ordinary least squares over the bins (unweighted).

The paper's values (a = 0.556, b = 5.64) are `PAPER_FMAX`; f_min is 0.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike


@dataclasses.dataclass(frozen=True)
class FMax:
    """Linear watch-time ceiling f_max(d) = a*d + b and where it came from."""

    a: float
    b: float
    source: str = "paper"
    quantile: float | None = None
    bin_s: float | None = None
    min_videos_per_bin: int | None = None
    bins: int | None = None
    videos: int | None = None

    def __call__(self, duration_s):
        """Evaluate f_max at the given duration(s)."""
        return self.a * np.asarray(duration_s, dtype=float) + self.b

    def to_dict(self) -> dict:
        """JSON-safe dict (None fields dropped)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fit as JSON (atomically), reusable with `--fmax FILE.json`."""
        from reelscore.common.atomic import write_text_atomic

        return write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + "\n")

    def describe(self) -> str:
        """One line: f_max(d) = a*d + b (source)."""
        return f"f_max(d) = {self.a:.6g}*d + {self.b:.6g} ({self.source})"


PAPER_FMAX = FMax(a=0.556, b=5.64, source="paper")


def load_fmax(path: str | os.PathLike) -> FMax:
    """Read an f_max JSON written by `FMax.save` (needs numeric 'a' and 'b')."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{p}: f_max file not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), (int, float)) for k in ("a", "b")):
        raise ValueError(f"{p}: f_max JSON needs numeric 'a' and 'b'")
    known = {f.name for f in dataclasses.fields(FMax)}
    kw = {k: v for k, v in data.items() if k in known}
    kw["source"] = f"file:{p.name}" if data.get("source") in (None, "paper", "fit") else data["source"]
    return FMax(**{**kw, "a": float(data["a"]), "b": float(data["b"])})


def fit_fmax(
    duration_s: ArrayLike,
    awt_s: ArrayLike,
    quantile: float = 0.97,
    bin_s: float = 1.0,
    min_videos_per_bin: int = 5,
) -> FMax:
    """Fit f_max(d) = a*d + b: per 1-s duration bin the 97th-percentile AWT, then least squares."""
    d = np.asarray(duration_s, dtype=float)
    y = np.asarray(awt_s, dtype=float)
    ok = np.isfinite(d) & np.isfinite(y) & (d >= 1) & (d <= 600)
    d, y = d[ok], y[ok]
    k = np.floor(d / bin_s).astype(np.int64)
    xs, qs = [], []
    for b in np.unique(k):
        sel = y[k == b]
        if sel.size >= min_videos_per_bin:
            xs.append((b + 0.5) * bin_s)
            qs.append(float(np.quantile(sel, quantile)))
    if len(xs) < 2:
        raise ValueError(
            f"cannot fit f_max: only {len(xs)} duration bin(s) of {bin_s:g} s hold >= {min_videos_per_bin} "
            f"videos ({int(ok.sum())} usable videos); use --fmax paper or a saved FILE.json"
        )
    a, b = np.polyfit(np.asarray(xs), np.asarray(qs), 1)
    return FMax(
        a=float(a),
        b=float(b),
        source="fit",
        quantile=quantile,
        bin_s=bin_s,
        min_videos_per_bin=min_videos_per_bin,
        bins=len(xs),
        videos=int(ok.sum()),
    )


def nawp_from_awt(awt_s: ArrayLike, duration_s: ArrayLike, fmax: FMax) -> np.ndarray:
    """NAWP = min(AWT / f_max(d), 1) with f_min = 0 (NaN where AWT is NaN)."""
    awt = np.asarray(awt_s, dtype=float)
    ceiling = fmax(duration_s)
    # a fitted line can dip to <= 0 for very short clips; any watch then reaches the ceiling
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ceiling > 0, np.minimum(awt / ceiling, 1.0), np.where(np.isnan(awt), np.nan, 1.0))
