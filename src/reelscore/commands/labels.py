"""Labels verbs: `reelscore labels` (watch logs -> engagement labels) and `reelscore simulate-views`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

LABELS_HELP = """Compute per-video engagement labels from a watch log (one row per view).

LOG is a CSV or Parquet file, a glob (quote it) or a folder. Columns (rename with the --*-col flags): video_id, watch_time_s (seconds watched in that view; may exceed the duration when the clip loops), optional liked (bool/0-1), optional duration_s, optional view_id. Durations may come from --videos FILE (video_id,duration_s) instead.

Output columns: video_id, duration_s, views, awt_s, awp, nawp, ecr, like_rate, low_views. ECR = share of views longer than 5 s; NAWP = min(AWT / f_max(d), 1) with f_max(d) = a*d + b (--fmax paper: a=0.556, b=5.64; fit: 97th-percentile AWT per 1-s duration bin, then least squares, saved as <stem>.fmax.json beside --out; or a saved FILE.json).

Rejected rows are counted by reason (duplicate, view_id_conflict, video_id_missing, unknown_video, watch_time_missing, watch_time_nan, watch_time_negative, duration_inconsistent, duration_missing, duration_nonpositive, duration_out_of_range, watch_time_absurd) in the summary printed and saved as <stem>.summary.json beside --out. Duplicates: rows sharing a view_id are merged into one view (longest watch, liked if any copy is); without a view_id column, exact copies of a whole row. See docs/labels.md.

Exit status: 0 labels written (rows may have been rejected, see summary), 1 unusable input (missing column, no files, nothing valid, fit impossible), 2 usage error.

\b
Examples:
  reelscore labels views.parquet --out labels.parquet
  reelscore labels 'logs/*.csv' --videos videos.csv --fmax fit --out labels.csv --plots figs/
  reelscore labels views.parquet --out labels.parquet --engine spark --spark-master spark://host:7077
"""

SIM_HELP = """Write a simulated view log (Parquet, marked as simulated in its metadata).

Per video a duration (5-60 s) and a hidden appeal; per view a swipe behaviour: many viewers leave in the first seconds, others watch a duration-dependent share, some loop; likes are rare. NAWP and ECR come out bimodal and strongly correlated, as in the SnapUGC paper. --truth writes the generating parameters (and expected ECR/AWT) per video; it also serves as a --videos table.

\b
Examples:
  reelscore simulate-views --videos 2000 --views-per-video 2500 --out views.parquet --truth truth.parquet
  reelscore simulate-views --video-table my_clips.csv --views-per-video 3000 --out views.parquet
"""


def _err(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)


def _print_summary(summary: dict, paths: dict) -> None:
    rej = summary["rows_rejected"]
    sim = " [SIMULATED LOG]" if summary.get("simulated") else ""
    typer.echo(f"labels{sim}: {summary['videos']} videos from {summary['views']} views "
               f"({summary['rows_read']} rows read, {summary['rows_rejected_total']} rejected) "
               f"on {summary['engine']} in {summary['elapsed_s']:.1f}s")
    for reason, n in rej.items():
        typer.echo(f"{summary['input']}: rejected {n} rows: {reason}", err=True)
    for f in summary.get("files_rejected", []):
        typer.echo(f"{f['path']}: rejected file: {f['reason']} ({f['message']})", err=True)
    if summary.get("liked_unknown"):
        typer.echo(f"{summary['input']}: {summary['liked_unknown']} kept views have an unknown 'liked' value "
                   "(left out of like_rate)", err=True)
    fm = summary["fmax"]
    typer.echo(f"f_max(d) = {fm['a']:.6g}*d + {fm['b']:.6g} ({fm['source']})")
    low = summary["videos_low_views"]
    typer.echo(f"low views (< {summary['min_views']}): {low} videos"
               + (" dropped" if summary["videos_dropped_low_views"] else " flagged in low_views"))
    bm = summary["bimodality"]

    def fmt(x):
        return "n/a" if x is None else f"{x:.3f}"

    typer.echo(f"ECR-NAWP correlation (on {summary['stats_on']}): Pearson {fmt(summary['ecr_nawp_plcc'])}, "
               f"Spearman {fmt(summary['ecr_nawp_srcc'])}")
    typer.echo(f"bimodality coefficient (> 0.556 suggests bimodal): NAWP {fmt(bm['nawp']['coefficient'])}, "
               f"ECR {fmt(bm['ecr']['coefficient'])}")
    for k, p in paths.items():
        typer.echo(f"wrote {k}: {p}")


def _labels_cmd(
    log: str = typer.Argument(..., help="Watch log: CSV/Parquet file, glob or folder.", show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Output labels (.parquet or .csv).", show_default=False),
    videos: Optional[str] = typer.Option(None, "--videos", help="Video table (CSV/Parquet) with video_id, duration_s."),
    fmax: str = typer.Option("paper", "--fmax", help="paper | fit | FILE.json"),
    min_views: int = typer.Option(2000, "--min-views", help="Videos with fewer views are flagged low_views."),
    drop_low_views: bool = typer.Option(False, "--drop-low-views", help="Leave low-view videos out of the output (counted in the summary)."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb | spark"),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", help="Spark master URL (default local[*])."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Write Fig. 2-style PNG panels into this folder."),
    video_id_col: Optional[str] = typer.Option(None, "--video-id-col", help="Log column with the video id [video_id]."),
    watch_time_col: Optional[str] = typer.Option(None, "--watch-time-col", help="Log column with seconds watched [watch_time_s]."),
    liked_col: Optional[str] = typer.Option(None, "--liked-col", help="Log column with liked (bool/0-1) [liked, if present]."),
    duration_col: Optional[str] = typer.Option(None, "--duration-col", help="Duration column in the log or video table [duration_s]."),
    view_id_col: Optional[str] = typer.Option(None, "--view-id-col", help="Log column identifying a view, used to find duplicates [view_id, if present]."),
    keep_duplicates: bool = typer.Option(False, "--keep-duplicates", help="Do not de-duplicate, even on an event key."),
    dedup_key: Optional[str] = typer.Option(None, "--dedup-key", help="Comma-separated columns that identify one view event (when the log has no view id); without a key no row is dropped as a duplicate."),
    max_loops: float = typer.Option(20.0, "--max-loops", help="Watch times above this many plays of the clip are rejected as absurd."),
    memory_limit: Optional[str] = typer.Option(None, "--memory-limit", help="DuckDB memory limit, e.g. 4GB (default: half the RAM, at most 8GB)."),
    temp_dir: Optional[Path] = typer.Option(None, "--temp-dir", help="DuckDB spill folder (default: system temp)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="DuckDB threads (default: all cores)."),
    delimiter: str = typer.Option(",", "--delimiter", help="CSV field delimiter."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    from reelscore.labels.watchlog import compute_labels, save_outputs
    from reelscore.labels.watchlog_source import LogColumns

    if engine not in ("duckdb", "spark"):
        _err(f"--engine: unknown engine '{engine}' (use duckdb or spark)")
        raise typer.Exit(2)
    if out.suffix.lower() not in (".parquet", ".csv"):
        _err(f"{out}: --out must end in .parquet or .csv")
        raise typer.Exit(2)
    cols = LogColumns(video_id_col, watch_time_col, liked_col, duration_col, view_id_col)
    vcols = LogColumns(video_id=video_id_col, duration=duration_col)
    try:
        df, summary = compute_labels(
            log, videos=videos, fmax=fmax, min_views=min_views, engine=engine,
            drop_low_views=drop_low_views, columns=cols, video_columns=vcols, dedup=not keep_duplicates,
            dedup_key=[c.strip() for c in dedup_key.split(",") if c.strip()] if dedup_key else None,
            max_loops=max_loops, spark_master=spark_master, memory_limit=memory_limit,
            temp_directory=temp_dir, threads=threads, delimiter=delimiter,
        )
    except (ValueError, RuntimeError) as exc:  # LogInputError, bad f_max file, impossible fit, no Spark
        _err(str(exc))
        raise typer.Exit(1)
    if summary["views"] == 0:
        _err(f"{log}: no valid views ({summary['rows_read']} rows read, all rejected: "
             f"{', '.join(f'{k}={v}' for k, v in summary['rows_rejected'].items()) or 'empty'})")
        raise typer.Exit(1)
    paths = save_outputs(df, summary, out)
    if plots is not None:
        from reelscore.common.atomic import write_text_atomic
        from reelscore.labels.label_plots import plot_labels

        written = plot_labels(df, plots, summary["fmax"], summary["ecr_nawp_plcc"])
        paths["plots"] = plots
        summary["plots"] = [str(p) for p in written]
        write_text_atomic(paths["summary"], json.dumps(summary, indent=2) + "\n")
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(summary, paths)


def _simulate_cmd(
    videos: int = typer.Option(0, "--videos", help="Number of made-up videos (or give --video-table).", show_default=False),
    views_per_video: int = typer.Option(..., "--views-per-video", help="Views per video.", show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Output log (.parquet).", show_default=False),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    truth: Optional[Path] = typer.Option(None, "--truth", help="Also write the per-video generating parameters here (.parquet)."),
    chunk_rows: int = typer.Option(2_000_000, "--chunk-rows", help="Views generated and written per chunk (bounds memory)."),
    video_table: Optional[Path] = typer.Option(None, "--video-table", help="Simulate views of these videos: CSV/Parquet with Id, duration_s and optionally appeal in [0, 1]."),
) -> None:
    from reelscore.labels.simulate import simulate_views

    if video_table is None and videos < 1:
        _err("simulate-views: give --videos N or --video-table FILE")
        raise typer.Exit(2)
    try:
        info = simulate_views(videos, views_per_video, out, seed=seed, truth=truth, chunk_rows=chunk_rows,
                              video_table=video_table)
    except ValueError as exc:
        _err(str(exc))
        raise typer.Exit(2)
    typer.echo(f"wrote SIMULATED log {info['out']}: {info['views']} views of {info['videos']} videos (seed {seed})"
               + (f"; truth {info['truth']}" if info["truth"] else ""))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Register `labels` and `simulate-views`."""
    app.command("labels", help=LABELS_HELP, no_args_is_help=True)(_labels_cmd)
    app.command("simulate-views", help=SIM_HELP, no_args_is_help=True)(_simulate_cmd)
