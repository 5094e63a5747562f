"""Rank pairs for the KVQ / NTIRE 2024 protocol, from a CSV or the official xlsx.

CSV: header `video1,video2,better,homologous`; `better` is 1/2 (or the name of
the better video); `homologous` is 1/0, true/false or yes/no.
xlsx: sheets `source` (homologous pairs: same source video) and `nonsource`
(non-homologous), rows `(video1, video2, rank)` with rank 1 when video1 is the
better one, 2 otherwise. A first row whose third cell is text (not a number) is a header.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelscore.evaluation.submission import SHOW, SubmissionError, _first, _plural, normalize_id

SHEETS = {"source": True, "nonsource": False}
_TRUE = {"1", "true", "yes", "y", "t", "homologous", "source"}
_FALSE = {"0", "false", "no", "n", "f", "nonhomologous", "non-homologous", "nonsource"}


@dataclass
class Pairs:
    """Pair list: names as written, which one is better (1 or 2), homologous flag, origin line for messages."""

    path: str
    video1: list[str]
    video2: list[str]
    better: np.ndarray  # int8, 1 or 2
    homologous: np.ndarray  # bool
    where: list[str]

    def __len__(self) -> int:
        return len(self.video1)


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _rank(v: str) -> int | None:
    try:
        f = float(v)
    except ValueError:
        return None
    return int(f) if f in (1.0, 2.0) else None


def _read_xlsx(path: Path) -> Pairs:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - openpyxl is in requirements
        raise SubmissionError(path, "reading .xlsx pairs needs openpyxl (pip install openpyxl)") from exc
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken archives
        raise SubmissionError(path, f"unreadable xlsx: {type(exc).__name__}: {exc}") from None
    names = {n.lower(): n for n in wb.sheetnames}
    missing = [s for s in SHEETS if s not in names]
    if missing:
        raise SubmissionError(path, f"missing sheet(s) {','.join(missing)}; found {','.join(wb.sheetnames)}")
    v1, v2, better, homo, where = [], [], [], [], []
    for sheet, is_homo in SHEETS.items():
        rows = [
            (i, [_cell(c) for c in row[:3]])
            for i, row in enumerate(wb[names[sheet]].iter_rows(values_only=True), start=1)
            if any(_cell(c) for c in row)
        ]
        if rows and len(rows[0][1]) >= 3 and not _is_number(rows[0][1][2]):
            rows = rows[1:]  # a text third cell: header row
        bad = []
        for i, cells in rows:
            cells = cells + [""] * (3 - len(cells))
            r = _rank(cells[2])
            if r is None or not cells[0] or not cells[1]:
                bad.append(f"{sheet}!row {i}")
                continue
            v1.append(cells[0])
            v2.append(cells[1])
            better.append(r)
            homo.append(is_homo)
            where.append(f"{sheet}!row {i}")
        if bad:
            raise SubmissionError(
                path, f"{_plural(len(bad), 'pair row')} need (video1, video2, rank 1 or 2); first: {_first(bad)}"
            )
    wb.close()
    return Pairs(str(path), v1, v2, np.array(better, dtype=np.int8), np.array(homo, dtype=bool), where)


def _read_csv(path: Path) -> Pairs:
    from reelscore.evaluation.submission import _read_rows

    rows = _read_rows(path)
    names = [c.lower() for c in rows[0]]
    need = ["video1", "video2", "better", "homologous"]
    if any(n not in names for n in need):
        raise SubmissionError(path, f"wrong header: expected columns {','.join(need)}, found {','.join(rows[0])}")
    col = {n: names.index(n) for n in need}
    if len(rows) < 2:
        raise SubmissionError(path, "empty file: a header but no pairs")
    v1, v2, better, homo, where, bad = [], [], [], [], [], []
    for line, r in enumerate(rows[1:], start=2):
        if len(r) != len(names):
            bad.append(f"line {line}")
            continue
        a, b, g, h = (r[col[n]] for n in need)
        rank = _rank(g) or (1 if g == a and a else 2 if g == b and b else None)
        hl = h.lower()
        if not a or not b or rank is None or (hl not in _TRUE and hl not in _FALSE):
            bad.append(f"line {line}")
            continue
        v1.append(a)
        v2.append(b)
        better.append(rank)
        homo.append(hl in _TRUE)
        where.append(f"line {line}")
    if bad:
        raise SubmissionError(
            path,
            f"{_plural(len(bad), 'bad pair row')} (need video1,video2, better 1/2 or a video name, "
            f"homologous 1/0); first: {_first(bad)}",
        )
    return Pairs(str(path), v1, v2, np.array(better, dtype=np.int8), np.array(homo, dtype=bool), where)


def read_pairs(path: str | os.PathLike) -> Pairs:
    """Read rank pairs from `.xlsx` (official sheets) or CSV."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(path, "file not found")
    if not path.is_file():
        raise SubmissionError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise SubmissionError(path, "empty file")
    pairs = _read_xlsx(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _read_csv(path)
    if len(pairs) == 0:
        raise SubmissionError(path, "no pairs")
    return pairs


def pair_positions(pairs: Pairs, truth_ids: list[str], truth_keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Truth-row positions of each pair's two videos; a name not in the truth is an error."""
    pos: dict[str, int] = {}
    for i, (s, k) in enumerate(zip(truth_ids, truth_keys)):
        pos.setdefault(s, i)
        pos.setdefault(k, i)
        pos.setdefault(normalize_id(s), i)
    unknown = []
    i1 = np.empty(len(pairs), dtype=np.int64)
    i2 = np.empty(len(pairs), dtype=np.int64)
    for j, (a, b) in enumerate(zip(pairs.video1, pairs.video2)):
        for name, arr in ((a, i1), (b, i2)):
            p = pos.get(name, pos.get(normalize_id(name)))
            if p is None:
                unknown.append(f"{name} ({pairs.where[j]})")
                arr[j] = -1
            else:
                arr[j] = p
    if unknown:
        raise SubmissionError(
            pairs.path, f"{_plural(len(unknown), 'pair video')} not in the truth; first: {', '.join(unknown[:SHOW])}"
        )
    return i1, i2
