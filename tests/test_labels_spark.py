"""DuckDB and Spark (local mode, one session for the module) give identical labels and rejection counts."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from labels_fixtures import assert_labels_equal, clean_views, independent_labels, known_log, write_parquet
from reelscore.labels import LogColumns, compute_labels

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


def test_spark_equals_duckdb_on_parquet_with_bad_rows(spark, tmp_path):
    log, clean, expected = known_log(seed=7)
    write_parquet(log, tmp_path / "log.parquet")
    d_df, d_s = compute_labels(tmp_path / "log.parquet", min_views=40)
    s_df, s_s = compute_labels(tmp_path / "log.parquet", min_views=40, engine="spark", spark=spark)
    assert s_s["engine"] == "spark"
    _identical(d_df, s_df)
    assert_labels_equal(s_df, independent_labels(clean, min_views=40))
    assert s_s["rows_rejected"] == d_s["rows_rejected"] == expected
    assert s_s["rows_read"] == d_s["rows_read"] == len(log)


def test_spark_equals_duckdb_on_csv_with_video_table(spark, tmp_path):
    clean = clean_views(8)
    log = clean.drop(columns=["duration_s"]).rename(columns={"watch_time_s": "secs"})
    extra = pd.DataFrame({"view_id": [9000, 9001, 9002, 9002], "video_id": ["ghost", "a", "b", "b"], "secs": [4.0, -2.0, 6.5, 6.5], "liked": ["yes", "no", "1", "1"]})
    log = pd.concat([log.astype({"liked": object}), extra], ignore_index=True)
    log.to_csv(tmp_path / "log.csv", index=False)
    table = clean.groupby("video_id", as_index=False)["duration_s"].first()
    table.to_parquet(tmp_path / "videos.parquet", index=False)
    kw = dict(videos=tmp_path / "videos.parquet", min_views=1, columns=LogColumns(watch_time="secs"))
    d_df, d_s = compute_labels(tmp_path / "log.csv", **kw)
    s_df, s_s = compute_labels(tmp_path / "log.csv", engine="spark", spark=spark, **kw)
    _identical(d_df, s_df)
    want = pd.concat([clean, pd.DataFrame({"view_id": [9002], "video_id": ["b"], "watch_time_s": [6.5], "liked": pd.array([True], dtype="boolean"), "duration_s": [20.5]})])
    assert_labels_equal(d_df, independent_labels(want, min_views=1))
    assert s_s["rows_rejected"] == d_s["rows_rejected"] == {"unknown_video": 1, "watch_time_negative": 1, "duplicate": 1}
