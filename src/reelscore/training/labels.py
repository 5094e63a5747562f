"""Load engagement labels from `reelscore labels` output or a SnapUGC / EVQA CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reelscore.common.tables import read_table

# canonical target name → accepted column spellings (compared lower-case)
TARGETS = {"ECR": ("ecr",), "NAWP": ("nawp",), "engagement_class": ("engagement_class", "class")}
TEXT_COLUMNS = ("title", "description", "caption")


class LabelError(ValueError):
    """A labels file cannot be used (message names the file and reason)."""


def canonical_target(name: str) -> str:
    """ECR / NAWP / engagement_class from any casing; clear error otherwise."""
    for canon, spellings in TARGETS.items():
        if name.lower() in spellings or name.lower() == canon.lower():
            return canon
    raise LabelError(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")


def load_labels(path: str | Path, targets: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(labels, texts): labels indexed by video_id with one column per target; texts with title/description/caption if present.

    `targets=None` takes every known target the file has (ECR, NAWP, engagement_class).
    """
    df = read_table(path, role="labels file", error=LabelError)
    lower = {str(c).strip().lower(): c for c in df.columns}
    idcol = lower.get("video_id") or lower.get("id")
    if idcol is None:
        raise LabelError(f"{path}: no id column (expected `video_id` or `Id`); columns: {list(df.columns)}")
    ids = df[idcol].astype(str).str.strip()
    dup = ids[ids.duplicated()]
    if len(dup):
        raise LabelError(f"{path}: duplicate ids, e.g. {dup.iloc[0]!r} ({len(dup)} duplicates)")
    found = {}
    for canon, spellings in TARGETS.items():
        for s in spellings:
            if s in lower:
                found[canon] = lower[s]
                break
    want = [canonical_target(t) for t in targets] if targets else list(found)
    missing = [t for t in want if t not in found]
    if missing or not want:
        raise LabelError(f"{path}: no target column {missing or list(TARGETS)}; columns: {list(df.columns)}")
    labels = pd.DataFrame({t: pd.to_numeric(df[found[t]], errors="coerce").to_numpy() for t in want}, index=ids.to_numpy())
    labels.index.name = "video_id"
    if labels.notna().sum().min() == 0:
        raise LabelError(f"{path}: target column(s) {want} hold no numbers")
    texts = pd.DataFrame(index=labels.index)
    for t in TEXT_COLUMNS:
        if t in lower:
            texts[t] = df[lower[t]].to_numpy()
    return labels, texts
