"""Where `reelscore score` spends its time: start-up imports, model loading, decode parts, each extractor.

    .venv/bin/python bench/score_profile.py ../shared/media/snapugc [--threads 1] [--out bench/results/features.md]

Every part is timed in this one process on the same clips, wall and CPU (process CPU time counts
every thread, so CPU / wall near 2 means both cores were busy). The decode is split into what
`Analyzer.decode` does: probe, the frame grid with its taps (FFmpeg decode + conversion), the
bitstream pass (packet sizes and the QP of the first 60 frames, single-threaded) and the audio
tracks. Start-up is `python -X importtime` of the verb in a subprocess (largest top-level packages),
then `Scorer.load()`. A cProfile of one `score_many` pass lists the main thread's top functions;
work inside OpenCV / ONNX Runtime / FFmpeg threads appears there as waits.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path


def _timed(fn, acc: dict, key: str):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    acc[key][0] += time.perf_counter() - t
    acc[key][1] += time.process_time() - c
    return out


def import_profile(folder: Path, top: int = 8) -> list[tuple[str, float]]:
    """(top-level package, seconds) of the largest imports of `reelscore score FOLDER`."""
    exe = [sys.executable, "-X", "importtime", "-m", "reelscore", "score", str(folder)]
    err = subprocess.run(exe, capture_output=True, text=True, env=dict(os.environ, REELSCORE_NO_PROGRESS="1")).stderr
    tops: dict[str, float] = {}
    for ln in err.splitlines():
        parts = ln.split("|")
        if not ln.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        if len(name) - len(name.lstrip()) == 1:  # one space: imported by the program itself, not nested
            tops[name.strip()] = int(parts[1]) / 1e6
    return sorted(tops.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    """Profile score's parts on a folder of clips and print (and append) a Markdown summary."""
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=0,
                    help="compute threads (1 = a worker of `--workers 2` on 2 cores); default: score's own (2)")
    args = ap.parse_args()
    os.environ.setdefault("REELSCORE_NO_PROGRESS", "1")

    imports = import_profile(args.folder)
    t = time.perf_counter()
    from reelscore.media import AudioSpec, VideoReader, decode_audio_tracks, find_videos, probe
    from reelscore.media.bitstream import read_bitstream
    from reelscore.scoring import ScoreConfig, ScoreItem, Scorer, score_many

    if args.threads:
        from reelscore.common.threads import set_compute_threads

        set_compute_threads(args.threads)  # what a `--workers N` process does with its share of the cores
    scorer = Scorer(ScoreConfig(threads=args.threads or 2)).load()
    load_s = time.perf_counter() - t
    an = scorer.analyzer
    names = list(scorer.extractors)
    files = [str(p) for p in find_videos([args.folder], recursive=False)]
    video_s = sum(float(probe(p).duration_s) for p in files)
    reqs = [r for e in an.extractors.values() for r in e.requests()]
    specs = list(dict.fromkeys([AudioSpec(16000, "mono")] + [r for r in reqs if isinstance(r, AudioSpec)]))
    acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for p in files:
        info = _timed(lambda: probe(p), acc, "decode: probe")
        side = min(an.plan.short_side, min(info.width, info.height))

        def grid():
            with VideoReader(p, short_side=side, threads=an.threads, info=info) as r:
                step = an.grid_step(list(an.extractors.values()))  # the grid frames the extractors read
                return r.frames_at(an.plan.timestamps(float(r.video_duration_s or info.duration_s))[::step])
        _timed(grid, acc, "decode: frame grid (FFmpeg + RGB at 360p, the frames read)")
        _timed(lambda: read_bitstream(p, 60), acc, "decode: bitstream (sizes, QP of 60 frames)")
        _timed(lambda: decode_audio_tracks(p, specs), acc, "decode: audio tracks")
        inp = _timed(lambda: an.decode(p, Path(p).stem, {}, names=names), acc, "decode: all (as score does)")
        for n in names:
            _timed(lambda: an.run(inp, [n]), acc, f"extractor: {n}")
    items = [ScoreItem(p) for p in files]
    pr = cProfile.Profile()
    t, c = time.perf_counter(), time.process_time()
    pr.enable()
    list(score_many(items, scorer))
    pr.disable()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(12)
    top = [ln for ln in s.getvalue().splitlines() if ln.strip() and ln.strip()[0].isdigit()][:12]

    lines = [f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; "
             f"{len(files)} clips, {video_s:.1f} s of video", "",
             f"start-up: `Scorer.load()` {load_s:.1f} s in this process; largest imports of `reelscore score` "
             "(-X importtime, cumulative): " + ", ".join(f"{k} {v:.2f} s" for k, v in imports), "",
             "| part | wall s | CPU s | CPU / wall | share of `score` wall |", "|---|---|---|---|---|"]
    for k, (w, cp) in acc.items():
        lines.append(f"| {k} | {w:.2f} | {cp:.2f} | {cp / w if w else 0:.2f} | {w / wall:.2f} |")
    lines.append(f"| **score_many, whole pass** | {wall:.2f} | {cpu:.2f} | {cpu / wall:.2f} | 1.00 |")
    lines += ["", "main thread, top functions by own time (cProfile of the score_many pass):", "", "```",
              *top, "```"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(f"\n### Profile of `score` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
                    f"bench/score_profile.py)\n\n{text}\n")


if __name__ == "__main__":
    main()
