"""Reading and checking score files (predictions, truth, durations): a broken file is an error, never scored.

Every problem raises `SubmissionError` whose message is one line naming the
file, the problem, how many rows/ids it affects and the first offending ids.
"""

from __future__ import annotations

import csv
import io
import math
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SHOW = 5  # how many offending ids a message names
VIDEO_EXTS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".flv", ".ts", ".3gp", ".yuv")


class SubmissionError(ValueError):
    """A score file that cannot be scored; `str()` is one line: '<path>: <reason>'."""

    def __init__(self, path: str | os.PathLike, message: str):
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


def _first(items, n: int = SHOW) -> str:
    items = list(items)
    shown = ", ".join(repr(x) if isinstance(x, str) else str(x) for x in items[:n])
    return shown + (", ..." if len(items) > n else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def normalize_id(raw: str) -> str:
    """Id as compared across files: no surrounding spaces, no directory prefix, no video extension."""
    s = raw.strip().replace("\\", "/")
    s = posixpath.basename(s)
    stem, ext = posixpath.splitext(s)
    return stem if ext.lower() in VIDEO_EXTS and stem else s


@dataclass
class ScoreTable:
    """Ids (as written in the file) and one float column per requested value name."""

    path: str
    ids: list[str]
    values: dict[str, np.ndarray]
    header: list[str] | None
    extra: dict[str, list[str]] = field(default_factory=dict)
    # what an organiser's format check might refuse but the metric does not (values outside the label range)
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def _read_rows(path: Path) -> list[list[str]]:
    if not path.exists():
        raise SubmissionError(path, "file not found")
    if not path.is_file():
        raise SubmissionError(path, "not a regular file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(path, f"cannot read file: {exc.strerror or exc}") from None
    if not raw.strip():
        raise SubmissionError(path, "empty file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(path, f"not a UTF-8 text CSV (undecodable byte at offset {exc.start})") from None
    if "\x00" in text:
        raise SubmissionError(path, "not a text CSV (contains NUL bytes)")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise SubmissionError(path, f"malformed CSV: {exc}") from None
    # Blank lines carry nothing; trailing ones are common in hand-made files.
    return [[c.strip() for c in r] for r in rows if any(c.strip() for c in r)]


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def read_scores(
    path: str | os.PathLike,
    id_column: str,
    value_columns: list[str],
    header: str = "required",
    value_range: tuple[float, float] | None = None,
    optional_columns: tuple[str, ...] = (),
    id_aliases: tuple[str, ...] = (),
    role: str = "file",
    value_aliases: dict[str, tuple[str, ...]] | None = None,
    strict: bool = True,
) -> ScoreTable:
    """Read `id,value...` rows and check them: header, field counts, empty/duplicate ids, non-numeric/NaN/inf, range.

    Two tiers: what makes a score undefined or wrong (bad header, empty/duplicate ids, non-numeric, NaN, inf)
    is always an error; values outside `value_range` are an error when `strict`, otherwise a line in `.warnings`.

    `header`: "required" (first row names the columns, matched case-insensitively)
    or "optional" (a first row whose value field is not a number is a header; without
    one, the columns are taken in the order id, values).
    `optional_columns` are kept as strings in `.extra` when present.
    """
    path = Path(path)
    rows = _read_rows(path)
    expected = [id_column, *value_columns]
    first = rows[0]
    has_header = header == "required" or (
        header == "optional" and len(first) >= 2 and not _is_number(first[1])
    )
    if has_header:
        names = [c.lower() for c in first]
        lookup = {}
        for want in [id_column, *value_columns, *optional_columns]:
            aliases = id_aliases if want == id_column else (value_aliases or {}).get(want, ())
            cands = [want.lower()] + [a.lower() for a in aliases]
            for c in cands:
                if c in names:
                    lookup[want] = names.index(c)
                    break
        missing = [c for c in expected if c not in lookup]
        if missing:
            raise SubmissionError(
                path,
                f"wrong header: expected columns {','.join(expected)}, found {','.join(first) or '(nothing)'}"
                f" (missing {','.join(missing)})",
            )
        dup_cols = sorted({n for n in names if names.count(n) > 1 and n in [e.lower() for e in expected]})
        if dup_cols:
            raise SubmissionError(path, f"wrong header: column(s) {','.join(dup_cols)} appear more than once")
        data = rows[1:]
        width = len(first)
        first_line = 2
    else:
        lookup = {c: i for i, c in enumerate(expected)}
        data = rows
        width = len(expected)
        first_line = 1
    if not data:
        raise SubmissionError(path, "empty file: a header but no data rows")

    bad_width = [first_line + i for i, r in enumerate(data) if len(r) != width]
    if bad_width:
        ex = data[bad_width[0] - first_line]
        raise SubmissionError(
            path,
            f"{_plural(len(bad_width), 'row')} with a wrong number of fields (expected {width}); "
            f"first at line {bad_width[0]} with {len(ex)}: {','.join(ex)[:80]!r}",
        )

    ids = [r[lookup[id_column]] for r in data]
    empty = [first_line + i for i, s in enumerate(ids) if not s]
    if empty:
        raise SubmissionError(path, f"{_plural(len(empty), 'row')} with an empty {id_column}; first at lines {_first(empty)}")

    seen: dict[str, int] = {}
    dups: list[str] = []
    for s in ids:
        seen[s] = seen.get(s, 0) + 1
        if seen[s] == 2:
            dups.append(s)
    if dups:
        n_extra_rows = sum(c - 1 for c in seen.values() if c > 1)
        raise SubmissionError(
            path,
            f"{_plural(len(dups), 'duplicate id')} ({n_extra_rows} repeated rows); first: {_first(dups)}",
        )

    values: dict[str, np.ndarray] = {}
    warn: list[str] = []
    for col in value_columns:
        raw = [r[lookup[col]] for r in data]
        nonnum = [ids[i] for i, v in enumerate(raw) if not _is_number(v)]
        if nonnum:
            ex = raw[ids.index(nonnum[0])]
            raise SubmissionError(
                path,
                f"{_plural(len(nonnum), f'non-numeric {col} value')}; first ids: {_first(nonnum)} (e.g. {ex!r})",
            )
        arr = np.array([float(v) for v in raw], dtype=float)
        nonfinite = [ids[i] for i in np.flatnonzero(~np.isfinite(arr))]
        if nonfinite:
            raise SubmissionError(
                path, f"{_plural(len(nonfinite), f'NaN or infinite {col} value')}; first ids: {_first(nonfinite)}"
            )
        if value_range is not None:
            lo, hi = value_range
            out = np.flatnonzero((arr < lo) | (arr > hi))
            if out.size:
                shown = ", ".join(f"{ids[i]!r}={arr[i]:g}" for i in out[:SHOW]) + (", ..." if out.size > SHOW else "")
                msg = f"{_plural(int(out.size), f'{col} value')} outside the {role} range [{lo:g}, {hi:g}]; first: {shown}"
                if strict:
                    raise SubmissionError(path, msg)
                warn.append(f"{path}: {msg} (scored as is; --strict refuses them)")
        values[col] = arr
    extra = {c: [r[lookup[c]] for r in data] for c in optional_columns if c in lookup}
    return ScoreTable(str(path), ids, values, first if has_header else None, extra, warn)


@dataclass
class Alignment:
    """Row order of the prediction that matches the truth, and how ids were matched."""

    pred_index: np.ndarray  # pred rows in truth order
    mode: str  # "exact" or "normalized"
    key_of_truth: list[str]  # matching key per truth row (for pairs and durations)


def _keys(ids: list[str], fn) -> tuple[list[str], bool]:
    keys = [fn(s) for s in ids]
    return keys, len(set(keys)) == len(keys)


def align(pred: ScoreTable, truth: ScoreTable, strict: bool = True) -> Alignment:
    """Match prediction ids to truth ids: exactly, else after `normalize_id`.

    A truth id missing from the prediction is an error; prediction ids not in the truth are an error when
    `strict`, otherwise left out and named in `pred.warnings`.
    """
    if set(pred.ids) == set(truth.ids):
        pos = {s: i for i, s in enumerate(pred.ids)}
        return Alignment(np.array([pos[s] for s in truth.ids]), "exact", list(truth.ids))
    pk, p_unique = _keys(pred.ids, normalize_id)
    tk, t_unique = _keys(truth.ids, normalize_id)
    if p_unique and t_unique:
        mode, pkeys, tkeys = "normalized", pk, tk
    else:
        mode, pkeys, tkeys = "exact", list(pred.ids), list(truth.ids)
    pset, tset = set(pkeys), set(tkeys)
    if pset == tset:
        pos = {s: i for i, s in enumerate(pkeys)}
        return Alignment(np.array([pos[s] for s in tkeys]), mode, tkeys)
    missing = [truth.ids[i] for i, k in enumerate(tkeys) if k not in pset]
    extra = [pred.ids[i] for i, k in enumerate(pkeys) if k not in tset]
    if not missing and extra and not strict:
        pred.warnings.append(f"{pred.path}: {_plural(len(extra), 'id')} not in the truth left out (first: {_first(extra)}; "
                             "--strict refuses them)")
        pos = {s: i for i, s in enumerate(pkeys)}
        return Alignment(np.array([pos[s] for s in tkeys]), mode, tkeys)
    parts = []
    if missing:
        parts.append(f"{_plural(len(missing), 'truth id')} missing from the prediction (first: {_first(missing)})")
    if extra:
        parts.append(f"{_plural(len(extra), 'id')} not in the truth (first: {_first(extra)})")
    raise SubmissionError(pred.path, "; ".join(parts) + f" [prediction has {len(pred)} ids, truth {len(truth)}]")


def read_durations(path: str | os.PathLike, truth_keys: list[str], truth_ids: list[str]) -> np.ndarray:
    """Durations (seconds, > 0) from `Id,duration_s` in truth order; every truth id must have one."""
    table = read_scores(path, "Id", ["duration_s"], header="required", id_aliases=("video_id", "filename"), role="durations")
    bad = [s for s, v in zip(table.ids, table.values["duration_s"]) if v <= 0]
    if bad:
        raise SubmissionError(path, f"{_plural(len(bad), 'duration')} not > 0; first ids: {_first(bad)}")
    by_key = {}
    for s, v in zip(table.ids, table.values["duration_s"]):
        by_key.setdefault(s, v)
        by_key.setdefault(normalize_id(s), v)
    out = np.full(len(truth_keys), math.nan)
    missing = []
    for i, (k, s) in enumerate(zip(truth_keys, truth_ids)):
        v = by_key.get(s, by_key.get(k))
        if v is None:
            missing.append(s)
        else:
            out[i] = v
    if missing:
        raise SubmissionError(path, f"{_plural(len(missing), 'truth id')} without a duration (first: {_first(missing)})")
    return out
