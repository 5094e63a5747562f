"""`extract` per video with the grid streamed into the extractors' grid passes (decode and extractors
overlap on the cores) vs the grid kept and the extractors run after the decode, against decode-only.

    .venv/bin/python bench/extract_overlap_ab.py ../shared/media/snapugc [--long] [--reps 3] [--threads 2]

One process, the default feature set, models loaded before timing; the two ways alternate per video so
the host's noise falls on both. Decode-only is the same frames as `bench/features_bench.py` decodes
(probe, the grid at 4 frames/s short side 360, the 16-kHz audio). That both ways give the same values is
tested (tests/test_media_taps.py, tests/test_features_motion_pass.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    """Print seconds per video for decode-only, kept and streamed extraction, and their ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("media", type=Path)
    ap.add_argument("--long", action="store_true", help="also the generated 60-s 1080p clip")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("REELSCORE_NO_PROGRESS", "1")
    from features_bench import decode_only, make_long_clip

    from reelscore.features.pipeline import ExtractConfig, VideoProcessor
    from reelscore.features.store import FeatureStore

    videos = sorted(str(p) for p in args.media.glob("*.mp4"))
    if args.long:
        videos.append(str(make_long_clip(Path(tempfile.gettempdir()) / "reelscore-bench" / "long_1080p_60s.mp4")))
    work = Path(tempfile.mkdtemp(prefix="overlap-"))
    proc = VideoProcessor(str(work / "warm"), ExtractConfig(threads=args.threads))
    proc.process({"video_id": "warm", "path": videos[0], "title": "warm up", "description": ""})
    modes = {"kept": False, "streamed": True}
    t: dict[str, dict[str, list[float]]] = {v: {"decode": [], "kept": [], "streamed": []} for v in videos}
    for rep in range(args.reps):
        for v in videos:
            t[v]["decode"].append(decode_only(v, proc.plan, args.threads)[1])
            order = list(modes) if rep % 2 == 0 else list(modes)[::-1]
            for m in order:
                proc.analyzer.stream_grid = modes[m]
                proc.store = FeatureStore(work / f"{m}-{rep}-{Path(v).stem}")
                t0 = time.perf_counter()
                res = proc.process({"video_id": Path(v).stem, "path": v, "title": "a short title", "description": "a description"})
                t[v][m].append(time.perf_counter() - t0)
                assert res["status"] == "done", res
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; "
          f"threads {args.threads}; reps {args.reps}; medians per video")
    print("| video | decode-only s | kept s | streamed s | kept / decode | streamed / decode | streamed / kept |")
    print("|---|---|---|---|---|---|---|")
    agg = {"decode": 0.0, "kept": 0.0, "streamed": 0.0}
    short = {"decode": 0.0, "kept": 0.0, "streamed": 0.0}
    for v in videos:
        med = {k: float(np.median(x)) for k, x in t[v].items()}
        for k in agg:
            agg[k] += med[k]
            if "long_1080p" not in v:
                short[k] += med[k]
        print(f"| {Path(v).stem} | {med['decode']:.3f} | {med['kept']:.3f} | {med['streamed']:.3f} | "
              f"{med['kept'] / med['decode']:.2f} | {med['streamed'] / med['decode']:.2f} | {med['streamed'] / med['kept']:.2f} |")
    for name, a in (("short clips (sum)", short), ("all (sum)", agg)):
        if a["decode"]:
            print(f"| **{name}** | {a['decode']:.2f} | {a['kept']:.2f} | {a['streamed']:.2f} | "
                  f"{a['kept'] / a['decode']:.2f} | {a['streamed'] / a['decode']:.2f} | {a['streamed'] / a['kept']:.2f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
