"""Near-tie rank pairs as KVQ annotated them: homologous (same source) and non-homologous (close labels).

`better` holds the name of the better video of the pair, decided by the label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PAIR_COLUMNS = ["video1", "video2", "better", "homologous"]


def make_pairs(
    labels: pd.DataFrame,
    label_col: str = "mos",
    per_source: int = 3,
    non_homologous: int | None = None,
    min_gap: float = 1e-3,
    seed: int = 0,
) -> pd.DataFrame:
    """Pick the closest-label pairs within each source and across sources; exact ties are skipped."""
    df = labels.dropna(subset=[label_col])
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    seen: set[tuple[str, str]] = set()

    def add(a: pd.Series, b: pd.Series, homologous: bool) -> bool:
        key = tuple(sorted((a["name"], b["name"])))
        gap = abs(float(a[label_col]) - float(b[label_col]))
        if key in seen or gap < min_gap:
            return False
        seen.add(key)
        # Random order so that "video1 is better" carries no information.
        first, second = (a, b) if rng.random() < 0.5 else (b, a)
        better = first if float(first[label_col]) > float(second[label_col]) else second
        rows.append({"video1": first["name"], "video2": second["name"], "better": better["name"], "homologous": int(homologous)})
        return True

    for _, group in df.groupby("source", sort=True):
        g = group.reset_index(drop=True)
        cand = []
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                cand.append((abs(float(g.at[i, label_col]) - float(g.at[j, label_col])), i, j))
        cand.sort()
        taken = 0
        for _, i, j in cand:
            if taken >= per_source:
                break
            taken += add(g.iloc[i], g.iloc[j], True)

    n_non = non_homologous if non_homologous is not None else per_source * df["source"].nunique()
    d = df.sort_values(label_col).reset_index(drop=True)
    cand = []
    for i in range(len(d)):
        # Look a few neighbours ahead in label order for a video from another source.
        for j in range(i + 1, min(len(d), i + 8)):
            if d.at[i, "source"] != d.at[j, "source"]:
                cand.append((abs(float(d.at[i, label_col]) - float(d.at[j, label_col])), i, j))
    cand.sort()
    taken = 0
    for _, i, j in cand:
        if taken >= n_non:
            break
        taken += add(d.iloc[i], d.iloc[j], False)
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)
