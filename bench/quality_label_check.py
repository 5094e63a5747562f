"""Does the cheap full-reference label rank processed versions like the full one? (issue 19)

    .venv/bin/python bench/quality_label_check.py SET_DIR SOURCE_STEM [SOURCE_STEM ...] [--out bench/results/quality_label_check.json]

For every processed version of the named sources in SET_DIR/labels.csv: the label `degrade` stores
(VMAF v0.6.1 on 4 runs of 3 consecutive frames, 8 frames scored, lumas capped at 720 px on the longer
side) against the full label (every frame, native size). Prints SROCC/PLCC between the two per source
and pooled, and the seconds each took.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("set_dir", type=Path)
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--max-side", type=int, default=720)
    ap.add_argument("--out", type=Path, default=Path("bench/results/quality_label_check.json"))
    args = ap.parse_args()

    from reelscore.common.stats import plcc, srcc
    from reelscore.workflows.fullref import fullref_scores

    lab = pd.read_csv(args.set_dir / "labels.csv")
    rows = []
    for src in args.sources:
        sub = lab[lab["source"] == src]
        for r in sub.itertuples():
            dist = args.set_dir / r.path
            t0 = time.perf_counter()
            cheap = fullref_scores(r.source_path, dist, chunks=args.runs, chunk_len=3, max_side=args.max_side)
            t1 = time.perf_counter()
            full = fullref_scores(r.source_path, dist, chunks=0, max_side=None)
            t2 = time.perf_counter()
            rows.append({"source": src, "name": r.name, "cheap": cheap.vmaf, "full": full.vmaf,
                         "cheap_frames": cheap.frames, "full_frames": full.frames, "cheap_s": t1 - t0, "full_s": t2 - t1})
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    out = {"per_source": {s: {"n": int(len(g)), "SROCC": srcc(g["cheap"], g["full"]), "PLCC": plcc(g["cheap"], g["full"]),
                               "mean_abs_diff": float((g["cheap"] - g["full"]).abs().mean())} for s, g in df.groupby("source")},
           "pooled": {"n": int(len(df)), "SROCC": srcc(df["cheap"], df["full"]), "PLCC": plcc(df["cheap"], df["full"])},
           "seconds_per_version": {"cheap": float(df["cheap_s"].mean()), "full": float(df["full_s"].mean())},
           "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("per_source", "pooled", "seconds_per_version")}, indent=1))


if __name__ == "__main__":
    main()
