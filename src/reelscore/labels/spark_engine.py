"""Run the label SQL on Spark (local mode by default, `--spark-master URL` for a cluster)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from reelscore.labels.watchlog_source import Source

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession


class SparkUnavailable(RuntimeError):
    """Spark could not be started (no pyspark, no Java, or an unreachable master)."""


def get_spark(
    master: str | None = None,
    app_name: str = "reelscore-labels",
    show_progress: bool = False,
    shuffle_partitions: int | None = None,
    conf: dict[str, str] | None = None,
) -> "SparkSession":
    """Get or create a SparkSession; local[*] unless a master URL is given."""
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    master = master or os.environ.get("REELSCORE_SPARK_MASTER", "local[*]")
    if shuffle_partitions is None:
        # one machine gains nothing from Spark's 200 default shuffle partitions; a cluster keeps it
        shuffle_partitions = 2 * (os.cpu_count() or 2) if master.startswith("local") else 200
    builder = (
        SparkSession.builder.appName(app_name)
        .master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "true" if show_progress else "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _register(spark, src: Source, prefix: str, delimiter: str) -> None:
    pq_files = src.by_format("parquet")
    csv_files = src.by_format("csv")
    if pq_files:
        spark.read.option("mergeSchema", "true").parquet(*pq_files).createOrReplaceTempView(f"{prefix}_parquet")
    if csv_files:
        # Every cell as text, like DuckDB's all_varchar: the SQL does the typing for both engines.
        (
            spark.read.option("header", "true")
            .option("sep", delimiter)
            .option("inferSchema", "false")
            .csv(csv_files)
            .createOrReplaceTempView(f"{prefix}_csv")
        )


def run_labels_spark(
    src: Source,
    videos: Source | None,
    sql: str,
    master: str | None = None,
    spark=None,
    delimiter: str = ",",
    show_progress: bool = True,
) -> "pd.DataFrame":
    """Register the inputs as temp views and run the label SQL on Spark; returns a pandas DataFrame."""
    import pandas as pd

    if spark is None:
        try:
            spark = get_spark(master, show_progress=show_progress)
        except ImportError:
            raise SparkUnavailable("--engine spark needs pyspark (pip install 'pyspark>=3.5')") from None
        except Exception as exc:  # the JVM gateway raises several types when Java is missing or broken
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise SparkUnavailable(f"--engine spark: could not start Spark ({first}); is Java 17 installed and JAVA_HOME set?") from None
    _register(spark, src, "log", delimiter)
    if videos is not None:
        _register(spark, videos, "videos", delimiter)
    rows = spark.sql(sql).collect()
    cols = ["video_id", "reason", "n_rows", "n_dup_extra", "sum_w", "n_engaged", "n_liked", "n_liked_known", "d_min", "d_max"]
    return pd.DataFrame([tuple(r) for r in rows], columns=cols)
