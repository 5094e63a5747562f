"""Cost of starting a program through `killed_with_parent` (the launcher `degrade` uses for ffmpeg) against a plain
start of the same program, and against one real `degrade` encode, in one process.

    .venv/bin/python bench/process_launch.py [--n 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

from reelscore.common.process import killed_with_parent


def _starts(cmd: list[str], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        subprocess.run(cmd, capture_output=True, check=True)
    return (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="starts of each kind")
    a = ap.parse_args()
    from reelscore.media.synth import make_clip
    from reelscore.workflows.degrade import encode, make_plans

    plain = _starts(["true"], a.n)
    wrapped = _starts(killed_with_parent(["true"]), a.n)
    with tempfile.TemporaryDirectory() as d:
        src = make_clip(Path(d) / "src.mp4", seconds=5.0, width=270, height=480, fps=30, seed=1, audio=True)
        plan = make_plans("src", "src", 1, 0, False)[0]
        t = time.perf_counter()
        for i in range(3):
            encode(plan, src, Path(d) / f"out{i}.mp4")
        enc = (time.perf_counter() - t) / 3
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}")
    print(f"plain start of `true`: {plain * 1e3:.1f} ms; through the launcher: {wrapped * 1e3:.1f} ms "
          f"({wrapped / plain:.1f}x, +{(wrapped - plain) * 1e3:.1f} ms)")
    print(f"one degrade encode of a 5-s 270x480 clip (launcher included): {enc * 1e3:.0f} ms; "
          f"the launcher's extra start = {(wrapped - plain) / enc * 100:.1f} % of it")


if __name__ == "__main__":
    main()
