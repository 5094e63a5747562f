"""Feature-extraction speed: per extractor and end to end, against decoding the same frames alone.

For each video: decode-only (the shared frame grid + the 16-kHz audio, exactly
what the pipeline decodes), each extractor on the decoded inputs, and the whole
pipeline (hash, probe, decode, all extractors, Parquet writes) into a fresh
store. Figures: seconds per video, × real time (video duration / seconds) and
the ratio to decode-only. Models are loaded before timing (a warm-up video).

    python bench/features_bench.py /work/shared/media/snapugc --long --threads 2 \
        --out bench/results/features.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path



def make_long_clip(path: Path, seconds: int = 60) -> Path:
    """A 60-s 1080p30 H.264 + AAC clip (ffmpeg test source with motion and a tone)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    cmd = [
        "ffmpeg", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(tmp),
    ]
    subprocess.run(cmd, check=True)
    os.replace(tmp, path)
    return path


def decode_only(path: str, plan, threads: int):
    """Decode exactly what the pipeline decodes; returns (VideoInputs, seconds)."""
    from reelscore.features.base import VideoInputs
    from reelscore.media import decode_audio, probe
    from reelscore.media.reader import VideoReader

    t0 = time.perf_counter()
    info = probe(path)
    side = min(plan.short_side, min(info.width, info.height))
    with VideoReader(path, short_side=side, threads=threads, info=info) as r:
        dur = float(r.video_duration_s or info.duration_s)
        if r.can_skip:  # as the analysis does on one decoding thread: pictures nobody reads are not decoded
            r.packet_table()
            r.skip_unread(plan.timestamps(dur))
        s = r.frames_at(plan.timestamps(dur))
    inp = VideoInputs(video_id=Path(path).stem, path=path, duration_s=dur, frames=s.frames, timestamps=s.timestamps, plan=plan)
    try:
        a = decode_audio(path, 16000, True)
        inp.audio = a.samples
    except Exception as exc:  # no audio stream: the audio extractor's flagged path
        inp.audio_missing = str(exc)
    return inp, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("media", nargs="?", default="/work/shared/media/snapugc", help="folder of videos (*.mp4)")
    ap.add_argument("--long", action="store_true", help="also a generated 60-s 1080p clip")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--extractors", default="semantic,technical,motion,audio,text")
    ap.add_argument("--out", default=None, help="markdown file to write the results to")
    ap.add_argument("--note", default="", help="free text added to the results (e.g. shared load)")
    ap.add_argument("--workers", type=int, default=2, help="also time `extract` over all videos with this many worker processes (0: skip)")
    args = ap.parse_args()

    os.environ.setdefault("REELSCORE_NO_PROGRESS", "1")
    from reelscore.features.pipeline import ExtractConfig, VideoProcessor

    videos = sorted(str(p) for p in Path(args.media).glob("*.mp4"))
    cache = Path(tempfile.gettempdir()) / "reelscore-bench"
    if args.long:
        videos.append(str(make_long_clip(cache / "long_1080p_60s.mp4")))
    names = args.extractors.split(",")
    work = Path(tempfile.mkdtemp(prefix="featbench-"))
    cfg = ExtractConfig(extractors=names, threads=args.threads, device=args.device)
    proc = VideoProcessor(str(work / "warm"), cfg)
    plan = proc.plan
    # warm-up: load every model and JIT path once
    proc.process({"video_id": "warm", "path": videos[0], "title": "warm up", "description": ""})
    for e in proc.extractors:
        e.setup(cfg.device)

    rows = []
    for v in videos:
        inp, t_dec = decode_only(v, plan, args.threads)
        inp.texts = {"title": "a short title", "description": "a description", "caption": ""}
        per = {}
        for e in proc.extractors:
            t0 = time.perf_counter()
            out = e.extract(inp)
            per[e.name] = time.perf_counter() - t0
            inp.prior[e.name] = out
        store = work / f"s-{len(rows)}"
        p2 = VideoProcessor.__new__(VideoProcessor)  # same loaded extractors, fresh store
        p2.__dict__.update(proc.__dict__)
        from reelscore.features.store import FeatureStore

        p2.store = FeatureStore(store)
        t0 = time.perf_counter()
        res = p2.process({"video_id": Path(v).stem, "path": v, "title": "a short title", "description": "a description"})
        t_e2e = time.perf_counter() - t0
        assert res["status"] == "done", res
        rows.append({"video": Path(v).name, "duration": inp.duration_s, "frames": len(inp.frames), "size": f"{inp.frames.shape[2]}x{inp.frames.shape[1]}", "decode": t_dec, "e2e": t_e2e, **per})
        print(rows[-1], flush=True)
    throughput = None
    if args.workers:
        import pandas as pd

        from reelscore.features.pipeline import extract

        df = pd.DataFrame({"video_id": [Path(v).stem for v in videos], "path": videos, "title": "a short title", "description": "a description"})
        t0 = time.perf_counter()
        summ = extract(df, work / "throughput", extractors=names, workers=args.workers, threads=args.threads, device=args.device, progress=False)
        wall = time.perf_counter() - t0
        assert summ["done"] == len(videos), summ
        throughput = (wall, sum(r["duration"] for r in rows))
    shutil.rmtree(work, ignore_errors=True)

    def fmt_row(r: dict) -> str:
        d = r["duration"]
        cells = [r["video"][:14], f"{d:.1f}", r["size"], str(r["frames"]), f"{r['decode']:.2f}"]
        cells += [f"{r[n]:.2f}" for n in names]
        cells += [f"{r['e2e']:.2f}", f"{d / r['e2e']:.1f}×", f"{r['e2e'] / r['decode']:.1f}"]
        return "| " + " | ".join(cells) + " |"

    short = [r for r in rows if "long_1080p" not in r["video"]]
    lines = [
        "| video | dur s | grid size | grid frames | decode-only s | " + " | ".join(f"{n} s" for n in names) + " | end-to-end s | × real time | e2e / decode |",
        "|" + "---|" * (8 + len(names)),
        *[fmt_row(r) for r in rows],
    ]
    summary = []
    if short:
        sd = sum(r["duration"] for r in short)
        se = sum(r["e2e"] for r in short)
        sdec = sum(r["decode"] for r in short)
        summary.append(f"- SnapUGC clips ({len(short)}): {se / len(short):.2f} s/video end to end, {sd / se:.1f}× real time, end-to-end / decode-only = {se / sdec:.1f}")
        for n in names:
            sn = sum(r[n] for r in short)
            summary.append(f"  - {n}: {sn / len(short):.3f} s/video, {sd / sn:.1f}× real time, {sn / sdec:.2f}× decode-only")
    for r in rows:
        if "long_1080p" in r["video"]:
            summary.append(f"- 60-s 1080p clip: {r['e2e']:.2f} s end to end, {r['duration'] / r['e2e']:.1f}× real time, end-to-end / decode-only = {r['e2e'] / r['decode']:.1f}")
    if throughput:
        wall, dur = throughput
        summary.append(
            f"- `extract` with {args.workers} worker processes × {args.threads} thread over all {len(rows)} videos "
            f"({dur:.0f} s of video), including worker start-up and model loading: {wall:.1f} s wall, {dur / wall:.1f}× real time"
        )
    import torch

    header = [
        "## Feature extraction (bench/features_bench.py)",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {platform.machine()}, {os.cpu_count()} cores visible, "
        f"threads per worker {args.threads}, device {args.device}{' (' + torch.cuda.get_device_name(0) + ')' if args.device == 'cuda' else ''}; torch {torch.__version__}",
        f"- command: `python bench/features_bench.py {' '.join(sys.argv[1:])}`",
        f"- frame grid: {plan.fps:g} frames/s at short side {plan.short_side} (capped at native), clips of {plan.clip_len}; extractors: {', '.join(names)}",
        *( [f"- note: {args.note}"] if args.note else [] ),
        "",
        *summary,
        "",
        *lines,
        "",
    ]
    text = "\n".join(header)
    print(text)
    if args.out:
        out = Path(args.out)
        prev = out.read_text() if out.exists() else "# Feature extraction benchmarks\n\n"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(prev.rstrip() + "\n\n" + text)


if __name__ == "__main__":
    main()
