"""A/B in one process, inside `score`: BRISQUE by `features.brisque` (the default) vs OpenCV's QualityBRISQUE.

    .venv/bin/python bench/brisque_ab.py ../shared/media/snapugc [--reps 3]

`technical.brisque` computes OpenCV's features with OpenCV's image operations but without its per-pixel
loops (features/brisque.py); `technical.brisque_opencv` is OpenCV's own QualityBRISQUE with a loaded model
per thread (what the default was before). Both score technical's every 4th grid frame and nativeq's six
native frames. The variants alternate per clip; MOS and ECR must be identical.
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

    import reelscore.features.technical as T
    from reelscore.media import find_videos
    from reelscore.scoring import ScoreConfig, Scorer

    files = [str(p) for p in find_videos([args.folder], recursive=False)]
    s = Scorer(ScoreConfig(expect_text=False)).load()
    s.score(files[0])  # warm-up
    variants = {"features.brisque": T.brisque, "OpenCV QualityBRISQUE": T.brisque_opencv}
    wall = {k: 0.0 for k in variants}
    cpu = {k: 0.0 for k in variants}
    vals: dict[str, list] = {k: [] for k in variants}
    try:
        for _ in range(args.reps):
            for f in files:
                for k, fn in variants.items():
                    T.brisque = fn  # frame_descriptors looks the function up at call time
                    t, c = time.perf_counter(), time.process_time()
                    r = s.score(f)
                    wall[k] += time.perf_counter() - t
                    cpu[k] += time.process_time() - c
                    vals[k].append((r["scores"]["mos"]["value"], r["scores"]["ecr"]["value"]))
    finally:
        T.brisque = variants["features.brisque"]
    n = len(files) * args.reps
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; {len(files)} clips x {args.reps}")
    for k in variants:
        print(f"{k}: {wall[k] / n:.3f} s wall, {cpu[k] / n:.3f} s CPU per clip")
    a, b = variants
    print(f"{a} / {b}: {wall[a] / wall[b]:.3f} wall, {cpu[a] / cpu[b]:.3f} CPU; identical MOS and ECR: {vals[a] == vals[b]}")


if __name__ == "__main__":
    main()
