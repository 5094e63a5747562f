"""Find the files of a watch log (file, glob or folder; CSV or Parquet) and map their columns."""

from __future__ import annotations

import csv
import dataclasses
import glob as _glob
import os
from pathlib import Path

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz")


class LogInputError(ValueError):
    """A watch log or video table that cannot be used at all (one line: input and reason)."""


@dataclasses.dataclass
class LogColumns:
    """Names of the log's columns; None = the default name, used only if present (optional ones)."""

    video_id: str | None = None
    watch_time: str | None = None
    liked: str | None = None
    duration: str | None = None
    view_id: str | None = None


DEFAULT_NAMES = {
    "video_id": "video_id",
    "watch_time": "watch_time_s",
    "liked": "liked",
    "duration": "duration_s",
    "view_id": "view_id",
}
FLAG_OF = {
    "video_id": "--video-id-col",
    "watch_time": "--watch-time-col",
    "liked": "--liked-col",
    "duration": "--duration-col",
    "view_id": "--view-id-col",
}


@dataclasses.dataclass
class SourceFile:
    """One readable input file with its column names and (Parquet) Arrow types."""

    path: Path
    fmt: str  # "parquet" | "csv"
    columns: dict[str, str]  # name -> arrow type string ("string" for CSV)
    rows: int | None = None  # known for Parquet from its footer


@dataclasses.dataclass
class Source:
    """A resolved input: usable files, the role -> column mapping, and rejected files."""

    spec: str
    files: list[SourceFile]
    mapping: dict[str, str]  # role -> column name (only roles present)
    types: dict[str, str]  # role -> arrow type string from the first file
    rejected_files: list[dict]  # {"path", "reason", "message"}
    metadata: dict[str, str]  # key/value metadata of the first Parquet file

    def by_format(self, fmt: str) -> list[str]:
        """Paths (as strings) of the files in the given format."""
        return [str(f.path) for f in self.files if f.fmt == fmt]

    @property
    def known_rows(self) -> int | None:
        """Total rows when every file is Parquet (from footers), else None."""
        if all(f.rows is not None for f in self.files):
            return sum(f.rows for f in self.files)  # type: ignore[misc]
        return None


def _fmt_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def expand_paths(spec: str | os.PathLike) -> list[Path]:
    """A file, a glob, or a folder (its *.parquet / *.csv files) -> sorted list of paths."""
    s = str(spec)
    if any(ch in s for ch in "*?["):
        paths = [Path(p) for p in sorted(_glob.glob(s, recursive=True)) if Path(p).is_file()]
        if not paths:
            raise LogInputError(f"{s}: no files match")
        return paths
    p = Path(s)
    if p.is_dir():
        paths = sorted(q for q in p.iterdir() if q.is_file() and _fmt_of(q) is not None)
        if not paths:
            raise LogInputError(f"{s}: folder holds no .parquet or .csv files")
        return paths
    if not p.exists():
        raise LogInputError(f"{s}: no such file")
    return [p]


def _read_header(path: Path, delimiter: str) -> list[str] | None:
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:  # Excel writes a BOM
        for row in csv.reader(fh, delimiter=delimiter):
            if any(cell.strip() for cell in row):
                return [c.strip() for c in row]
    return None


def _inspect(path: Path, delimiter: str) -> tuple[SourceFile | None, dict | None, dict]:
    fmt = _fmt_of(path)
    if fmt is None:
        return None, {"path": str(path), "reason": "unknown_format", "message": "not .parquet or .csv"}, {}
    if path.stat().st_size == 0:
        return None, {"path": str(path), "reason": "empty_file", "message": "0 bytes"}, {}
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for corrupt footers
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None, {"path": str(path), "reason": "unreadable_file", "message": msg}, {}
        schema = pf.schema_arrow
        meta = {
            k.decode(errors="replace"): v.decode(errors="replace")
            for k, v in (schema.metadata or {}).items()
            if not k.startswith(b"ARROW:")
        }
        cols = {f.name: str(f.type) for f in schema}
        return SourceFile(path, fmt, cols, pf.metadata.num_rows), None, meta
    header = _read_header(path, delimiter)
    if header is None:
        return None, {"path": str(path), "reason": "empty_file", "message": "no header line"}, {}
    return SourceFile(path, fmt, {c: "string" for c in header}), None, {}


def resolve_source(
    spec: str | os.PathLike,
    columns: LogColumns,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    what: str = "log",
    delimiter: str = ",",
) -> Source:
    """Inspect every file of `spec`; error (one line) on a missing required column."""
    paths = expand_paths(spec)
    files: list[SourceFile] = []
    rejected: list[dict] = []
    metadata: dict[str, str] = {}
    for p in paths:
        sf, rej, meta = _inspect(p, delimiter)
        if rej is not None:
            rejected.append(rej)
        else:
            files.append(sf)  # type: ignore[arg-type]
            if not metadata and meta:
                metadata = meta
    if not files:
        reasons = ", ".join(sorted({r["reason"] for r in rejected}))
        raise LogInputError(f"{spec}: no usable {what} file ({len(rejected)} rejected: {reasons})")
    mapping: dict[str, str] = {}
    for role in required + optional:
        given = getattr(columns, role)
        name = given or DEFAULT_NAMES[role]
        missing = [f for f in files if name not in f.columns]
        if role in required or given is not None:
            if missing:
                f = missing[0]
                have = ", ".join(list(f.columns)[:12])
                raise LogInputError(
                    f"{f.path}: missing required column '{name}' in the {what} (have: {have}); "
                    f"map it with {FLAG_OF[role]}"
                )
            mapping[role] = name
        elif not missing:
            mapping[role] = name
        elif len(missing) < len(files):
            raise LogInputError(
                f"{missing[0].path}: column '{name}' is present in some {what} files but missing here; "
                f"make the files consistent or map it with {FLAG_OF[role]}"
            )
    types = {role: files[0].columns[name] for role, name in mapping.items()}
    return Source(str(spec), files, mapping, types, rejected, metadata)
