"""CPU seconds of `score` per part in a worker's configuration (1 thread), against its own decode.

    .venv/bin/python bench/score_cpu.py ../shared/media/snapugc [--reps 2] [--threads 1]

With `score --workers 2` on 2 cores, each worker runs one thread and the cores are the limit: the
throughput ceiling is cores / (CPU seconds per video). This times, in one process with the shipped
default models loaded, the analysis decode (probe, grid, taps, QP, audio) and each extractor on the
decoded inputs, in process CPU time; the figures are per clip and as ratios to the decode.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import defaultdict
from pathlib import Path


def main() -> None:
    """Print CPU seconds per part and the implied real-time ceiling on this machine's cores."""
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    os.environ.setdefault("REELSCORE_NO_PROGRESS", "1")

    from reelscore.common.threads import set_compute_threads

    set_compute_threads(args.threads)
    from reelscore.media import find_videos, probe
    from reelscore.scoring import ScoreConfig, Scorer

    s = Scorer(ScoreConfig(threads=args.threads)).load()
    an = s.analyzer
    names = list(s.extractors)
    files = [str(p) for p in find_videos([args.folder], recursive=False)]
    video_s = sum(float(probe(p).duration_s) for p in files)
    acc: dict[str, float] = defaultdict(float)
    for _ in range(args.reps):
        for p in files:
            c = time.process_time()
            inp = an.decode(p, Path(p).stem, {}, names=names)
            acc["decode"] += time.process_time() - c
            for n in names:
                c = time.process_time()
                an.run(inp, [n])
                acc[n] += time.process_time() - c
    n = len(files) * args.reps
    total = sum(acc.values())
    cores = os.cpu_count() or 1
    print(f"machine: {platform.machine()}, {cores} cores, load avg {os.getloadavg()[0]:.1f}; {len(files)} clips "
          f"x {args.reps}, {video_s:.1f} s of video, threads {args.threads}")
    print("| part | CPU s per clip | share | x decode |")
    print("|---|---|---|---|")
    for k, v in sorted(acc.items(), key=lambda kv: -kv[1]):
        print(f"| {k} | {v / n:.3f} | {v / total:.0%} | {v / acc['decode']:.2f} |")
    print(f"| **total** | {total / n:.3f} | 100% | {total / acc['decode']:.2f} |")
    ceiling = video_s * args.reps / (total / cores)
    print(f"ceiling with every core busy ({cores} workers x {args.threads} thread): {ceiling:.1f}x real time")


if __name__ == "__main__":
    main()
