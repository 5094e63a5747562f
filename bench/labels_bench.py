"""Benchmark `compute_labels` on a large simulated view log (DuckDB engine).

    .venv/bin/python bench/labels_bench.py --views 100_000_000 [--videos 40000] [--pandas-rows 10_000_000]

Simulates the log once into ~/.cache/reelscore/bench (never into git), then in ONE process
measures wall time and peak RSS (sampled every 20 ms, reset per phase) of:
  1. the bare DuckDB SQL of the same computation (the exact SQL compute_labels runs, same settings);
  2. compute_labels(...) (the library path: input checks, the same SQL, f_max, summary);
  3. compute_labels(..., dedup=False) and a minimal GROUP BY without validation (context);
  4. on the first --pandas-rows rows: compute_labels vs a plain pandas groupby of the same numbers.
Prints a Markdown block; --record appends it to bench/results/labels.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import platform
import sys
import threading
import time
from pathlib import Path


os.environ.setdefault("REELSCORE_NO_PROGRESS", "1")

CACHE = Path.home() / ".cache" / "reelscore" / "bench"


class PeakRSS:
    """Peak resident memory of this process while the block runs (sampled)."""

    def __init__(self, interval: float = 0.02):
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        gc.collect()
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self.t0 = time.perf_counter()
        self._th = threading.Thread(target=self._run, daemon=True)
        self._th.start()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self._stop.set()
        self._th.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def _gib(b: float) -> str:
    return f"{b / (1 << 30):.2f}"


def ensure_log(views: int, videos: int, seed: int = 0) -> Path:
    """Simulate the log once; reuse it when it exists."""
    from reelscore.labels.simulate import simulate_views

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"views_{views}_{videos}_s{seed}.parquet"
    if not path.exists():
        t0 = time.perf_counter()
        simulate_views(videos, views // videos, path, seed=seed, show_progress=True)
        print(f"simulated {views:,} views in {time.perf_counter() - t0:.1f}s -> {path}", flush=True)
    return path


def subset_log(path: Path, rows: int) -> Path:
    """The first row groups of `path` holding at least `rows` rows, as their own file."""
    import pyarrow.parquet as pq

    out = path.with_name(path.stem + f"_first{rows}.parquet")
    if out.exists():
        return out
    pf = pq.ParquetFile(path)
    groups, n = [], 0
    for i in range(pf.num_row_groups):
        groups.append(i)
        n += pf.metadata.row_group(i).num_rows
        if n >= rows:
            break
    pq.write_table(pf.read_row_groups(groups), out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", type=int, default=100_000_000)
    ap.add_argument("--videos", type=int, default=40_000)
    ap.add_argument("--pandas-rows", type=int, default=10_000_000)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--repeats", type=int, default=1, help="run the bare-SQL / compute_labels pair this many times, interleaved; report the fastest")
    ap.add_argument("--subset-only", action="store_true", help="only the pandas comparison on the first --pandas-rows rows")
    ap.add_argument("--record", action="store_true", help="append the Markdown block to bench/results/labels.md")
    ap.add_argument("--note", default="measured under shared load (2 cores shared with other developers)")
    args = ap.parse_args(argv)

    import duckdb
    import pandas as pd

    from reelscore.labels import compute_labels
    from reelscore.labels.watchlog_duckdb import connect, register_source
    from reelscore.labels.watchlog_source import LogColumns, resolve_source
    from reelscore.labels.watchlog_sql import DUCKDB, build_bare_sql, build_label_sql

    log = ensure_log(args.views, args.videos)
    tmpdir = CACHE / "duckdb_tmp"
    rows: list[tuple[str, float, int]] = []

    def bare(sql: str, path: Path) -> None:
        src = resolve_source(path, LogColumns(), ("video_id", "watch_time"), ("liked", "duration", "view_id"))
        con = connect(args.memory_limit, tmpdir)
        register_source(con, src, "log")
        con.sql(sql).to_arrow_table()
        con.close()

    src = resolve_source(log, LogColumns(), ("video_id", "watch_time"), ("liked", "duration", "view_id"))
    # untimed warm-up: the first phase should not pay for a cold page cache alone
    bare("SELECT count(view_id), sum(watch_time_s), count(liked), sum(duration_s), count(video_id) FROM log_parquet", log)
    phases = [
        ("bare DuckDB SQL, same computation (validation + view-id de-dup)", lambda: bare(build_label_sql(src, None, DUCKDB), log)),
        ("compute_labels (default: validation + view-id de-dup)", lambda: compute_labels(log, memory_limit=args.memory_limit, temp_directory=tmpdir, show_progress=False)),
        ("compute_labels --keep-duplicates (validation only)", lambda: compute_labels(log, dedup=False, memory_limit=args.memory_limit, temp_directory=tmpdir, show_progress=False)),
        ("minimal DuckDB GROUP BY (no validation, no de-dup)", lambda: bare(build_bare_sql(), log)),
    ]
    # the ratio pair runs interleaved --repeats times (shared machine: the fastest run is the least disturbed)
    order = [] if args.subset_only else [0, 1] * max(1, args.repeats) + [2, 3]
    walls: dict[int, list[float]] = {}
    peaks: dict[int, int] = {}
    for i in order:
        name, fn = phases[i]
        with PeakRSS() as m:
            fn()
        walls.setdefault(i, []).append(m.wall)
        peaks[i] = max(peaks.get(i, 0), m.peak)
        print(f"{name}: {m.wall:.1f}s, peak RSS {_gib(m.peak)} GiB", flush=True)
    for i in sorted(walls):
        runs = walls[i]
        label = phases[i][0] + (f" (best of {len(runs)}: {', '.join(f'{w:.1f}' for w in runs)} s)" if len(runs) > 1 else "")
        rows.append((label, min(runs), peaks[i]))

    sub = subset_log(log, args.pandas_rows)
    import pyarrow.parquet as pq

    n_sub = pq.ParquetFile(sub).metadata.num_rows

    def pandas_groupby() -> None:
        df = pd.read_parquet(sub, columns=["video_id", "watch_time_s", "liked", "duration_s"])
        df["engaged"] = df["watch_time_s"] > 5
        df.groupby("video_id", observed=True).agg(
            views=("watch_time_s", "size"), awt_s=("watch_time_s", "mean"), ecr=("engaged", "mean"),
            like_rate=("liked", "mean"), duration_s=("duration_s", "min"),
        )

    def pandas_same() -> None:
        # the same rules as compute_labels, in pandas: merge copies of a view, validate, aggregate
        df = pd.read_parquet(sub, columns=["view_id", "video_id", "watch_time_s", "liked", "duration_s"])
        df = df.sort_values(["view_id", "watch_time_s"], ascending=[True, False]).drop_duplicates("view_id")
        w, d = df["watch_time_s"], df["duration_s"]
        ok = df["video_id"].notna() & w.notna() & (w >= 0) & d.notna() & (d >= 1) & (d <= 600) & (w <= 20 * d)
        df = df[ok].assign(engaged=lambda x: x["watch_time_s"] > 5)
        df.groupby("video_id", observed=True).agg(
            views=("watch_time_s", "size"), awt_s=("watch_time_s", "mean"), ecr=("engaged", "mean"),
            like_rate=("liked", "mean"), duration_s=("duration_s", "min"),
        )

    sub_rows: list[tuple[str, float, int]] = []
    for name, fn in [
        (f"compute_labels on {n_sub:,} rows (validation + view-id de-dup)", lambda: compute_labels(sub, min_views=1, memory_limit=args.memory_limit, temp_directory=tmpdir, show_progress=False)),
        (f"pandas read_parquet + groupby on {n_sub:,} rows (no validation, no de-dup)", pandas_groupby),
        (f"compute_labels --keep-duplicates on {n_sub:,} rows", lambda: compute_labels(sub, min_views=1, dedup=False, memory_limit=args.memory_limit, temp_directory=tmpdir, show_progress=False)),
        (f"pandas, same rules (sort + drop_duplicates on view_id, validation, groupby) on {n_sub:,} rows", pandas_same),
    ]:
        with PeakRSS() as m:
            fn()
        sub_rows.append((name, m.wall, m.peak))
        print(f"{name}: {m.wall:.1f}s, peak RSS {_gib(m.peak)} GiB", flush=True)

    ref = rows[0][1] if rows else float("nan")
    lines = [
        f"### labels benchmark: {args.views:,} simulated views, {args.videos:,} videos",
        "",
        f"- date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, {_gib(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES'))} GiB RAM; "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, pandas {pd.__version__}",
        f"- command: `.venv/bin/python bench/labels_bench.py --views {args.views} --videos {args.videos} "
        f"--pandas-rows {args.pandas_rows} --memory-limit {args.memory_limit} --repeats {args.repeats}{' --subset-only' if args.subset_only else ''}`",
        f"- log: {log.stat().st_size / (1 << 30):.2f} GiB Parquet (zstd) in ~/.cache/reelscore/bench; DuckDB memory_limit "
        f"{args.memory_limit}, spill folder ~/.cache/reelscore/bench/duckdb_tmp; peak RSS = whole process, sampled every 20 ms",
        f"- {args.note}",
        "",
        "| phase | wall (s) | ratio to bare SQL | peak RSS (GiB) |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {n} | {w:.1f} | {w / ref:.2f}x | {_gib(p)} |" for n, w, p in rows] or ["| (skipped: --subset-only) | | | |"]
    pref = sub_rows[1][1]
    lines += ["", "| phase (subset that fits in pandas) | wall (s) | ratio to pandas | peak RSS (GiB) |", "|---|---:|---:|---:|"]
    lines += [f"| {n} | {w:.1f} | {w / pref:.2f}x | {_gib(p)} |" for n, w, p in sub_rows]
    block = "\n".join(lines) + "\n"
    print("\n" + block)
    if args.record:
        out = Path(__file__).resolve().parent / "results" / "labels.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        head = "" if out.exists() else "# labels benchmarks\n\nProduced by `bench/labels_bench.py`; newest last.\n\n"
        with out.open("a", encoding="utf-8") as fh:
            fh.write(head + block + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
