"""Peak memory of `reelscore score` on 1080p clips of 6, 20 and 60 s: bounded, not growing with length.

    .venv/bin/python bench/score_memory.py [--out bench/results/score.md]

Each run is a fresh `reelscore score CLIP --json` process (the whole verb, models included); its
peak resident set comes from the kernel (`ru_maxrss` of the finished child). The baseline in the
same run is `reelscore probe CLIP` (imports and probing, no models, no frames), and the ratio that
matters is 60 s vs 6 s: a pipeline that held whole-video frame arrays would grow ~10x.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from features_bench import make_long_clip  # noqa: E402


def peak_rss_mib(cmd: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one command run to completion in a fresh process."""
    t = time.perf_counter()
    # a fork server would share peaks between runs: each run is measured alone via wait4
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, REELSCORE_NO_PROGRESS="1"))
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode not in (0, 1):
        raise RuntimeError(f"{cmd}: exit {p.returncode}")
    return usage.ru_maxrss / 1024.0, time.perf_counter() - t  # ru_maxrss is in KiB on Linux


def main() -> None:
    """Time and measure score's peak RSS on 6/20/60-s 1080p clips against probe in the same run."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    cache = Path(tempfile.gettempdir()) / "reelscore-bench"
    exe = str(Path(sys.executable).parent / "reelscore")
    rows = []
    for secs in (6, 20, 60):
        clip = make_long_clip(cache / f"long_1080p_{secs}s.mp4", seconds=secs)
        base, _ = peak_rss_mib([exe, "probe", str(clip)])
        rss, wall = peak_rss_mib([exe, "score", str(clip), "--json"])
        rows.append((secs, base, rss, wall))
    six = rows[0][2]
    lines = [f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; "
             "generated 1920x1080 30 fps H.264 + AAC clips (testsrc2)", "",
             "| clip | probe peak RSS (MiB) | score peak RSS (MiB) | score / 6-s score | score wall (s) | x real time |",
             "|---|---|---|---|---|---|"]
    for secs, base, rss, wall in rows:
        lines.append(f"| {secs} s 1080p | {base:.0f} | {rss:.0f} | {rss / six:.2f} | {wall:.1f} | {secs / wall:.1f} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(f"\n### score peak memory, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n{text}\n")


if __name__ == "__main__":
    main()
