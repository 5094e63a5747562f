"""Run the label SQL on DuckDB: embedded, multi-threaded and out-of-core (memory limit + spill folder)."""

from __future__ import annotations

import re

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from reelscore.labels.watchlog_source import Source

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def default_memory_limit() -> str:
    """Half of physical memory, capped at 8 GiB: leaves room for Python and other processes."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return f"{max(1, min(8, int(total / 2 / (1 << 30))))}GB"


def connect(
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike | None = None,
    threads: int | None = None,
    track_progress: bool = False,
) -> "duckdb.DuckDBPyConnection":
    """A DuckDB connection set up for out-of-core aggregation."""
    import duckdb

    con = duckdb.connect(database=":memory:")
    # DuckDB's own bar would print on stdout; we read its progress and draw ours on stderr.
    con.execute(f"SET enable_progress_bar={'true' if track_progress else 'false'}")
    con.execute("SET enable_progress_bar_print=false")
    con.execute(f"SET memory_limit='{memory_limit or default_memory_limit()}'")
    tmp = Path(temp_directory) if temp_directory else Path(tempfile.gettempdir()) / "reelscore-duckdb"
    tmp.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory='{str(tmp).replace(chr(39), chr(39) * 2)}'")
    # Row order of the result does not matter; dropping it lets DuckDB stream and spill freely.
    con.execute("SET preserve_insertion_order=false")
    if threads:
        con.execute(f"SET threads={int(threads)}")
    return con


def register_source(con, src: Source, prefix: str, delimiter: str = ",") -> None:
    """Create views `<prefix>_parquet` / `<prefix>_csv` over the source's files (all CSV cells as text)."""
    pq_files = src.by_format("parquet")
    csv_files = src.by_format("csv")
    if pq_files:
        con.execute(f"CREATE OR REPLACE VIEW {prefix}_parquet AS SELECT * FROM read_parquet({_sql_list(pq_files)}, union_by_name=true)")
    if csv_files:
        d = delimiter.replace("'", "''")
        con.execute(
            f"CREATE OR REPLACE VIEW {prefix}_csv AS SELECT * FROM read_csv({_sql_list(csv_files)}, "
            f"header=true, all_varchar=true, delim='{d}', union_by_name=true)"
        )


def _fetch_arrow(con, sql: str):
    # DuckDB 2.0 prefers relation.to_arrow_table (no extra copy); older releases have fetch_arrow_table.
    rel = con.sql(sql)
    fn = getattr(rel, "to_arrow_table", None) or getattr(rel, "fetch_arrow_table", None) or rel.arrow
    return fn()


def run_query(con, sql: str, description: str = "aggregating views", show_progress: bool = True) -> "pa.Table":
    """Execute `sql` and return an Arrow table, with a progress bar fed by DuckDB's own query progress."""
    if not show_progress:
        return _fetch_arrow(con, sql)
    from reelscore.common.progress import make_progress

    result: dict = {}

    def work() -> None:
        try:
            result["table"] = _fetch_arrow(con, sql)
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    th = threading.Thread(target=work, daemon=True)
    t0 = time.perf_counter()
    with make_progress() as prog:
        task = prog.add_task(description, total=100, rate="")
        th.start()
        while th.is_alive():
            th.join(0.5)
            try:
                pct = con.query_progress()
            except Exception:  # progress is advisory; never fail the query over it
                pct = -1
            if pct is not None and pct >= 0:
                prog.update(task, completed=min(pct, 100.0), rate=f"{time.perf_counter() - t0:.0f}s")
        prog.update(task, completed=100)
    if "error" in result:
        raise result["error"]
    return result["table"]


def run_labels_duckdb(
    src: Source,
    videos: Source | None,
    sql: str,
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike | None = None,
    threads: int | None = None,
    delimiter: str = ",",
    show_progress: bool = True,
) -> "pd.DataFrame":
    """Register the inputs and run the label SQL on DuckDB; returns a pandas DataFrame of groups."""
    import duckdb

    con = connect(memory_limit, temp_directory, threads, track_progress=show_progress)
    try:
        register_source(con, src, "log", delimiter)
        if videos is not None:
            register_source(con, videos, "videos", delimiter)
        table = run_query(con, sql, show_progress=show_progress)
    except duckdb.InvalidInputException as exc:
        raise _input_error(exc, src, videos) from None
    finally:
        con.close()
    return table.to_pandas()


def _input_error(exc: Exception, src: Source, videos: Source | None) -> Exception:
    """DuckDB's multi-line CSV report → one line naming the file and the reason."""
    from reelscore.labels.watchlog_source import LogInputError

    msg = str(exc)
    m = re.search(r"file = (.+)", msg)
    files = [str(getattr(f, "path", f)) for f in src.files + (videos.files if videos is not None else [])]
    where = m.group(1).strip() if m else (files[0] if len(files) == 1 else ", ".join(files[:3]))
    line = re.search(r"CSV Error on Line: (\d+)", msg)
    at = f" (line {line.group(1)})" if line else ""
    if "not utf-8 encoded" in msg.lower() or "invalid unicode" in msg.lower():
        return LogInputError(f"{where}: not UTF-8 text{at}; re-save the file as UTF-8")
    first = next((ln.strip() for ln in msg.splitlines() if ln.strip()), "unreadable input")
    return LogInputError(f"{where}: {first}{at}")
