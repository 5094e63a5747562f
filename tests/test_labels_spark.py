"""DuckDB and Spark (local mode, one session for the module) give identical labels and rejection counts."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from labels_fixtures import assert_labels_equal, independent_labels, known_log, write_parquet
from reelscore.labels import compute_labels

os.environ["REELSCORE_NO_PROGRESS"] = "1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"), reason="Spark needs Java"),
]


@pytest.fixture(scope="module")
def spark():
    from reelscore.labels.spark_engine import get_spark

    s = get_spark("local[1]", app_name="reelscore-labels-test", shuffle_partitions=1)
    yield s
    s.stop()


def _identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a["video_id"]) == list(b["video_id"])
    assert list(a["views"]) == list(b["views"]) and list(a["low_views"]) == list(b["low_views"])
    for c in ("duration_s", "awt_s", "awp", "nawp", "ecr", "like_rate"):
        # same SQL, same sums; only floating-point summation order could differ
        np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-13, atol=0, err_msg=c)


def test_spark_equals_duckdb_on_mixed_parquet_csv_with_video_table(spark, tmp_path):
    """One Spark query (start-up dominates): Parquet + CSV in one glob, a video table, every reason kind."""
    log, clean, expected = known_log(seed=7)
    half = len(log) // 2
    write_parquet(log.iloc[:half], tmp_path / "log_1.parquet")
    log.iloc[half:].astype({"watch_time_s": float}).to_csv(tmp_path / "log_2.csv", index=False)
    table = clean.groupby("video_id", as_index=False)["duration_s"].first()
    table = pd.concat([table, pd.DataFrame({
        "video_id": ["zero", "neg", "long", "tiny", "incons", "incons"],
        "duration_s": [0.0, -3.0, 700.0, 0.5, 12.0, 13.0],
    })])  # "nodur" is not listed: its rows are unknown_video
    table.to_parquet(tmp_path / "videos.parquet", index=False)
    kw = dict(videos=tmp_path / "videos.parquet", min_views=40)
    glob = str(tmp_path / "log_*")
    d_df, d_s = compute_labels(glob, **kw)
    s_df, s_s = compute_labels(glob, engine="spark", spark=spark, **kw)
    assert s_s["engine"] == "spark" and d_s["files"] == s_s["files"] == 2
    _identical(d_df, s_df)
    assert s_s["rows_rejected"] == d_s["rows_rejected"]
    assert s_s["rows_read"] == d_s["rows_read"] == len(log)
    # the clean views come through unchanged; every reason kind that applies was exercised
    assert_labels_equal(s_df, independent_labels(clean, min_views=40))
    assert {"duplicate", "view_id_conflict", "video_id_missing", "unknown_video", "watch_time_missing",
            "watch_time_nan", "watch_time_negative", "watch_time_absurd", "duration_inconsistent",
            "duration_nonpositive", "duration_out_of_range"} <= set(s_s["rows_rejected"])


def test_spark_equals_duckdb_with_a_user_timestamp_key(spark, tmp_path):
    from labels_fixtures import clean_views

    clean = clean_views(3).drop(columns=["view_id"])
    clean["user_id"] = np.arange(len(clean)) % 5
    clean["timestamp"] = np.arange(len(clean))
    log = pd.concat([clean, clean.iloc[[1, 1, 6]]], ignore_index=True)
    log.to_csv(tmp_path / "log.csv", index=False)
    d_df, d_s = compute_labels(tmp_path / "log.csv", min_views=1)
    s_df, s_s = compute_labels(tmp_path / "log.csv", engine="spark", spark=spark, min_views=1)
    _identical(d_df, s_df)
    assert d_s["rows_rejected"] == s_s["rows_rejected"] == {"duplicate": 3}
    assert d_s["dedup"] == s_s["dedup"] == "key: video_id + user_id + timestamp"
