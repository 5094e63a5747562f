"""A/B in one process: the bitstream QP pass beside the grid decode (default) vs after it, inside `score`.

    .venv/bin/python bench/qp_pass_ab.py ../shared/media/snapugc [--reps 3]

With frame-threaded decoding (one scoring process, 2 threads) FFmpeg cannot export the QP from the grid's
own decode, so the first 60 frames are decoded again single-threaded; run beside the grid decode it uses core
time that frame threading leaves idle. The two variants alternate per clip; values must be identical.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()

    from reelscore.features.analysis import Analyzer
    from reelscore.media import find_videos
    from reelscore.scoring import ScoreConfig, Scorer

    files = [str(p) for p in find_videos([args.folder], recursive=False)]
    s = Scorer(ScoreConfig(expect_text=False)).load()
    s.score(files[0])  # warm-up
    wall = {True: 0.0, False: 0.0}
    cpu = {True: 0.0, False: 0.0}
    vals: dict[bool, list] = {True: [], False: []}
    for _ in range(args.reps):
        for f in files:
            for mode in (True, False):
                Analyzer.concurrent_qp_pass = mode
                t, c = time.perf_counter(), time.process_time()
                r = s.score(f)
                wall[mode] += time.perf_counter() - t
                cpu[mode] += time.process_time() - c
                vals[mode].append((r["scores"]["mos"]["value"], r["scores"]["ecr"]["value"]))
    Analyzer.concurrent_qp_pass = True
    n = len(files) * args.reps
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; {len(files)} clips x {args.reps}")
    print(f"QP pass beside the grid decode: {wall[True] / n:.3f} s wall, {cpu[True] / n:.3f} s CPU per clip")
    print(f"QP pass after the grid decode:  {wall[False] / n:.3f} s wall, {cpu[False] / n:.3f} s CPU per clip")
    print(f"beside / after: {wall[True] / wall[False]:.3f} wall; identical MOS and ECR: {vals[True] == vals[False]}")


if __name__ == "__main__":
    main()
