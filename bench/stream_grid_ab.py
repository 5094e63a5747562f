"""A/B in one process: the grid streamed into the grid passes during the decode vs kept whole, inside `score`.

    .venv/bin/python bench/stream_grid_ab.py ../shared/media/snapugc [--reps 3] [--threads 2]

`Analyzer.stream_grid` True feeds technical's and semantic's grid passes chunk by chunk while decoding (no
whole-video frame array); False keeps the grid and runs the same passes over it. The default (None)
streams only when the kept grid would pass `stream_above_bytes`. The two variants alternate over the
clips; MOS and ECR must be identical. `--threads 1` is a worker of `score --workers 2`. Peak memory on
long clips: bench/score_memory.py.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path


def main() -> None:
    """Time score_many with the streamed and the kept grid, alternating; print wall and CPU ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("REELSCORE_NO_PROGRESS", "1")

    from reelscore.common.threads import set_compute_threads

    set_compute_threads(args.threads)
    from reelscore.media import find_videos
    from reelscore.scoring import ScoreConfig, ScoreItem, Scorer, score_many

    s = Scorer(ScoreConfig(expect_text=False, threads=args.threads)).load()
    items = [ScoreItem(str(p)) for p in find_videos([args.folder], recursive=False)]
    list(score_many(items[:2], scorer=s))  # warm-up
    res = {True: [0.0, 0.0, []], False: [0.0, 0.0, []]}
    for _ in range(args.reps):
        for mode in (True, False):
            s.analyzer.stream_grid = mode
            t, c = time.perf_counter(), time.process_time()
            out = list(score_many(items, scorer=s))
            r = res[mode]
            r[0] += time.perf_counter() - t
            r[1] += time.process_time() - c
            r[2].append([(o["scores"]["mos"]["value"], o["scores"]["ecr"]["value"]) for o in out])
    n = len(items) * args.reps
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; "
          f"{len(items)} clips x {args.reps}, threads {args.threads}")
    for mode, (w, c, _) in res.items():
        print(f"{'streamed' if mode else 'kept'} grid: {w / n:.3f} s wall, {c / n:.3f} s CPU per clip")
    print(f"streamed / kept: {res[True][0] / res[False][0]:.3f} wall, {res[True][1] / res[False][1]:.3f} CPU; "
          f"identical MOS and ECR: {res[True][2] == res[False][2]}")


if __name__ == "__main__":
    main()
