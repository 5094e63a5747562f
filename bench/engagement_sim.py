"""Simulated engagement experiments (SIMULATED data, not real videos):

1. joint vs separate training of NAWP and ECR (the SnapUGC paper's Table 5);
2. which modalities help (its Fig. 3): visual clips → + motion clips → + audio (video-level) → + text tokens.

The store comes from `reelscore.training.simulate.simulate_store`: a hidden hook (first
seconds) drives ECR, a hidden body appeal drives NAWP; visual/motion clip features carry
both (the hook only in clips starting before 5 s), audio carries the body weakly, text
carries both weakly. Each row trains EngagementNet through the same trainer as the CLI
and reports SRCC/PLCC on a held-out 20 % split (best epoch chosen on that split, so the
absolute figures are optimistic; compare rows with each other).

Usage: PYTHONPATH=src .venv/bin/python bench/engagement_sim.py --out bench/results/engagement_sim.json
       PYTHONPATH=src .venv/bin/python bench/engagement_sim.py --labels-from views --out bench/results/engagement_sim_views.json

With `--labels-from views` the hidden factors are those of `reelscore simulate-views` (same seed),
and NAWP/ECR come from its watch logs through `reelscore.labels.compute_labels` (DuckDB).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from reelscore.training.labels import load_labels
from reelscore.training.simulate import hidden_from_view_simulator, simulate_store
from reelscore.training.trainer import train_net

NET = {"d_model": 32, "mlp_hidden": 64, "fusion_layers": 2, "attn_layers": 2, "heads": 4, "dropout": 0.1}
TRAIN = {"epochs": 8, "lr": 1e-3, "lr_min": 1e-6, "batch_size": 16, "threads": 1}

RUNS = {
    # Table 5
    "joint": {"targets": ["NAWP", "ECR"]},
    "nawp_only": {"targets": ["NAWP"]},
    "ecr_only": {"targets": ["ECR"]},
    # Fig. 3 (joint training)
    "visual": {"clip": ["visual"], "pooled": [], "text": None},
    "visual+motion": {"clip": ["visual", "motion"], "pooled": [], "text": None},
    "visual+motion+audio": {"clip": ["visual", "motion"], "pooled": ["audio"], "text": None},
    "visual+motion+audio+text": {"clip": ["visual", "motion"], "pooled": ["audio"], "text": "text"},
}


def main() -> None:
    """Run every configuration for each seed; write the figures as JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/results/engagement_sim.json")
    ap.add_argument("--videos", type=int, default=400)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--noise", type=float, default=5.0)
    ap.add_argument("--text-strength", type=float, default=0.1)
    ap.add_argument("--labels-from", choices=["direct", "views"], default="direct",
                    help="direct: ECR/NAWP from the hidden factors; views: simulate-views logs → compute_labels")
    ap.add_argument("--views", type=int, default=2000, help="views per video with --labels-from views")
    args = ap.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as td:
        for seed in args.seeds:
            store = Path(td) / f"store{seed}"
            hidden = hidden_from_view_simulator(args.videos, seed) if args.labels_from == "views" else None
            lab = simulate_store(store, n_videos=args.videos, seed=seed, noise=args.noise, text_dim=64,
                                 text_strength=args.text_strength, hidden=hidden)
            if args.labels_from == "views":
                # labels the way a platform would get them: simulated watch logs → DuckDB label computation
                from reelscore.labels import compute_labels, simulate_views

                log = Path(td) / f"log{seed}.parquet"
                simulate_views(args.videos, args.views, log, seed=seed, show_progress=False)
                lab, _ = compute_labels(str(log), min_views=args.views, show_progress=False)
            lab.to_csv(Path(td) / f"labels{seed}.csv", index=False)
            Y, _ = load_labels(Path(td) / f"labels{seed}.csv", ["NAWP", "ECR"])
            for name, run in RUNS.items():
                net = dict(NET)
                if "clip" in run:
                    net.update(clip_extractors=run["clip"], pooled_extractors=run["pooled"], text_extractor=run["text"])
                else:
                    net.update(clip_extractors=["visual", "motion"], pooled_extractors=["audio"], text_extractor="text")
                train = dict(TRAIN, targets=run.get("targets", ["NAWP", "ECR"]))
                t0 = time.time()
                s = train_net(Y, store, Path(td) / f"m_{name}_{seed}", {"net": net, "train": train}, val_split=0.2,
                              seed=seed, curve=False)
                vm = {t: {k: s["val_metrics"][t][k] for k in ("srcc", "plcc")} for t in s["targets"]}
                results.setdefault(name, {})[str(seed)] = vm
                print(f"seed {seed} {name:28s} " + "  ".join(f"{t} SRCC {v['srcc']:.3f} PLCC {v['plcc']:.3f}" for t, v in vm.items())
                      + f"  ({time.time() - t0:.0f}s)", flush=True)
                from reelscore.common.atomic import write_text_atomic

                write_text_atomic(args.out, json.dumps({
                    "simulated": True, "machine": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "videos": args.videos, "labels_from": args.labels_from, "views_per_video": args.views, "noise": args.noise, "text_strength": args.text_strength, "net": NET, "train": TRAIN, "results": results}, indent=1))


if __name__ == "__main__":
    main()
