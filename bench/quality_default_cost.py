"""What the quality default costs inside `score`: the new default against a baseline model, in one run.

    .venv/bin/python bench/quality_default_cost.py ../shared/media/snapugc --baseline ~/.cache/reelscore/models/quality_default_v1 \
        [--reps 2] [--out bench/results/quality_cost.md]

Two scorers with the same engagement default, one with `--baseline` as the quality model and one with
the shipped `quality-default`, score the same clips alternately (so machine load hits both alike);
the figure is seconds per clip and the ratio new / baseline (issue 19 asks for at most 1.5).
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
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from reelscore.media import find_videos
    from reelscore.scoring import ScoreConfig, Scorer

    files = [str(p) for p in find_videos([args.folder], recursive=False)]
    scorers = {"baseline": Scorer(ScoreConfig(quality_model=str(args.baseline), expect_text=False)).load(),
               "new default": Scorer(ScoreConfig(expect_text=False)).load()}
    secs = {k: 0.0 for k in scorers}
    cpu = {k: 0.0 for k in scorers}  # process CPU time, all threads: what a busy multi-worker host pays
    mos = {k: [] for k in scorers}
    for _ in range(args.reps):
        for p in files:
            for k, sc in scorers.items():
                t, c = time.perf_counter(), time.process_time()
                r = sc.score(p)
                secs[k] += time.perf_counter() - t
                cpu[k] += time.process_time() - c
                mos[k].append(r["scores"]["mos"]["value"])
    n = len(files) * args.reps
    ratio = secs["new default"] / secs["baseline"]
    text = (f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; {len(files)} clips x {args.reps}\n\n"
            "| quality model | wall s per clip (whole `score`, timeline on) | CPU s per clip |\n|---|---|---|\n"
            + "".join(f"| {k} | {secs[k] / n:.2f} | {cpu[k] / n:.2f} |\n" for k in scorers)
            + f"\nnew / baseline: **{ratio:.2f}x** wall per clip, {cpu['new default'] / cpu['baseline']:.2f}x CPU\n"
            + f"MOS baseline: {[round(v, 2) for v in mos['baseline'][:len(files)]]}\n"
            + f"MOS new default: {[round(v, 2) for v in mos['new default'][:len(files)]]}\n")
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(f"\n### {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n{text}")


if __name__ == "__main__":
    main()
