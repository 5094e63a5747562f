"""The one SQL text both engines run: type, de-duplicate, classify and aggregate a watch log.

Engines register raw views named `log_parquet` / `log_csv` (and `videos_parquet` /
`videos_csv` when a video table is given) over the input files; this module writes
SQL that DuckDB and Spark SQL parse identically (only identifier quoting differs).

The query returns one row per (video_id, reason): `reason` is NULL for kept views,
else the first rejection reason a row meets, in the order of `REASONS`.
"""

from __future__ import annotations

import dataclasses

from reelscore.labels.watchlog_source import Source

# Rejection reasons in the order they are tested (first match wins).
REASONS = (
    "duplicate",
    "view_id_conflict",
    "video_id_missing",
    "unknown_video",
    "watch_time_missing",
    "watch_time_nan",
    "watch_time_negative",
    "duration_inconsistent",
    "duration_missing",
    "duration_nonpositive",
    "duration_out_of_range",
    "watch_time_absurd",
)

ENGAGED_AFTER_S = 5.0
MIN_DURATION_S = 1.0
MAX_DURATION_S = 600.0

_TRUE = "('1','1.0','true','t','yes','y')"
_FALSE = "('0','0.0','false','f','no','n')"


@dataclasses.dataclass(frozen=True)
class Dialect:
    """Engine-specific spelling: identifier quote character."""

    quote: str
    inline_cte: str = ""  # DuckDB would otherwise materialise a CTE used twice (the whole log)

    def q(self, name: str) -> str:
        """Quote an identifier."""
        return f"{self.quote}{name.replace(self.quote, self.quote * 2)}{self.quote}"


DUCKDB = Dialect('"', "NOT MATERIALIZED ")
SPARK = Dialect("`")


def _liked_expr(col: str, arrow_type: str, fmt: str) -> str:
    if fmt == "parquet" and arrow_type == "bool":
        return f"CASE WHEN {col} THEN 1 WHEN NOT {col} THEN 0 END"
    if fmt == "parquet" and (arrow_type.startswith(("int", "uint", "float", "double", "decimal"))):
        return f"CASE WHEN {col} = 1 THEN 1 WHEN {col} = 0 THEN 0 END"
    s = f"lower(trim(CAST({col} AS STRING)))"
    return f"CASE WHEN {s} IN {_TRUE} THEN 1 WHEN {s} IN {_FALSE} THEN 0 END"


def _view_id_type(src: Source) -> str:
    t = src.types.get("view_id", "")
    all_parquet = all(f.fmt == "parquet" for f in src.files)
    return "BIGINT" if all_parquet and t.startswith(("int", "uint")) else "STRING"


def _typed_select(src: Source, fmt: str, view: str, dialect: Dialect, extra_cols: list[str],
                  key_cols: list[str] | None = None) -> str:
    m = src.mapping
    q = dialect.q
    parts = [
        f"CAST({q(m['video_id'])} AS STRING) AS video_id",
        f"TRY_CAST({q(m['watch_time'])} AS DOUBLE) AS w",
        (_liked_expr(q(m["liked"]), src.types["liked"], fmt) if "liked" in m else "CAST(NULL AS INT)") + " AS liked",
        (f"TRY_CAST({q(m['duration'])} AS DOUBLE)" if "duration" in m else "CAST(NULL AS DOUBLE)") + " AS d_log",
    ]
    if "view_id" in m:
        parts.append(f"TRY_CAST({q(m['view_id'])} AS {_view_id_type(src)}) AS view_id")
    elif key_cols:
        # an event key made of several columns (e.g. user + timestamp): one string; a NULL part = no key
        nulls = " OR ".join(f"{q(c)} IS NULL" for c in key_cols)
        joined = ", ".join(f"CAST({q(c)} AS STRING)" for c in key_cols)
        parts.append(f"CASE WHEN {nulls} THEN NULL ELSE concat_ws('|', {joined}) END AS view_id")
    mixed = len({f.fmt for f in src.files}) > 1
    for i, c in enumerate(extra_cols):
        parts.append((f"CAST({q(c)} AS STRING)" if mixed else q(c)) + f" AS x{i}")
    return f"SELECT {', '.join(parts)} FROM {view}"


def _videos_select(vsrc: Source, fmt: str, view: str, dialect: Dialect) -> str:
    q = dialect.q
    m = vsrc.mapping
    return (
        f"SELECT CAST({q(m['video_id'])} AS STRING) AS video_id, "
        f"TRY_CAST({q(m['duration'])} AS DOUBLE) AS d FROM {view}"
    )


def build_label_sql(
    src: Source,
    videos: Source | None,
    dialect: Dialect,
    dedup: bool = True,
    max_loops: float = 20.0,
    key_cols: list[str] | None = None,
) -> str:
    """SQL returning per (video_id, reason): n_rows, n_dup_extra, sum_w, n_engaged, n_liked, n_liked_known, d_min, d_max.

    Rows are de-duplicated only on a real event key: the view id column, or `key_cols` joined into one
    (e.g. user + timestamp). Without a key every row is a view: two viewers may well log the same numbers.
    """
    use_view_id = dedup and ("view_id" in src.mapping or bool(key_cols))
    extra_cols: list[str] = []
    typed = " UNION ALL ".join(
        _typed_select(src, fmt, f"log_{fmt}", dialect, extra_cols, key_cols if use_view_id else None)
        for fmt in ("parquet", "csv")
        if src.by_format(fmt)
    )
    ctes = [f"typed AS {dialect.inline_cte}({typed})"]
    if use_view_id:
        # Rows sharing a view id are one view logged more than once: merge them into the most
        # complete record (longest valid watch, liked if any copy says so). A hash aggregate,
        # not a window, so it streams and spills; copies naming different videos or durations
        # cannot be merged and are all rejected (view_id_conflict).
        # Only views that occur more than once need merging: find their ids with a lean count,
        # then aggregate just those rows and pass all others straight through.
        ctes.append(
            "dupids AS (SELECT view_id AS dup_view_id FROM typed WHERE view_id IS NOT NULL "
            "GROUP BY view_id HAVING count(*) > 1)"
        )
        ctes.append(
            "tagged AS (SELECT t.*, CASE WHEN u.dup_view_id IS NULL THEN 0 ELSE 1 END AS is_dup "
            "FROM typed t LEFT JOIN dupids u ON t.view_id = u.dup_view_id)"
        )
        ctes.append(
            "vmerged AS (SELECT view_id, count(*) AS n, "
            "min(video_id) AS vid_min, max(video_id) AS vid_max, "
            "max(CASE WHEN isnan(w) THEN NULL ELSE w END) AS w_clean, max(w) AS w_any, "
            "max(liked) AS liked, min(d_log) AS d_min, max(d_log) AS d_max, "
            "count(video_id) AS n_vid, count(d_log) AS n_d "
            "FROM tagged WHERE is_dup = 1 GROUP BY view_id)"
        )
        ctes.append(
            "vflag AS (SELECT *, CASE WHEN vid_min <> vid_max OR d_min <> d_max OR (n_vid > 0 AND n_vid < n) "
            "OR (n_d > 0 AND n_d < n) THEN 1 ELSE 0 END AS conflict FROM vmerged)"
        )
        ctes.append(
            "dedup AS (SELECT vid_min AS video_id, coalesce(w_clean, w_any) AS w, liked, d_min AS d_log, "
            "CASE WHEN conflict = 1 THEN n ELSE 1 END AS wt, CASE WHEN conflict = 1 THEN 0 ELSE n - 1 END AS extra, "
            "conflict FROM vflag "
            "UNION ALL SELECT video_id, w, liked, d_log, CAST(1 AS BIGINT) AS wt, CAST(0 AS BIGINT) AS extra, "
            "0 AS conflict FROM tagged WHERE is_dup = 0)"
        )
    else:
        ctes.append(
            "dedup AS (SELECT video_id, w, liked, d_log, CAST(1 AS BIGINT) AS wt, CAST(0 AS BIGINT) AS extra, "
            "0 AS conflict FROM typed)"
        )
    if videos is not None:
        vsel = " UNION ALL ".join(
            _videos_select(videos, fmt, f"videos_{fmt}", dialect)
            for fmt in ("parquet", "csv")
            if videos.by_format(fmt)
        )
        ctes.append(
            f"vids AS (SELECT video_id, min(d) AS d_min, max(d) AS d_max FROM ({vsel}) vt "
            "WHERE video_id IS NOT NULL GROUP BY video_id)"
        )
        dur = "v.d_min"
        join = "LEFT JOIN vids v ON t.video_id = v.video_id"
        unknown = "WHEN v.video_id IS NULL THEN 'unknown_video' "
        inconsistent = "WHEN v.d_min <> v.d_max THEN 'duration_inconsistent' "
    else:
        dur, join, unknown, inconsistent = "t.d_log", "", "", ""
    ctes.append(
        f"cls AS (SELECT t.video_id AS video_id, t.w AS w, t.liked AS liked, {dur} AS d, t.wt AS wt, t.extra AS extra, "
        "CASE WHEN t.conflict = 1 THEN 'view_id_conflict' "
        "WHEN t.video_id IS NULL THEN 'video_id_missing' "
        f"{unknown}"
        "WHEN t.w IS NULL THEN 'watch_time_missing' "
        "WHEN isnan(t.w) THEN 'watch_time_nan' "
        "WHEN t.w < 0 THEN 'watch_time_negative' "
        f"{inconsistent}"
        f"WHEN {dur} IS NULL OR isnan({dur}) THEN 'duration_missing' "
        f"WHEN {dur} <= 0 THEN 'duration_nonpositive' "
        f"WHEN {dur} < {MIN_DURATION_S!r} OR {dur} > {MAX_DURATION_S!r} THEN 'duration_out_of_range' "
        f"WHEN t.w > {float(max_loops)!r} * {dur} THEN 'watch_time_absurd' "
        f"END AS reason FROM dedup t {join})"
    )
    select = (
        "SELECT video_id, reason, sum(wt) AS n_rows, sum(extra) AS n_dup_extra, sum(w) AS sum_w, "
        f"sum(CASE WHEN w > {ENGAGED_AFTER_S!r} THEN 1 ELSE 0 END) AS n_engaged, "
        "sum(liked) AS n_liked, count(liked) AS n_liked_known, min(d) AS d_min, max(d) AS d_max "
        "FROM cls GROUP BY video_id, reason"
    )
    return "WITH " + ",\n".join(ctes) + "\n" + select


def build_bare_sql(dialect: Dialect = DUCKDB) -> str:
    """The plain aggregation without validation or de-duplication (benchmark context only)."""
    return (
        "SELECT video_id, count(*) AS views, avg(watch_time_s) AS awt_s, "
        "avg(CASE WHEN watch_time_s > 5 THEN 1.0 ELSE 0.0 END) AS ecr, "
        "avg(CAST(liked AS INT)) AS like_rate, min(duration_s) AS duration_s FROM log_parquet GROUP BY video_id"
    )
