"""Engagement labels from watch logs: AWT, AWP, NAWP, ECR and like rate per video (SnapUGC).

Definitions (per video, over its kept views):
- views      number of kept views;
- awt_s      mean watch time (s); a view may exceed the duration when the clip loops;
- awp        awt_s / duration_s;
- ecr        share of views with watch_time_s > 5 (the paper's P(watch > 5 s));
- nawp       min(awt_s / f_max(duration_s), 1), f_min = 0 (see `reelscore.labels.fmax`);
- like_rate  likes / views whose `liked` value is known (NaN without a liked column);
- low_views  views < min_views (the paper kept videos with more than 2000 views).

Rows are rejected, and counted by reason, never dropped silently (see `REASONS`):
duplicates (rows sharing an event key beyond the kept one: the view id column, else
user + timestamp columns, else the columns named with --dedup-key; a log with no
event key keeps every row, since two viewers can log identical rows), missing video id, video id absent from the video
table, missing / NaN / negative watch time, conflicting durations of one video,
missing / non-positive durations, durations outside 1-600 s, and absurd watch
times (more than `max_loops` plays of the clip, including +inf).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from reelscore.common.jsonsafe import json_safe
from reelscore.labels.fmax import PAPER_FMAX, FMax, fit_fmax, load_fmax, nawp_from_awt
from reelscore.labels.watchlog_source import LogColumns, LogInputError, resolve_source
from reelscore.labels.watchlog_sql import DUCKDB, REASONS, SPARK, build_label_sql
from reelscore.labels.watchlog_stats import bimodality

OUTPUT_COLUMNS = ["video_id", "duration_s", "views", "awt_s", "awp", "nawp", "ecr", "like_rate", "low_views"]
DURATION_TOLERANCE_S = 1e-6
SIMULATED_KEY = "reelscore.simulated"


def _progress_default(show_progress: bool | None) -> bool:
    if show_progress is not None:
        return show_progress
    return os.environ.get("REELSCORE_NO_PROGRESS") != "1"


def resolve_fmax_spec(fmax) -> FMax | str:
    """'paper' -> PAPER_FMAX, 'fit' stays 'fit', an FMax passes, anything else is a JSON path."""
    if isinstance(fmax, FMax):
        return fmax
    if fmax in (None, "paper"):
        return PAPER_FMAX
    if fmax == "fit":
        return "fit"
    return load_fmax(fmax)


def _finish(groups, min_views: int, liked_present: bool):
    """Split engine groups into per-video aggregates and rejection counts."""
    import pandas as pd

    g = groups.copy()
    for c in ("n_rows", "n_dup_extra", "n_engaged", "n_liked", "n_liked_known"):
        g[c] = pd.to_numeric(g[c], errors="coerce").fillna(0).astype("int64")
    for c in ("sum_w", "d_min", "d_max"):
        g[c] = pd.to_numeric(g[c], errors="coerce").astype("float64")
    rejected = {r: 0 for r in REASONS}
    rejected["duplicate"] += int(g["n_dup_extra"].sum())
    bad = g[g["reason"].notna()]
    for reason, n in bad.groupby("reason")["n_rows"].sum().items():
        rejected[str(reason)] = rejected.get(str(reason), 0) + int(n)
    ok = g[g["reason"].isna()].copy()
    incons = (ok["d_max"] - ok["d_min"]) > DURATION_TOLERANCE_S
    rejected["duration_inconsistent"] += int(ok.loc[incons, "n_rows"].sum())
    ok = ok[~incons]
    rows_read = int(g["n_rows"].sum() + g["n_dup_extra"].sum())
    liked_unknown = int((ok["n_rows"] - ok["n_liked_known"]).sum()) if liked_present else None
    views = ok["n_rows"].to_numpy(dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        like_rate = np.where(ok["n_liked_known"] > 0, ok["n_liked"] / ok["n_liked_known"].where(ok["n_liked_known"] > 0), np.nan)
    df = pd.DataFrame(
        {
            "video_id": ok["video_id"].astype(str).to_numpy(),
            "duration_s": ok["d_min"].to_numpy(),
            "views": views,
            "awt_s": ok["sum_w"].to_numpy() / views,
            "ecr": ok["n_engaged"].to_numpy() / views,
            "like_rate": like_rate.astype(float),
        }
    )
    df["low_views"] = df["views"] < int(min_views)
    df = df.sort_values("video_id", kind="stable").reset_index(drop=True)
    return df, rejected, rows_read, liked_unknown


def _corr(a, b) -> tuple[float | None, float | None]:
    from scipy import stats

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return None, None
    return float(stats.pearsonr(a, b).statistic), float(stats.spearmanr(a, b).statistic)


USER_COLUMNS = ("user_id", "viewer_id", "user", "uid")
TIME_COLUMNS = ("timestamp", "ts", "event_time", "viewed_at", "event_ts", "time")


def event_key(src, dedup_key: list[str] | None = None) -> tuple[list[str] | None, str]:
    """The event key duplicates are found on, and how the summary names it.

    The view id column; else the columns the user names (--dedup-key); else a user column plus a
    timestamp column (with the video id); else none: every row is kept and the summary says so.
    """
    from reelscore.labels.watchlog_source import LogInputError

    if "view_id" in src.mapping:
        return None, "view_id"
    common = set(src.files[0].columns)
    for f in src.files[1:]:
        common &= set(f.columns)
    if dedup_key:
        missing = [c for c in dedup_key if c not in common]
        if missing:
            raise LogInputError(f"{src.spec}: --dedup-key column(s) {', '.join(missing)} not in every log file "
                                f"(have: {', '.join(sorted(common)[:12])})")
        return list(dedup_key), "key: " + " + ".join(dedup_key)
    user = next((c for c in USER_COLUMNS if c in common), None)
    when = next((c for c in TIME_COLUMNS if c in common), None)
    if user and when:
        cols = [src.mapping["video_id"], user, when]
        return cols, "key: " + " + ".join(cols)
    return None, ("not checked: the log has no event key (a view id, user + timestamp, or --dedup-key), "
                  "so identical rows are counted as separate views")


def compute_labels(
    log,
    videos=None,
    fmax="paper",
    min_views: int = 2000,
    engine: str = "duckdb",
    *,
    drop_low_views: bool = False,
    columns: LogColumns | None = None,
    video_columns: LogColumns | None = None,
    dedup: bool = True,
    dedup_key: list[str] | None = None,
    max_loops: float = 20.0,
    spark_master: str | None = None,
    spark=None,
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike | None = None,
    threads: int | None = None,
    delimiter: str = ",",
    fit_quantile: float = 0.97,
    fit_min_videos_per_bin: int = 5,
    show_progress: bool | None = None,
) -> "tuple[pd.DataFrame, dict]":
    """Per-video engagement labels from a watch log; returns (DataFrame, summary dict)."""
    t0 = time.perf_counter()
    if engine not in ("duckdb", "spark"):
        raise ValueError(f"unknown engine '{engine}': use duckdb or spark")
    fmax_spec = resolve_fmax_spec(fmax)
    columns = columns or LogColumns()
    src = resolve_source(log, columns, ("video_id", "watch_time"), ("liked", "duration", "view_id"), "log", delimiter)
    vsrc = None
    if videos is not None:
        vc = video_columns or LogColumns(video_id=None, duration=None)
        vsrc = resolve_source(videos, vc, ("video_id", "duration"), (), "video table", delimiter)
    elif "duration" not in src.mapping:
        raise LogInputError(
            f"{log}: no durations: the log has no '{columns.duration or 'duration_s'}' column and no --videos "
            "table was given (map it with --duration-col or pass --videos FILE)"
        )
    key_cols, dedup_mode = event_key(src, dedup_key) if dedup else (None, "off")
    progress = _progress_default(show_progress)
    if engine == "duckdb":
        from reelscore.labels.watchlog_duckdb import run_labels_duckdb

        sql = build_label_sql(src, vsrc, DUCKDB, dedup=dedup, max_loops=max_loops, key_cols=key_cols)
        groups = run_labels_duckdb(src, vsrc, sql, memory_limit, temp_directory, threads, delimiter, progress)
    else:
        from reelscore.labels.spark_engine import run_labels_spark

        sql = build_label_sql(src, vsrc, SPARK, dedup=dedup, max_loops=max_loops, key_cols=key_cols)
        groups = run_labels_spark(src, vsrc, sql, master=spark_master, spark=spark, delimiter=delimiter, show_progress=progress)

    df, rejected, rows_read, liked_unknown = _finish(groups, min_views, "liked" in src.mapping)
    enough = df[~df["low_views"]]
    if isinstance(fmax_spec, str):  # "fit"
        try:
            fm = fit_fmax(enough["duration_s"], enough["awt_s"], quantile=fit_quantile, min_videos_per_bin=fit_min_videos_per_bin)
        except ValueError as exc:
            raise ValueError(f"{exc} (fit uses videos with views >= --min-views {min_views}: {len(enough)} of {len(df)})") from None
    else:
        fm = fmax_spec
    df["awp"] = df["awt_s"] / df["duration_s"]
    df["nawp"] = nawp_from_awt(df["awt_s"], df["duration_s"], fm)
    n_low = int(df["low_views"].sum())
    if drop_low_views:
        df = df[~df["low_views"]].reset_index(drop=True)
    df = df[OUTPUT_COLUMNS]

    stats_df = df[~df["low_views"]]
    stats_on = f"videos with views >= {min_views}"
    if len(stats_df) < 3:
        stats_df, stats_on = df, "all videos (fewer than 3 have enough views)"
    plcc, srcc = _corr(stats_df["ecr"], stats_df["nawp"])
    videos_without_views = None
    if vsrc is not None:
        videos_without_views = _count_table_only(vsrc, df, delimiter)
    summary = {
        "input": str(log),
        "videos_table": None if videos is None else str(videos),
        "engine": engine,
        "simulated": src.metadata.get(SIMULATED_KEY) == "true",
        "files": len(src.files),
        "files_rejected": src.rejected_files + ([] if vsrc is None else vsrc.rejected_files),
        "rows_read": rows_read,
        "views": int(rows_read - sum(rejected.values())),
        "rows_rejected": {k: v for k, v in rejected.items() if v},
        "rows_rejected_total": int(sum(rejected.values())),
        "dedup": dedup_mode,
        "max_loops": max_loops,
        "liked_column": "liked" in src.mapping,
        "liked_unknown": liked_unknown,
        "videos": int(len(df)),
        "min_views": int(min_views),
        "videos_low_views": n_low,
        "videos_dropped_low_views": n_low if drop_low_views else 0,
        "videos_in_table_without_views": videos_without_views,
        "fmax": fm.to_dict(),
        "nawp_capped_share": float((df["nawp"] >= 1.0).mean()) if len(df) else None,
        "stats_on": stats_on,
        "stats_videos": int(len(stats_df)),
        "ecr_nawp_plcc": plcc,
        "ecr_nawp_srcc": srcc,
        "bimodality": {"nawp": bimodality(stats_df["nawp"]), "ecr": bimodality(stats_df["ecr"])},
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }
    return df, json_safe(summary)


def _count_table_only(vsrc, df, delimiter: str) -> int:
    """Videos listed in the video table that have no kept view (a small query on the table only)."""
    import duckdb

    from reelscore.labels.watchlog_duckdb import register_source

    con = duckdb.connect()
    try:
        register_source(con, vsrc, "videos", delimiter)
        q = DUCKDB.q
        parts = [
            f"SELECT DISTINCT CAST({q(vsrc.mapping['video_id'])} AS STRING) AS video_id FROM videos_{fmt}"
            for fmt in ("parquet", "csv")
            if vsrc.by_format(fmt)
        ]
        ids = con.execute(" UNION ".join(parts)).fetchnumpy()["video_id"]
    finally:
        con.close()
    listed = {str(x) for x in ids if x is not None}
    return len(listed - set(df["video_id"]))


def summary_path(out: str | os.PathLike) -> Path:
    """Where the summary of `out` is saved: <stem>.summary.json beside it."""
    out = Path(out)
    return out.with_name(out.name.split(".")[0] + ".summary.json") if "." in out.name else out.with_name(out.name + ".summary.json")


def fmax_path(out: str | os.PathLike) -> Path:
    """Where a fitted f_max is saved beside `out`: <stem>.fmax.json."""
    out = Path(out)
    return out.with_name(out.name.split(".")[0] + ".fmax.json")


def write_labels(df, out: str | os.PathLike, summary: dict | None = None) -> Path:
    """Write labels as Parquet (with f_max/simulated metadata) or CSV, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from reelscore.common.atomic import atomic_path, write_table_atomic

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ValueError(f"{out}: output must end in .parquet or .csv")
    if suffix == ".csv":
        return write_table_atomic(df, out)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    if summary is not None:
        meta[b"reelscore.fmax"] = json.dumps(summary.get("fmax")).encode()
        meta[SIMULATED_KEY.encode()] = b"true" if summary.get("simulated") else b"false"
    table = table.replace_schema_metadata(meta)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    return out


def save_outputs(df, summary: dict, out: str | os.PathLike) -> dict[str, Path]:
    """Write labels, the summary JSON and (when fitted) the f_max JSON beside `out`."""
    from reelscore.common.atomic import clean_stale_temps, write_text_atomic

    for p in (Path(out), summary_path(out), fmax_path(out)):  # temps of a run killed mid-write
        clean_stale_temps(Path(p))

    paths = {"labels": write_labels(df, out, summary)}
    if summary.get("fmax", {}).get("source") == "fit":
        fm = FMax(**summary["fmax"])
        paths["fmax"] = fm.save(fmax_path(out))
        summary["fmax_file"] = str(paths["fmax"])
    summary["output"] = str(out)
    paths["summary"] = write_text_atomic(summary_path(out), json.dumps(summary, indent=2) + "\n")
    return paths
