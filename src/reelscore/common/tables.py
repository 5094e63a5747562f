"""Reading user tables (CSV, Parquet, Excel) with ids kept as text, and finding columns by name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import pandas as pd


def read_table(path: str | os.PathLike, role: str = "table", error: type[Exception] = ValueError) -> pd.DataFrame:
    """Read CSV/Parquet/Excel with every CSV/Excel cell as text (ids like 007 keep their zeros); `error` names path and reason."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {role} not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path, dtype=str)
        # only empty cells are missing: "NA"/"null" are real titles, and type inference would turn ids into numbers
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError as e:
        raise error(f"{path}: {role} is not UTF-8 text (invalid byte 0x{e.object[e.start]:02x})") from None
    except pd.errors.EmptyDataError:
        raise error(f"{path}: {role} is empty") from None
    except pd.errors.ParserError as e:
        raise error(f"{path}: {role} is not a readable CSV ({str(e).strip()})") from None
    except (OSError, ValueError, ImportError) as e:
        raise error(f"{path}: cannot read {role}: {e}") from None


def find_column(columns: Iterable[object], *names: str) -> str | None:
    """The first column matching one of `names` (case and surrounding spaces ignored), in the order of `names`."""
    lower = {str(c).strip().lower(): c for c in columns}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None
