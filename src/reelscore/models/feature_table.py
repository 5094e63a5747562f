"""Bring-your-own features: a CSV or Parquet table keyed by `Id` with the shared coldsignal column names.

A platform that already has the audio/motion signals or CLIP embeddings in its
warehouse passes them as `--features-table T` to `predict` and `train engagement`.
Column groups: `signals` (the coldsignal names) and `clip` (clip_000..clip_511).
A missing group means that member is absent; an empty cell means that value is
unknown for that row. What would make a number wrong is refused with one line
naming the column and rows: inf, text in a number column, a CLIP vector of the
wrong length (or half-filled), duplicate ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reelscore.models.registry import ModelError

SIGNAL_COLUMNS = ["audio_energy_mean", "audio_energy_std", "audio_energy_max", "has_audio",
                  "hook_strength_audio", "audio_max_jump", "hook_strength_motion", "scene_change_rate",
                  "motion_mean", "motion_std", "motion_max", "motion_first_5frames_mean"]
CLIP_DIM = 512
ID_COLUMNS = ("Id", "id", "video_id", "ID")


def clip_columns(dim: int = CLIP_DIM) -> list[str]:
    """clip_000..clip_{dim-1}."""
    return [f"clip_{i:03d}" for i in range(dim)]


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    """1-based data row numbers (the header is row 0), as a short list."""
    idx = np.flatnonzero(mask) + 1
    more = f" and {idx.size - limit} more" if idx.size > limit else ""
    return ", ".join(str(i) for i in idx[:limit]) + more


def read_feature_table(path: str | Path | list, clip_dim: int = CLIP_DIM) -> pd.DataFrame:
    """Read and check a features table (or several, joined on Id: e.g. the signals CSV and the CLIP parquet)
    → DataFrame indexed by Id (str) with the known columns as float."""
    from reelscore.common.tables import read_table

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    parts = [check_feature_table(read_table(Path(p), role="features table", error=ModelError), str(p), clip_dim)
             for p in paths]
    out = parts[0]
    for p, part in zip(paths[1:], parts[1:]):
        both = [c for c in part.columns if c in out.columns]
        if both:
            raise ModelError(f"{p}: column {both[0]} is also in {paths[0]}; give each column group once")
        out = out.join(part, how="outer")
    return out


def check_feature_table(df: pd.DataFrame, name: str = "features table", clip_dim: int = CLIP_DIM) -> pd.DataFrame:
    """Validate a features frame (see the module doc) → indexed by Id, known columns as float64."""
    id_col = next((c for c in ID_COLUMNS if c in df.columns), None)
    if id_col is None:
        raise ModelError(f"{name}: no id column (Id or video_id); columns: {', '.join(map(str, df.columns[:8]))}")
    ids = df[id_col].astype(str).str.strip()
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        raise ModelError(f"{name}: column {id_col}: duplicate ids {sorted(set(ids[dup]))[:3]} at rows {_rows(dup)}")
    empty = (ids == "") | df[id_col].isna().to_numpy()
    if empty.any():
        raise ModelError(f"{name}: column {id_col}: empty id at rows {_rows(empty.to_numpy())}")
    clip_like = [c for c in df.columns if str(c).startswith("clip_")]
    want_clip = clip_columns(clip_dim)
    if clip_like and sorted(clip_like) != want_clip:
        raise ModelError(f"{name}: CLIP vector of the wrong length: {len(clip_like)} clip_* columns, "
                         f"the CLIP member needs {clip_dim} (clip_000..clip_{clip_dim - 1:03d})")
    known = [c for c in SIGNAL_COLUMNS if c in df.columns] + (want_clip if clip_like else [])
    out = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="Id"))
    values = {}
    for c in known:
        col = df[c]
        num = pd.to_numeric(col, errors="coerce")
        blank = col.isna() | col.astype(str).str.strip().isin(["", "nan", "NaN", "None"])
        bad = (num.isna() & ~blank).to_numpy()
        if bad.any():
            raise ModelError(f"{name}: column {c}: text in a number column at rows {_rows(bad)} "
                             f"(e.g. {str(col[bad].iloc[0])!r})")
        arr = num.to_numpy(dtype=np.float64)
        if np.isinf(arr).any():
            raise ModelError(f"{name}: column {c}: inf at rows {_rows(np.isinf(arr))}")
        values[c] = arr
    if values:
        out = pd.concat([out, pd.DataFrame(values, index=out.index)], axis=1)
    if clip_like:
        block = out[want_clip].to_numpy()
        partial = np.isnan(block).any(axis=1) & ~np.isnan(block).all(axis=1)
        if partial.any():
            raise ModelError(f"{name}: clip_* columns: a CLIP vector of the wrong length (some cells empty) "
                             f"at rows {_rows(partial)}")
    return out


def column_groups(table: pd.DataFrame | None) -> dict[str, list[str]]:
    """Which member inputs a table carries: {"signals": [...], "clip": [...]} (absent groups left out)."""
    if table is None:
        return {}
    out = {}
    sig = [c for c in SIGNAL_COLUMNS if c in table.columns]
    if sig:
        out["signals"] = sig
    clip = [c for c in table.columns if str(c).startswith("clip_")]
    if clip:
        out["clip"] = clip
    return out
