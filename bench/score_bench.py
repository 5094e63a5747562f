"""`score` on a folder: 1 worker vs N workers, against decoding the same frames alone, in one run.

    .venv/bin/python bench/score_bench.py ../shared/media/snapugc --workers 2 --reps 2 \
        [--out bench/results/score.md] [--clip-checkpoint DIR]

Each figure is a ratio to a baseline timed in the same process: decode-only is the
analysis's own decode of every input (probe, shared frame grid, audio, taps) without
extractors or models; `score` is `score_many` (the verb's library function) with the
shipped default models and the timeline, 1 worker in this process and N in a process
pool (model loading counted once per worker, as a user sees it). Inputs are repeated
`--reps` times so pool start-up is amortised as in a real folder.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path


def main() -> None:
    """Time decode-only, score with 1 worker and with N workers; print and write a Markdown table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--clip-checkpoint", default=None)
    args = ap.parse_args()

    from reelscore.features.analysis import Analyzer
    from reelscore.media import find_videos, probe
    from reelscore.scoring import ScoreConfig, ScoreItem, Scorer, score_many

    files = [str(p) for p in find_videos([args.folder], recursive=False)] * args.reps
    seconds_of_video = sum(float(probe(p).duration_s) for p in files)
    opts = {"clip_mean3": {"checkpoint": args.clip_checkpoint}} if args.clip_checkpoint else {}
    cfg = ScoreConfig(extractor_options=opts)

    t = time.perf_counter()
    scorer = Scorer(cfg).load()
    load_s = time.perf_counter() - t
    an: Analyzer = scorer.analyzer
    names = list(scorer.extractors)
    # decode-only = the same frames decoded and converted, no extractor work: the grid is kept instead
    # of being streamed into technical's and semantic's grid passes during the decode
    an.stream_grid = False
    t = time.perf_counter()
    for p in files:
        an.decode(p, Path(p).stem, {}, names=names)
    decode_s = time.perf_counter() - t
    an.stream_grid = True

    items = [ScoreItem(p) for p in files]

    def timed(gen):
        """All results, total seconds, and seconds from the first result to the last (steady state)."""
        t0 = time.perf_counter()
        out, stamps = [], []
        for r in gen:
            out.append(r)
            stamps.append(time.perf_counter())
        return out, stamps[-1] - t0, stamps[-1] - stamps[0]

    _, seq_s, _ = timed(score_many(items, scorer=scorer, prefetch=False))  # one video after another
    res1, one_s, one_steady = timed(score_many(items, scorer=scorer))  # next video decoded during this one
    resn, n_s, n_steady = timed(score_many(items, workers=args.workers, config=cfg))
    assert [r["video_id"] for r in resn] == [r["video_id"] for r in res1], "order changed"
    same = all(abs((a["scores"]["ecr"]["value"] or 0) - (b["scores"]["ecr"]["value"] or 0)) < 1e-9
               for a, b in zip(res1, resn) if a.get("ok"))
    stages = {k: sum(r["timing_s"].get(k, 0) for r in res1 if r.get("ok")) for k in
              ("probe", "decode", "features", "models", "timeline", "total")}
    load = os.getloadavg()[0]
    rows = [
        ("decode only (analysis decode of every input)", decode_s),
        ("score, 1 worker, no decode-ahead (models loaded before)", seq_s),
        ("score, 1 worker (models loaded before)", one_s),
        (f"score, {args.workers} workers (pool start + model load included)", n_s),
    ]
    lines = [f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {load:.1f}; "
             f"{len(files)} inputs ({len(files) // args.reps} clips x {args.reps}), {seconds_of_video:.1f} s of video; "
             f"model load {load_s:.1f} s; ECR identical across worker counts: {same}",
             "", "| run | seconds | videos/s | x real time | x decode-only |", "|---|---|---|---|---|"]
    for name, s in rows:
        lines.append(f"| {name} | {s:.1f} | {len(files) / s:.2f} | {seconds_of_video / s:.1f} | {s / decode_s:.2f} |")
    lines += ["", f"speed-up of {args.workers} workers over 1: {one_s / n_s:.2f}x end to end; steady state "
              f"(first result to last, {len(files) - 1} videos): 1 worker {(len(files) - 1) / one_steady:.2f} videos/s, "
              f"{args.workers} workers {(len(files) - 1) / n_steady:.2f} videos/s ({one_steady / n_steady:.2f}x)",
              "1-worker stage totals (s): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items())]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(f"\n### {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n{text}\n")


if __name__ == "__main__":
    main()
