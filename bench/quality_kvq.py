"""Quality models on a KVQ-style processed set of real sources, split by source (leave-one-source-out).

Prerequisites (see bench/results/quality.md for the exact commands):
  reelscore degrade /work/shared/media/snapugc/*.mp4 --out SET --per-source 6 --seed 0
  reelscore extract SET/manifest.csv --out STORE --extractors technical,semantic,motion

Usage:
  python bench/quality_kvq.py --set SET --store STORE [--ksvqe-epochs 15] [--skip-ksvqe] [--json OUT.json]

Labels are VMAF-proxy MOS (1 + 4·VMAF/100) — full-reference proxies, not human MOS.
Metrics are computed on the pooled out-of-fold predictions of all videos; weight-free
baselines are scored directly (no training). Rank1/Rank2 use SET/pairs.csv.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd


def naturalness_scores(paths: dict[str, Path]) -> pd.Series:
    """NIQE-style distance per video on one frame per second (lower distance = better, so negated)."""
    from reelscore.media import VideoReader
    from reelscore.media.samplers import per_second
    from reelscore.models.quality_distortion import NaturalnessModel

    model = NaturalnessModel.default()
    out = {}
    for vid, p in paths.items():
        with VideoReader(p) as r:
            frames = per_second(r, 1).frames
        out[vid] = -float(np.nanmean([model.score_frame(f) for f in frames[:: max(1, len(frames) // 4)][:4]]))
    return pd.Series(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", required=True, type=Path)
    ap.add_argument("--store", required=True, type=Path)
    ap.add_argument("--ksvqe-epochs", type=int, default=10)
    ap.add_argument("--ksvqe-frames", type=int, default=4)
    ap.add_argument("--ksvqe-folds", type=int, default=3, help="source groups for the network's CV (LOSO costs too much CPU)")
    ap.add_argument("--skip-ksvqe", action="store_true")
    ap.add_argument("--reuse-ksvqe", type=Path, help="copy the network's entry from an earlier --json instead of retraining")
    ap.add_argument("--json", type=Path, default=Path("bench/results/quality.json"))
    args = ap.parse_args()

    from reelscore.features.store import FeatureStore
    from reelscore.workflows.quality_train import quality_metrics, read_quality_labels, train_light

    labels = read_quality_labels(args.set / "labels.csv", "mos")
    pairs = pd.read_csv(args.set / "pairs.csv")
    store = FeatureStore(args.store)
    pooled = store.pooled(["technical"])
    labels = labels.loc[labels.index.intersection(pooled.index)]
    results: dict[str, dict] = {}
    timing: dict[str, float] = {}

    # Weight-free baselines (higher = better after sign flip).
    t0 = time.perf_counter()
    results["BRISQUE (OpenCV, negated; technical extractor)"] = quality_metrics(-pooled.loc[labels.index, "technical:brisque_mean"], labels["y"], pairs)
    paths = {v: (args.set / labels.at[v, "path"]) for v in labels.index}
    results["NIQE-style naturalness (negated)"] = quality_metrics(naturalness_scores(paths), labels["y"], pairs)
    results["sharpness (technical:sharpness_mean)"] = quality_metrics(pooled.loc[labels.index, "technical:sharpness_mean"], labels["y"], pairs)
    timing["baselines"] = time.perf_counter() - t0

    for name, ex, learner, cols in [
        ("light ridge: technical per-frame means only (21 columns) [old default; the new one is in bench/quality_default_cv.py]", ["technical"], "ridge", r"^technical:.*_mean$"),
        ("light ensemble (ridge+gbdt): technical per-frame means", ["technical"], "ensemble", r"^technical:.*_mean$"),
        ("light ridge: technical+motion, means only", ["technical", "motion"], "ridge", r"^technical:.*_mean$|^motion:"),
        ("light ridge: technical (means and stds)", ["technical"], "ridge", None),
        ("light ridge: technical+motion", ["technical", "motion"], "ridge", None),
        ("light ridge: technical+semantic+motion", ["technical", "semantic", "motion"], "ridge", None),
        ("light gbdt: technical+motion", ["technical", "motion"], "gbdt", None),
        ("light gbdt: technical+semantic+motion", ["technical", "semantic", "motion"], "gbdt", None),
        ("light ensemble (ridge+gbdt): technical+motion", ["technical", "motion"], "ensemble", None),
    ]:
        t0 = time.perf_counter()
        _, oof, m = train_light(labels, store, ex, learner, "source", pairs, cv=True, columns=cols)
        results[name] = m
        timing[name] = time.perf_counter() - t0

    if args.reuse_ksvqe is not None:
        old = json.loads(args.reuse_ksvqe.read_text())
        for k, v in old["results"].items():
            if k.startswith("KSVQE"):
                results[k] = {kk: (float("nan") if vv is None else vv) for kk, vv in v.items()}
                timing["ksvqe"] = old["seconds"].get("ksvqe", float("nan"))
    elif not args.skip_ksvqe:
        from reelscore.workflows.quality_train_net import train_ksvqe

        t0 = time.perf_counter()
        _, oof, m = train_ksvqe(labels, args.set, "source", pairs, preset="cpu", epochs=args.ksvqe_epochs, cv=True,
                                final=False, folds=args.ksvqe_folds, overrides={"frames": args.ksvqe_frames})
        results[f"KSVQE-style net (cpu preset, {args.ksvqe_frames} frames, conv encoder from scratch, "
                f"{args.ksvqe_epochs} epochs; {m['split']})"] = m
        timing["ksvqe"] = time.perf_counter() - t0

    clean = lambda v: None if isinstance(v, float) and not np.isfinite(v) else v  # noqa: E731
    payload = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}",
        "n_videos": int(len(labels)),
        "n_sources": int(labels["source"].nunique()),
        "n_pairs": {"homologous": int(pairs["homologous"].sum()), "non_homologous": int((1 - pairs["homologous"]).sum())},
        "label_range": [float(labels["y"].min()), float(labels["y"].max())],
        "results": {k: {kk: clean(vv) for kk, vv in v.items()} for k, v in results.items()},
        "seconds": timing,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"{'model':<100} {'SROCC':>7} {'PLCC':>7} {'Rank1':>7} {'Rank2':>7} {'final':>7}")
    for k, m in results.items():
        f = lambda x: "  n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:7.4f}"  # noqa: E731
        print(f"{k:<100} {f(m['SROCC'])} {f(m['PLCC'])} {f(m['Rank1'])} {f(m['Rank2'])} {f(m.get('final'))}")


if __name__ == "__main__":
    main()
