"""Watch logs with known answers for the labels tests: clean views, then bad rows added on purpose."""

from __future__ import annotations

import numpy as np
import pandas as pd

PAPER_A, PAPER_B = 0.556, 5.64


def clean_views(seed: int = 0) -> pd.DataFrame:
    """Valid views of 6 videos: watch times incl. exactly 5.0 and loops, some unknown likes."""
    rng = np.random.default_rng(seed)
    rows = []
    vid_n = 0
    for vid, dur, n in [("a", 10.0, 30), ("b", 20.5, 45), ("c", 7.25, 12), ("d", 59.0, 60), ("e", 33.3, 25), ("f", 1.0, 8)]:
        w = rng.uniform(0, 2.2 * dur, n)
        w[:3] = [5.0, 0.0, 5.000001]  # the ECR threshold is strict: > 5 s
        liked = rng.random(n) < 0.3
        liked_obj = liked.astype(object)
        liked_obj[rng.random(n) < 0.1] = None  # unknown like state
        for i in range(n):
            rows.append({"view_id": vid_n, "video_id": vid, "watch_time_s": float(w[i]), "liked": liked_obj[i], "duration_s": dur})
            vid_n += 1
    df = pd.DataFrame(rows)
    df["liked"] = df["liked"].astype("boolean")
    return df


def bad_rows(start_view_id: int) -> tuple[pd.DataFrame, dict[str, int], list[dict]]:
    """Bad rows (each with a fresh view id unless a duplicate) and the expected count per reason.

    Also returns 'partial copies': extra records of clean views (same view id, shorter watch,
    not liked) that must be merged away as duplicates without changing the labels.
    """
    v = start_view_id
    rows = []

    def add(reason_rows, **kw):
        nonlocal v
        for _ in range(reason_rows):
            rows.append({"view_id": v, "video_id": "a", "watch_time_s": 3.0, "liked": False, "duration_s": 10.0, **kw})
            v += 1

    add(2, watch_time_s=-1.0)  # watch_time_negative
    add(3, watch_time_s=float("nan"))  # watch_time_nan
    add(1, watch_time_s=None)  # watch_time_missing
    add(1, watch_time_s=float("inf"))  # watch_time_absurd
    add(2, watch_time_s=201.0)  # > 20 plays of a 10-s clip: watch_time_absurd
    add(1, watch_time_s=float("-inf"))  # watch_time_negative
    add(2, video_id="zero", duration_s=0.0)  # duration_nonpositive
    add(1, video_id="neg", duration_s=-3.0)  # duration_nonpositive
    add(2, video_id="long", duration_s=700.0)  # duration_out_of_range
    add(1, video_id="tiny", duration_s=0.5)  # duration_out_of_range
    add(2, video_id="nodur", duration_s=None)  # duration_missing
    add(1, video_id=None)  # video_id_missing
    # one video whose rows disagree on its duration: all its rows are rejected
    add(2, video_id="incons", duration_s=12.0)
    add(1, video_id="incons", duration_s=13.0)
    # conflicting copies of one view: same view id, different videos -> both rejected
    rows.append({"view_id": v, "video_id": "a", "watch_time_s": 7.0, "liked": False, "duration_s": 10.0})
    rows.append({"view_id": v, "video_id": "b", "watch_time_s": 7.0, "liked": False, "duration_s": 20.5})
    v += 1
    df = pd.DataFrame(rows)
    df["liked"] = df["liked"].astype("boolean")
    # object dtype keeps NaN and None apart (a float column would turn both into NaN)
    df["watch_time_s"] = pd.Series([r["watch_time_s"] for r in rows], dtype=object)
    expected = {
        "watch_time_negative": 3,
        "watch_time_nan": 3,
        "watch_time_missing": 1,
        "watch_time_absurd": 3,
        "duration_nonpositive": 3,
        "duration_out_of_range": 3,
        "duration_missing": 2,
        "video_id_missing": 1,
        "duration_inconsistent": 3,
        "view_id_conflict": 2,
    }
    return df, expected, rows


def known_log(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """(full log with bad rows and duplicates, the clean views it should reduce to, expected rejections)."""
    clean = clean_views(seed)
    bad, expected, _ = bad_rows(int(clean["view_id"].max()) + 1)
    exact_copies = clean.iloc[[0, 5, 40]].copy()  # logged twice, identical
    partial = clean.iloc[[1, 50]].copy()  # earlier partial records of the same views
    partial["watch_time_s"] = partial["watch_time_s"] * 0.5 - 0.1
    log = pd.concat([clean, bad, exact_copies, partial], ignore_index=True)
    log = log.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # order must not matter
    expected = {**expected, "duplicate": len(exact_copies) + len(partial)}
    return log, clean, expected


def write_parquet(log: pd.DataFrame, path) -> None:
    """Write a log as Parquet keeping NaN (a value) apart from None (null) in watch_time_s."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(log.drop(columns=["watch_time_s"]), preserve_index=False)
    wt = pa.array(list(log["watch_time_s"]), type=pa.float64(), from_pandas=False)
    pq.write_table(table.append_column("watch_time_s", wt), path)


def independent_labels(clean: pd.DataFrame, a: float = PAPER_A, b: float = PAPER_B, min_views: int = 2000) -> pd.DataFrame:
    """Reference labels from plain pandas/numpy, straight from the definitions."""
    out = []
    for vid, g in clean.groupby("video_id", sort=True):
        w = g["watch_time_s"].to_numpy(dtype=float)
        d = float(g["duration_s"].iloc[0])
        liked = g["liked"].dropna().astype(bool).to_numpy()
        awt = float(np.mean(w))
        out.append(
            {
                "video_id": vid,
                "duration_s": d,
                "views": len(w),
                "awt_s": awt,
                "awp": awt / d,
                "nawp": min(awt / (a * d + b), 1.0),
                "ecr": float(np.mean(w > 5.0)),
                "like_rate": float(liked.mean()) if liked.size else float("nan"),
                "low_views": len(w) < min_views,
            }
        )
    return pd.DataFrame(out)


def assert_labels_equal(got: pd.DataFrame, want: pd.DataFrame, tol: float = 1e-9) -> None:
    """Same videos and views; every float column within tol."""
    got = got.sort_values("video_id").reset_index(drop=True)
    want = want.sort_values("video_id").reset_index(drop=True)
    assert list(got["video_id"]) == list(want["video_id"])
    assert list(got["views"]) == list(want["views"])
    assert list(got["low_views"]) == list(want["low_views"])
    for c in ("duration_s", "awt_s", "awp", "nawp", "ecr", "like_rate"):
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=0, atol=tol, err_msg=c)
