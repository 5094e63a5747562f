"""Read a manifest of videos: `Id,path[,title,description,caption]` or the SnapUGC `Id,Title,Description,...`."""

from __future__ import annotations

import os
from pathlib import Path

from reelscore.common.tables import find_column, read_table

COLUMNS = ["video_id", "path", "title", "description", "caption"]


def read_manifest(path: str | os.PathLike, videos_dir: str | os.PathLike | None = None):
    """Return a DataFrame with columns video_id, path (NaN for text-only rows), title, description, caption."""
    import numpy as np
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: manifest not found")
    raw = read_table(path, role="manifest")
    lower = {c.strip().lower(): c for c in raw.columns}
    id_col = find_column(raw.columns, "id", "video_id")
    if id_col is None:
        raise ValueError(f"{path}: manifest needs an `Id` (or the older `video_id`) column; it has {list(raw.columns)}")
    if str(id_col).strip().lower() == "video_id":
        import sys

        # accepted for one more release (docs/cli.md): the project's id column is `Id`
        print(f"note: {path}: column 'video_id' read as the id; the project's id column is 'Id' (docs/cli.md)",
              file=sys.stderr)
    df = pd.DataFrame({"video_id": raw[id_col].astype(str).str.strip()})
    if df["video_id"].isin(["", "nan"]).any():
        bad = int(df["video_id"].isin(["", "nan"]).sum())
        raise ValueError(f"{path}: {bad} row(s) with an empty video id")
    dup = df["video_id"][df["video_id"].duplicated()].unique()
    if len(dup):
        raise ValueError(f"{path}: duplicate video ids: {', '.join(map(str, dup[:5]))}{' ...' if len(dup) > 5 else ''}")
    for col in ("title", "description", "caption"):
        df[col] = raw[lower[col]] if col in lower else np.nan
    base = Path(videos_dir) if videos_dir is not None else None
    if "path" in lower:
        paths = raw[lower["path"]]

        def _resolve(p: object) -> object:
            if not isinstance(p, str) or not p.strip():
                return np.nan
            q = Path(p.strip())
            if not q.is_absolute():
                q = (base / q) if base is not None else (path.parent / q)
            return str(q)

        df["path"] = paths.map(_resolve)
    elif base is not None:
        df["path"] = [str(base / f"{vid}.mp4") for vid in df["video_id"]]
    elif id_col == lower.get("id"):
        raise ValueError(f"{path}: SnapUGC-style manifest (Id, Title, ...) needs --videos-dir with <Id>.mp4 files, or a `path` column")
    else:
        df["path"] = np.nan
    return df[COLUMNS].reset_index(drop=True)
