"""Start-up and end-to-end time of `reelscore score` in fresh processes, against a baseline checkout.

    .venv/bin/python bench/score_startup.py ../shared/media/snapugc [--baseline OLD/src] [--reps 3] [--titles]

For this checkout (and, with --baseline, another checkout's `src` run with the same interpreter) it
times, alternating so the host's noise falls on both: `Scorer.load()` in a fresh process and the heavy
libraries it leaves imported, then the whole command on the folder (`score DIR --json`, or with
--titles `score --manifest DIR/metadata.csv --videos-dir DIR`, each run with an empty text-embedding
cache so MiniLM runs). Also `ffmpeg -f null` decoding the same files, the floor any scorer pays.
Prints medians and the ratios new / baseline and new / ffmpeg.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ["torch", "sentence_transformers", "transformers", "lightgbm", "xgboost", "sklearn", "scipy.stats", "scipy"]

PROBE = """
import json, sys, time
t = time.perf_counter()
from reelscore.scoring import ScoreConfig, Scorer
Scorer(ScoreConfig(expect_text={titles})).load()
print(json.dumps({{"load_s": time.perf_counter() - t, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def _env(src: Path, cache: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), REELSCORE_NO_PROGRESS="1", REELSCORE_CACHE=str(cache))
    env.pop("REELSCORE_MODEL_CACHE", None)
    return env


def _load(src: Path, cache: Path, titles: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(titles=titles, heavy=HEAVY)], env=_env(src, cache),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _score(src: Path, cache: Path, folder: Path, titles: bool) -> float:
    shutil.rmtree(cache / "text_embeddings", ignore_errors=True)
    args = (["--manifest", str(folder / "metadata.csv"), "--videos-dir", str(folder), "-o", str(cache / "s.csv")]
            if titles else [str(folder), "--json"])
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reelscore", "score", *args], env=_env(src, cache), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def _ffmpeg(files: list[Path]) -> float:
    t = time.perf_counter()
    for f in files:
        subprocess.run(["ffmpeg", "-v", "error", "-threads", "2", "-i", str(f), "-f", "null", "-"], check=True)
    return time.perf_counter() - t


def main() -> None:
    """Print start-up and end-to-end medians for this checkout (and a baseline)."""
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--baseline", type=Path, help="another checkout's src directory")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--titles", action="store_true", help="score with the folder's metadata.csv titles")
    args = ap.parse_args()
    here = Path(__file__).resolve().parents[1] / "src"
    runs = {"new": here} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    files = sorted(args.folder.glob("*.mp4"))
    cache = Path(tempfile.mkdtemp(prefix="startup-"))
    models = Path(os.environ.get("REELSCORE_MODEL_CACHE") or Path.home() / ".cache" / "reelscore" / "models")
    for name in runs:  # both read the same ONNX exports (an older checkout knows only REELSCORE_CACHE/models)
        (cache / name).mkdir(parents=True)
        (cache / name / "models").symlink_to(models, target_is_directory=True)
    res: dict[str, dict[str, list]] = {k: {"load": [], "score": []} for k in runs}
    heavy: dict[str, list] = {}
    ff = []
    for _ in range(args.reps):
        ff.append(_ffmpeg(files))
        for name, src in runs.items():
            got = _load(src, cache / name, args.titles)
            res[name]["load"].append(got["load_s"])
            heavy[name] = got["heavy"]
            res[name]["score"].append(_score(src, cache / name, args.folder, args.titles))
    for name in runs:
        (cache / name / "models").unlink()
    shutil.rmtree(cache, ignore_errors=True)
    med = {k: {p: float(np.median(v)) for p, v in d.items()} for k, d in res.items()}
    f = float(np.median(ff))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; {len(files)} clips; "
          f"reps {args.reps}; titles {args.titles}; medians (runs alternate)")
    print("| checkout | Scorer.load() s | heavy modules left imported | score, whole command s | / ffmpeg decode |")
    print("|---|---|---|---|---|")
    for k in runs:
        print(f"| {k} | {med[k]['load']:.2f} | {', '.join(heavy[k]) or '-'} | {med[k]['score']:.2f} | {med[k]['score'] / f:.2f} |")
    print(f"| ffmpeg -threads 2 -f null, all clips | | | {f:.2f} | 1.00 |")
    if "baseline" in med:
        print(f"new / baseline: load {med['new']['load'] / med['baseline']['load']:.2f}, "
              f"whole command {med['new']['score'] / med['baseline']['score']:.2f}")


if __name__ == "__main__":
    main()
