"""Decode CPU of `score`'s analysis in a worker's configuration (1 thread) with and without skipping the
H.264/HEVC pictures nobody reads (non-reference pictures off the grid, the index frames and the first frames).

    .venv/bin/python bench/skip_unread_ab.py ../shared/media/snapugc [--reps 3]

One process, the shipped default extractors, the two ways alternating per clip; the outputs of both ways
are compared (identical, as the tests check on generated clips). Prints decode CPU per clip and the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np


def main() -> None:
    """Print decode CPU per clip with skipping off and on."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("REELSCORE_NO_PROGRESS", "1")
    from reelscore.common.threads import set_compute_threads

    set_compute_threads(1)
    from reelscore.media import find_videos
    from reelscore.scoring import ScoreConfig, Scorer

    s = Scorer(ScoreConfig(threads=1)).load()
    an, names = s.analyzer, list(s.extractors)
    files = [str(p) for p in find_videos([args.folder], recursive=False)]
    cpu = {False: [], True: []}
    same = True
    for rep in range(args.reps):
        for f in files:
            outs = {}
            for flag in ((False, True) if rep % 2 == 0 else (True, False)):
                an.skip_unread = flag
                c = time.process_time()
                inp = an.decode(f, Path(f).stem, {}, names=names)
                cpu[flag].append(time.process_time() - c)
                if rep == 0:
                    outs[flag] = an.run(inp, names)[0]
            if rep == 0:
                same &= all(np.array_equal(outs[True][n].pooled, outs[False][n].pooled, equal_nan=True) for n in outs[False])
    off, on = float(np.mean(cpu[False])), float(np.mean(cpu[True]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; "
          f"{len(files)} clips x {args.reps}; threads 1 (a --workers process)")
    print(f"decode CPU per clip: every picture {off:.3f} s, unread pictures skipped {on:.3f} s = {on / off:.3f}x; "
          f"identical outputs: {same}")


if __name__ == "__main__":
    main()
