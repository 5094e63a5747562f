"""How far `extract`'s default set can get towards decode-only while keeping its recipes (issue 12).

    python bench/extract_floor.py ../shared/media/snapugc [--long] [--reps 3]

For each video, in one process on one thread (a `--workers` process): decode-only (the grid and audio the
pipeline decodes, pictures nobody reads skipped, as `features_bench.py`), then each default extractor on the
decoded inputs, timing inside them the calls whose cost the recipe fixes: OpenCV's Farneback on motion's
pairs, ONNX Runtime's EfficientNet-Lite0 on semantic's frames. The *floor* is decode + those calls + technical
(its descriptors are the recipe; they share intermediates already) + audio + text: what the default set would
cost if everything else (frame preparation, pooling, histograms, store writes) were free. Ratios to
decode-only, medians over reps, summed over the short clips.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


class Timed:
    """Wrap a callable and add up the seconds spent in it."""

    def __init__(self, fn) -> None:
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *a, **k):
        t0 = time.perf_counter()
        try:
            return self.fn(*a, **k)
        finally:
            self.seconds += time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("media", nargs="?", default="/work/shared/media/snapugc")
    ap.add_argument("--long", action="store_true", help="also the generated 60-s 1080p clip of features_bench.py")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--options", default="{}", help='per-extractor config as JSON, to price a cheaper recipe, '
                    'e.g. \'{"motion": {"short_side": 64}, "technical": {"stride": 4, "brisque_stride": 8}}\'')
    args = ap.parse_args()
    os.environ.setdefault("REELSCORE_NO_PROGRESS", "1")
    import cv2
    from features_bench import decode_only, make_long_clip

    from reelscore.features import semantic
    from reelscore.features.pipeline import ExtractConfig, VideoProcessor

    cv2.setNumThreads(1)
    videos = sorted(str(p) for p in Path(args.media).glob("*.mp4"))
    if args.long:
        videos.append(str(make_long_clip(Path(tempfile.gettempdir()) / "reelscore-bench" / "long_1080p_60s.mp4")))
    cfg = ExtractConfig(threads=1, options=json.loads(args.options))
    proc = VideoProcessor(str(Path(tempfile.mkdtemp(prefix="floor-")) / "warm"), cfg)
    proc.process({"video_id": "warm", "path": videos[0], "title": "warm up", "description": ""})
    for e in proc.extractors:
        e.setup(cfg.device)
    farneback = Timed(cv2.calcOpticalFlowFarneback)
    cv2.calcOpticalFlowFarneback = farneback
    sess = semantic.onnx_session(1)
    onnx = Timed(sess.run)
    sess.run = onnx

    rows = []
    for v in videos:
        reps = []
        for _ in range(args.reps):
            inp, t_dec = decode_only(v, proc.plan, 1)
            inp.texts = {"title": "a short title", "description": "a description", "caption": ""}
            farneback.seconds = onnx.seconds = 0.0
            per = {}
            for e in proc.extractors:
                t0 = time.perf_counter()
                inp.prior[e.name] = e.extract(inp)
                per[e.name] = time.perf_counter() - t0
            reps.append({"decode": t_dec, **per, "farneback": farneback.seconds, "onnx": onnx.seconds})
        med = {k: statistics.median(r[k] for r in reps) for k in reps[0]}
        med["video"], med["duration"] = Path(v).stem[:14], inp.duration_s
        rows.append(med)
        print(med, flush=True)

    def line(name: str, rs: list[dict]) -> str:
        dec = sum(r["decode"] for r in rs)
        ext = sum(sum(r[e.name] for e in proc.extractors) for r in rs)
        fixed = sum(r["farneback"] + r["onnx"] + r["technical"] + r["audio"] + r["text"] for r in rs)
        fb, ox = sum(r["farneback"] for r in rs), sum(r["onnx"] for r in rs)
        return (f"| {name} | {dec:.2f} | {ext:.2f} | {fb:.2f} ({fb / dec:.2f}×) | {ox:.2f} ({ox / dec:.2f}×) | "
                f"{sum(r['technical'] for r in rs):.2f} | **{(dec + ext) / dec:.2f}** | **{(dec + fixed) / dec:.2f}** |")

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; one thread; "
          f"medians of {args.reps} reps; options {args.options}")
    print("| videos | decode-only s | extractors s | of which Farneback s | of which ONNX run s | technical s | now / decode | floor / decode |")
    print("|---|---|---|---|---|---|---|---|")
    short = [r for r in rows if r["video"] != "long_1080p_60s"]
    print(line(f"short clips ({len(short)})", short))
    for r in rows:
        if r["video"] == "long_1080p_60s":
            print(line("60-s 1080p", [r]))


if __name__ == "__main__":
    main()
