"""The KSVQE-style network on a processed set, cross-validated by source on CPU (issue 19, item 3).

Decoding fragments is the slow part (about 1.5 s a video), so each video's inputs are decoded once
and cached under `--cache` (default ~/.cache/reelscore/qset/ksvqe_cache/<config key>): the training
draws (random fragments, `draws` of them) and the inference draw (the centred one `predict` uses),
each with its distortion descriptors. Folds are groups of sources; each fold trains a fresh network
on the other sources' versions and predicts its own with the inference draw, as `predict` would.

    .venv/bin/python bench/quality_net_cv.py --set ~/.cache/reelscore/qset/set90 --cache-only --jobs 2
    .venv/bin/python bench/quality_net_cv.py --set ~/.cache/reelscore/qset/set90 --folds 5 --jobs 2 \
        --encoder lite0 --epochs 12 --ensemble-with MODEL/cv_predictions.csv --out bench/results/quality_net_cv
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def cache_dir(root: Path, cfg) -> Path:
    """One folder per sampling config (grid, patch, frames, draws, seed)."""
    key = json.dumps({k: getattr(cfg, k) for k in ("grid", "patch", "frames", "draws", "seed")}, sort_keys=True)
    return root / hashlib.sha1(key.encode()).hexdigest()[:10]


def cache_one(args: tuple[str, str, str, dict]) -> tuple[str, float, str]:
    """Decode one video's training and inference inputs into an .npz (temp file, then rename)."""
    vid, path, out, cfgd = args
    import torch

    torch.set_num_threads(1)  # the parent imported torch before forking: an OMP_NUM_THREADS here would be too late
    from reelscore.models.quality_net import ksvqe_config, load_sample

    t = time.perf_counter()
    dst = Path(out) / f"{vid}.npz"
    if dst.exists():
        return vid, 0.0, ""
    try:
        cfg = ksvqe_config("cpu", cfgd)
        tr = load_sample(path, cfg, train=True)
        ev = load_sample(path, cfg, train=False)
    except Exception as exc:  # one line, the others go on
        return vid, time.perf_counter() - t, f"{type(exc).__name__}: {exc}"
    tmp = dst.with_suffix(".tmp.npz")
    np.savez(tmp, frags_train=tr.frags, dist_train=tr.dist, frags_eval=ev.frags, dist_eval=ev.dist)
    tmp.rename(dst)
    return vid, time.perf_counter() - t, ""


def load_cached(folder: Path, vids: list[str], split: str):
    """VideoSamples for `vids` from the cache (split = train or eval)."""
    from reelscore.models.quality_net import VideoSample

    out = []
    for v in vids:
        z = np.load(folder / f"{v}.npz")
        out.append(VideoSample(frags=z[f"frags_{split}"], dist=z[f"dist_{split}"]))
    return out


def run_fold(args: tuple[int, list[str], list[str], np.ndarray, str, dict]) -> tuple[int, np.ndarray, list[float], float]:
    """Train on `train_ids`, predict `test_ids` → (fold, predictions, loss history, seconds)."""
    fold, train_ids, test_ids, y, folder, cfgd = args
    from reelscore.models.quality_net import KSVQEModel, ksvqe_config

    t = time.perf_counter()
    cfg = ksvqe_config("cpu", cfgd)
    model = KSVQEModel(cfg).fit_samples(load_cached(Path(folder), train_ids, "train"), y)
    pred = model.predict_samples(load_cached(Path(folder), test_ids, "eval"))
    return fold, pred, model.history, time.perf_counter() - t


def predict_cost(labels: pd.DataFrame, folder: Path, cfgd: dict, n: int) -> None:
    """Seconds per clip of `predict` with this config (fragments decoded from the file, descriptors, network),
    one thread, on `n` versions of different sources; the weights come from a 1-epoch fit (cost does not
    depend on them)."""
    import torch

    from reelscore.models.quality_net import KSVQEModel, ksvqe_config

    torch.set_num_threads(1)
    cfg = ksvqe_config("cpu", {**cfgd, "epochs": 1})
    first = labels.groupby("source").head(1)
    train = first.iloc[:16]
    model = KSVQEModel(cfg).fit_samples(load_cached(folder, train["Id"].tolist(), "train"), train["mos"].to_numpy(float))
    pick = first.iloc[16:16 + n]
    model.predict(pick["path"].tolist()[:1])  # warm-up: first-call allocations
    t = time.perf_counter()
    model.predict(pick["path"].tolist())
    wall = (time.perf_counter() - t) / len(pick)
    t = time.perf_counter()
    from reelscore.models.quality_net import load_sample

    for p in pick["path"]:
        load_sample(p, cfg, train=False)
    dec = (time.perf_counter() - t) / len(pick)
    print(f"predict ({cfg.encoder} encoder), one thread: {wall:.2f} s per clip, of which decoding fragments + "
          f"descriptors {dec:.2f} s ({len(pick)} versions of different sources, 10 s each)")


def main() -> None:
    """Cache inputs, then k-fold-by-source CV of the network; metrics with bootstrap intervals over sources."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", required=True, type=Path, help="processed set folder (labels.csv, manifest.csv, pairs.csv)")
    ap.add_argument("--cache", type=Path, default=Path("~/.cache/reelscore/qset/ksvqe_cache").expanduser())
    ap.add_argument("--cache-only", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--encoder", default="conv", help="conv (from scratch) or lite0 (frozen packaged EfficientNet-Lite0)")
    ap.add_argument("--ema", type=float, default=None, help="weight EMA decay (default: the preset's)")
    ap.add_argument("--limit-sources", type=int, default=0, help="use only the first N sources (smoke runs)")
    ap.add_argument("--ensemble-with", type=Path, default=None,
                    help="out-of-fold predictions of another model (cv_predictions.csv: Id/name + MOS pred) to z-average with")
    ap.add_argument("--boot", type=int, default=200, help="bootstrap resamples of sources for the intervals (~0.8 s each)")
    ap.add_argument("--predict-cost", type=int, default=0, help="only time `predict` on N versions (s per clip)")
    ap.add_argument("--oof", type=Path, default=None, help="evaluate an earlier run's <out>_oof.csv instead of training")
    ap.add_argument("--out", type=Path, default=None, help="write <out>.json and <out>_oof.csv")
    a = ap.parse_args()

    from reelscore.models.quality_net import ksvqe_config

    labels = pd.read_csv(a.set / "labels.csv")
    labels["Id"] = labels["name"].str.replace(r"\.[^.]+$", "", regex=True)
    labels["path"] = [str((a.set / p).resolve()) for p in labels["path"]]
    if a.limit_sources:
        keep = sorted(labels["source"].unique())[: a.limit_sources]
        labels = labels[labels["source"].isin(keep)].reset_index(drop=True)
    cfgd = {"threads": 1, "epochs": a.epochs, "encoder": a.encoder}
    if a.ema is not None:
        cfgd["ema"] = a.ema
    cfg = ksvqe_config("cpu", cfgd)
    folder = cache_dir(a.cache, cfg)
    folder.mkdir(parents=True, exist_ok=True)

    from reelscore.common.progress import track

    todo = [(v, p, str(folder), cfgd) for v, p in zip(labels["Id"], labels["path"]) if not (folder / f"{v}.npz").exists()]
    failed: dict[str, str] = {}
    if todo:
        t0 = time.perf_counter()
        with ProcessPoolExecutor(a.jobs) as ex:
            for vid, _, err in track(ex.map(cache_one, todo), "caching fragments", total=len(todo), unit="video"):
                if err:
                    failed[vid] = err
                    print(f"skipped: {vid}: {err}", file=sys.stderr)
        print(f"cached {len(todo) - len(failed)} videos in {time.perf_counter() - t0:.0f} s -> {folder}")
    if a.predict_cost:
        predict_cost(labels, folder, cfgd, a.predict_cost)
        return
    if a.cache_only:
        return
    labels = labels[~labels["Id"].isin(failed)].reset_index(drop=True)

    from quality_sources_cv import boot, metrics, paired_delta

    sources = sorted(labels["source"].unique())
    order = np.random.default_rng(0).permutation(len(sources))
    fold_of = {sources[i]: k % a.folds for k, i in enumerate(order)}
    labels["fold"] = labels["source"].map(fold_of)
    y = labels["mos"].to_numpy(float)
    jobs = []
    for f in range(a.folds):
        tr, te = (labels["fold"] != f).to_numpy(), (labels["fold"] == f).to_numpy()
        jobs.append((f, labels.loc[tr, "Id"].tolist(), labels.loc[te, "Id"].tolist(), y[tr], str(folder), cfgd))
    pred = np.full(len(labels), np.nan)
    hist, secs, wall = {}, {}, float("nan")
    if a.oof is not None:
        old = pd.read_csv(a.oof).set_index("Id")
        pred = old["pred"].reindex(labels["Id"]).to_numpy(float)
    else:
        t0 = time.perf_counter()
        with ProcessPoolExecutor(a.jobs) as ex:
            for f, p, h, s in track(ex.map(run_fold, jobs), "folds", total=a.folds, unit="fold"):
                pred[(labels["fold"] == f).to_numpy()] = p
                hist[f], secs[f] = h, s
        wall = time.perf_counter() - t0
        if a.out is not None:  # before the slow bootstrap, so an interrupted evaluation loses no training
            from reelscore.common.atomic import write_table_atomic

            a.out.parent.mkdir(parents=True, exist_ok=True)
            write_table_atomic(labels.assign(pred=pred)[["Id", "source", "fold", "mos", "pred"]], f"{a.out}_oof.csv")
    lab = labels.set_index("Id")
    pairs = pd.read_csv(a.set / "pairs.csv") if (a.set / "pairs.csv").is_file() else pd.DataFrame()
    net = pd.Series(pred, index=lab.index)
    res = {"set": str(a.set), "videos": len(lab), "sources": len(sources), "folds": a.folds, "config": dict(cfg.__dict__),
           "cv_wall_s": wall, "fold_train_s": secs, "train_loss": hist, "failed": failed, "candidates": {}}

    def record(name: str, p: pd.Series, intervals: bool = True) -> None:
        # the full bootstrap re-pairs every resample (~0.8 s each): only for the network; ensembles get paired deltas
        res["candidates"][name] = {"point": metrics(p, lab, pairs)}
        if intervals:
            res["candidates"][name]["ci95"] = boot(p, lab, pairs, a.boot)
        pt = res["candidates"][name]["point"]
        print(f"{name}: " + ", ".join(f"{k} {pt[k]:.3f}" for k in ("SROCC", "PLCC", "Rank1", "Rank2", "final") if k in pt))

    record(f"ksvqe ({a.encoder}, {a.epochs} epochs, {a.folds} folds by source)", net)
    if a.ensemble_with is not None:
        other = pd.read_csv(a.ensemble_with)
        idc = "Id" if "Id" in other.columns else ("video_id" if "video_id" in other.columns else "name")
        other.index = other[idc].astype(str).map(lambda n: Path(n).stem)
        pc = [c for c in other.columns if c.lower() in ("mos_pred", "pred", "prediction")] or ["MOS"]
        oth = other[pc[0]].reindex(lab.index)
        record(f"other ({a.ensemble_with.name})", oth, intervals=False)

        def z(v: pd.Series) -> pd.Series:
            return (v - v.mean()) / v.std()

        for w in (0.1, 0.2, 0.35):
            ens = w * z(net) + (1 - w) * z(oth)
            record(f"ensemble, net weight {w}", ens, intervals=False)
            res["candidates"][f"ensemble, net weight {w}"]["paired_vs_other"] = paired_delta(ens, oth, lab, a.boot)
        print("paired (ensemble - other): " + json.dumps({k: v["paired_vs_other"]["SROCC"] for k, v in res["candidates"].items()
                                                          if "paired_vs_other" in v}))
    if a.out is not None:
        from reelscore.common.atomic import write_text_atomic

        a.out.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(f"{a.out}.json", json.dumps(res, indent=2, default=float))
        print(f"wrote {a.out}.json")


if __name__ == "__main__":
    main()
