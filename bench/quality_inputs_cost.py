"""Seconds per clip of each quality candidate's inputs (issue 19, item 4): decode + extractors, one process.

    .venv/bin/python bench/quality_inputs_cost.py --set SET [--n 24] [--threads 2] [--out bench/results/quality_inputs_cost.md]

For each candidate (a feature group of bench/quality_sources_cv.py) an Analyzer with exactly those extractors
decodes the same `--n` processed versions (sampled by source, seed 0) and runs them; the decode that only
fills the 4-fps grid is the baseline, timed in the same loop, so the table's ratios are steadier than its
seconds on a shared machine. Models are set up before timing; the learner's own prediction cost
(microseconds for LightGBM on one row) is left out.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_sources_cv import EXTRACTORS_OF  # noqa: E402

CANDIDATES = ["technical+bitstream", "technical+bitstream+nativeq", "technical+bitstream+bandstats",
              "technical+bitstream+nativeq+bandstats", "technical+bitstream+niqe",
              "technical+bitstream+nativeq+bandstats+piqe", "technical+bitstream+nativeq+fragstats"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, required=True)
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from reelscore.common.threads import set_compute_threads
    from reelscore.features.analysis import Analyzer

    set_compute_threads(args.threads)
    man = pd.read_csv(args.set / "manifest.csv")
    lab = pd.read_csv(args.set / "labels.csv")
    lab["Id"] = lab["name"].map(lambda n: Path(n).stem)
    man = man.merge(lab[["Id", "source"]], on="Id")
    rng = np.random.default_rng(0)
    srcs = rng.choice(man["source"].unique(), size=min(args.n, man["source"].nunique()), replace=False)
    pick = man[man["source"].isin(srcs)].groupby("source").sample(1, random_state=0)
    paths = [str(p) for p in pick["path"]]
    cands = args.candidates.split(",")
    analyzers = {c: Analyzer.from_names(EXTRACTORS_OF[c], threads=args.threads) for c in cands}
    for a in analyzers.values():
        a.setup()
    grid_only = Analyzer.from_names(["technical"], threads=args.threads)  # its only request is the shared grid
    dec = {c: 0.0 for c in ["grid only"] + cands}
    feat = {c: 0.0 for c in cands}
    for p in paths:  # candidates alternate per clip, so load on the machine hits them alike
        t = time.perf_counter()
        grid_only.decode(p, "x")
        dec["grid only"] += time.perf_counter() - t
        for c, a in analyzers.items():
            t = time.perf_counter()
            inputs = a.decode(p, "x")
            dec[c] += time.perf_counter() - t
            t = time.perf_counter()
            _, errors = a.run(inputs)
            feat[c] += time.perf_counter() - t
            if errors:
                print(f"{Path(p).name}: {c}: {errors}", file=sys.stderr)
    n = len(paths)
    base = dec["grid only"] / n
    lines = [f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; "
             f"{n} processed versions (one per source, {len(set(pick['source']))} sources), threads {args.threads}", "",
             "| candidate inputs | decode s/clip | extractors s/clip | total s/clip | × grid-only decode |",
             "|---|---|---|---|---|",
             f"| (grid-only decode, baseline) | {base:.3f} | – | {base:.3f} | 1.00 |"]
    for c in cands:
        tot = (dec[c] + feat[c]) / n
        lines.append(f"| {c} | {dec[c] / n:.3f} | {feat[c] / n:.3f} | {tot:.3f} | {tot / base:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(f"\n### {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
                    f"`.venv/bin/python bench/quality_inputs_cost.py --set SET --n {args.n} --threads {args.threads}`\n\n{text}")


if __name__ == "__main__":
    main()
