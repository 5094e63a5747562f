"""Simulated swipe-feed view logs (always marked as simulated) for tests, demos and scale benchmarks.

Per video: a duration d ~ U(5, 60) s and a hidden appeal q in (0, 1) drawn from a
two-component Beta mixture (most feeds hold a mass of clips people swipe away
and a mass they keep watching). Per view:

- with p_skip = 0.92 - 0.85 q the viewer swipes away early: watch = 5 * Beta(0.8, 2) s
  (< 5 s, mostly in the first two seconds);
- otherwise, with p_loop = 0.3 q^2 (1.2 - d/60) the clip loops: watch = d * (1 + min(L, 5)),
  L ~ Exponential(mean 0.8) extra plays;
- otherwise the viewer watches a share s ~ Beta(k m, k (1 - m)) of the rest of the clip:
  watch = 5 + u + s (d - 5), u ~ U(0.01, 0.5), m = clip(0.2 + 0.65 q + h - 0.25 (d - 5) / 55, 0.05, 0.95), k = 4,
  h ~ N(0, 0.12) per video (how well the clip holds viewers who stayed);
- likes are rare: p = 0.002 + 0.08 q^3 for viewers who stayed, 0.0005 for early swipers.

Watch times are rounded to the millisecond, as logs store them. The truth file
holds these generating parameters and the exact expected ECR and AWT per video.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

SIMULATOR_VERSION = "1"
SKIP_BETA = (0.8, 2.0)
SHARE_CONCENTRATION = 4.0
LOOP_MEAN = 0.8
LOOP_CAP = 5.0
LIKE_SKIP = 0.0005
STAY_PAST_S = (0.01, 0.5)


def video_parameters(n_videos: int, seed: int = 0, videos: "pd.DataFrame | None" = None) -> "pd.DataFrame":
    """Per-video generating parameters (pandas DataFrame), deterministic in `seed`.

    `videos` (video_id, duration_s[, appeal]) simulates views of real clips: their ids and durations,
    and their appeal when given (e.g. derived from a video feature), else a drawn one.
    """
    import pandas as pd

    rng = np.random.default_rng([seed, 0x5EED])
    if videos is not None:
        n_videos = len(videos)
    width = max(6, len(str(n_videos - 1)))
    ids = np.array([f"sim{i:0{width}d}" for i in range(n_videos)], dtype=object)
    d = np.round(rng.uniform(5.0, 60.0, n_videos), 3)
    high = rng.random(n_videos) < 0.5
    q = np.where(high, rng.beta(6.0, 2.0, n_videos), rng.beta(2.0, 7.0, n_videos))
    if videos is not None:
        ids = videos["video_id"].astype(str).to_numpy(dtype=object)
        d = videos["duration_s"].to_numpy(dtype=float)
        if "appeal" in videos.columns:
            q = np.clip(videos["appeal"].to_numpy(dtype=float), 0.01, 0.99)
    p_skip = 0.92 - 0.85 * q
    p_loop = 0.3 * q**2 * (1.2 - d / 60.0)
    # an appeal-independent "hold" term keeps NAWP from being a pure function of ECR
    hold = rng.normal(0.0, 0.12, n_videos)
    m = np.clip(0.2 + 0.65 * q + hold - 0.25 * (d - 5.0) / 55.0, 0.05, 0.95)
    like_stay = 0.002 + 0.08 * q**3
    a, b = SKIP_BETA
    mean_skip = 5.0 * a / (a + b)
    mean_loop_extra = LOOP_MEAN * (1.0 - np.exp(-LOOP_CAP / LOOP_MEAN))
    stay = 1.0 - p_skip
    exp_awt = p_skip * mean_skip + stay * ((1 - p_loop) * (5.0 + sum(STAY_PAST_S) / 2 + m * (d - 5.0)) + p_loop * d * (1.0 + mean_loop_extra))
    return pd.DataFrame(
        {
            "video_id": ids,
            "duration_s": d,
            "appeal": q,
            "p_skip": p_skip,
            "p_loop": p_loop,
            "hold": hold,
            "share_mean": m,
            "share_concentration": SHARE_CONCENTRATION,
            "p_like_stay": like_stay,
            "p_like_skip": LIKE_SKIP,
            "expected_ecr": stay,
            "expected_awt_s": exp_awt,
            "expected_like_rate": p_skip * LIKE_SKIP + stay * like_stay,
            "simulated": True,
        }
    )


def read_video_table(path: str | os.PathLike) -> "pd.DataFrame":
    """Id/video_id, duration_s (5-600 s... any positive), optional appeal in [0, 1]; one clear error otherwise."""
    import pandas as pd

    from reelscore.common.tables import find_column, read_table

    df = read_table(path, role="video table")
    idc = find_column(df.columns, "video_id", "id")
    dc = find_column(df.columns, "duration_s", "duration")
    if idc is None or dc is None:
        raise ValueError(f"{path}: a video table needs Id (or video_id) and duration_s columns; has {list(df.columns)}")
    out = pd.DataFrame({"video_id": df[idc].astype(str).str.strip(), "duration_s": pd.to_numeric(df[dc], errors="coerce")})
    ac = find_column(df.columns, "appeal")
    if ac is not None:
        out["appeal"] = pd.to_numeric(df[ac], errors="coerce")
        bad = out.index[~out["appeal"].between(0, 1)]
        if len(bad):
            raise ValueError(f"{path}: appeal must be a number in [0, 1]; rows {list(bad[:5] + 2)}")
    bad = out.index[~(out["duration_s"] > 0)]
    if len(bad):
        raise ValueError(f"{path}: duration_s must be a positive number; rows {list(bad[:5] + 2)}")
    if out["video_id"].duplicated().any():
        raise ValueError(f"{path}: duplicate ids, e.g. {out['video_id'][out['video_id'].duplicated()].iloc[0]!r}")
    return out


def _views_chunk(params, lo: int, hi: int, views_per_video: int, seed: int, chunk: int, view_offset: int):
    import pyarrow as pa

    rng = np.random.default_rng([seed, chunk])
    n = (hi - lo) * views_per_video
    local = np.repeat(np.arange(hi - lo, dtype=np.int32), views_per_video)
    d = params["duration_s"].to_numpy()[lo:hi][local]
    p_skip = params["p_skip"].to_numpy()[lo:hi][local]
    p_loop = params["p_loop"].to_numpy()[lo:hi][local]
    m = params["share_mean"].to_numpy()[lo:hi][local]
    like_stay = params["p_like_stay"].to_numpy()[lo:hi][local]
    u = rng.random(n)
    skip = u < p_skip
    loop = ~skip & (rng.random(n) < p_loop)
    # stayers are past the 5-s mark by construction, so ECR's truth is exactly 1 - p_skip
    past = rng.uniform(*STAY_PAST_S, n)
    watch = 5.0 + past + rng.beta(SHARE_CONCENTRATION * m, SHARE_CONCENTRATION * (1.0 - m)) * (d - 5.0)
    watch = np.where(loop, d * (1.0 + np.minimum(rng.exponential(LOOP_MEAN, n), LOOP_CAP)), watch)
    watch = np.where(skip, 5.0 * rng.beta(*SKIP_BETA, n), watch)
    liked = rng.random(n) < np.where(skip, LIKE_SKIP, like_stay)
    order = rng.permutation(n)  # logs interleave videos in time order, not grouped by video
    ids = pa.DictionaryArray.from_arrays(
        pa.array(local[order], type=pa.int32()), pa.array(params["video_id"].to_numpy()[lo:hi], type=pa.string())
    )
    return pa.table(
        {
            "view_id": pa.array(view_offset + order.astype(np.int64)),
            "video_id": ids,
            "watch_time_s": pa.array(np.round(watch[order], 3)),
            "liked": pa.array(liked[order]),
            "duration_s": pa.array(d[order]),
        }
    )


def simulate_views(
    n_videos: int,
    views_per_video: int,
    out: str | os.PathLike,
    seed: int = 0,
    truth: str | os.PathLike | None = None,
    chunk_rows: int = 2_000_000,
    show_progress: bool | None = None,
    video_table: str | os.PathLike | None = None,
) -> dict:
    """Write a simulated view log (Parquet, chunked, marked simulated); optionally the truth table.

    `video_table` (CSV/Parquet: Id or video_id, duration_s, optional appeal in (0, 1)) simulates views
    of those videos instead of `n_videos` made-up ones.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from reelscore.common.atomic import atomic_path
    from reelscore.common.progress import track

    videos = read_video_table(video_table) if video_table is not None else None
    if videos is not None:
        n_videos = len(videos)
    if n_videos < 1 or views_per_video < 1:
        raise ValueError("simulate-views: --videos and --views-per-video must be >= 1")
    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise ValueError(f"{out}: simulated logs are written as .parquet")
    params = video_parameters(n_videos, seed, videos)
    meta = {
        "reelscore.simulated": "true",
        "reelscore.simulator": f"reelscore.labels.simulate v{SIMULATOR_VERSION}",
        "reelscore.simulator_config": json.dumps(
            {"n_videos": n_videos, "views_per_video": views_per_video, "seed": seed, "chunk_rows": chunk_rows}
        ),
    }
    per_chunk = max(1, chunk_rows // views_per_video)
    bounds = [(lo, min(lo + per_chunk, n_videos)) for lo in range(0, n_videos, per_chunk)]
    schema = pa.schema(
        [
            ("view_id", pa.int64()),
            ("video_id", pa.dictionary(pa.int32(), pa.string())),
            ("watch_time_s", pa.float64()),
            ("liked", pa.bool_()),
            ("duration_s", pa.float64()),
        ],
        metadata={k.encode(): v.encode() for k, v in meta.items()},
    )
    items = enumerate(bounds)
    if show_progress is None or show_progress:
        items = track(list(items), "simulating views", unit="chunk")
    with atomic_path(out) as tmp:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for k, (lo, hi) in items:
                table = _views_chunk(params, lo, hi, views_per_video, seed, k, lo * views_per_video)
                writer.write_table(table.cast(schema), row_group_size=chunk_rows)
    if truth is not None:
        t = pa.Table.from_pandas(params, preserve_index=False)
        t = t.replace_schema_metadata({**{k.encode(): v.encode() for k, v in meta.items()}, **(t.schema.metadata or {})})
        with atomic_path(truth) as tmp:
            pq.write_table(t, tmp)
    return {
        "out": str(out),
        "truth": None if truth is None else str(truth),
        "videos": n_videos,
        "views": n_videos * views_per_video,
        "seed": seed,
        "simulated": True,
    }
