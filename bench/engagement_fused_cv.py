"""5-fold CV of the fused engagement model and each of its members on the real SnapUGC coldsignal rows.

Usage:
  .venv/bin/python bench/engagement_fused_cv.py --data ../shared/data/snapugc \
      --out bench/results/engagement_fused.json [--folds 5] [--quick]

Protocol (nested, so every figure is out-of-sample):
- rows: `coldsignal_dev.csv` (3,711 real SnapUGC videos, population ECR) with their signals and, for 1,608 of
  them, the CLIP embedding of `coldsignal_clip_vitb32_dev.parquet`; ids in `evaluation_ids.txt` dropped.
- outer 5-fold split of those rows (seed 0). In each fold, `FusedEngagementModel.fit` sees the training part plus
  every `text_ecr_dev.csv` row not among the coldsignal ids (text only; extra rows for the text member), and makes
  its own inner out-of-fold predictions to fit the stackers. The held-out part is predicted with every subset of
  members (the stacker of exactly that subset), which is what a video with only those inputs gets.
- SRCC / PLCC / EVQA final (0.6·SRCC + 0.4·PLCC) on the pooled out-of-fold predictions, with bootstrap 95 %
  intervals (1,000 resamples of rows); ablation rows like the SnapUGC paper's Table 4.
- Reference rows: the shared README's plain MiniLM + ridge baselines, recomputed on the same folds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd


def load(data: Path):
    """coldsignal rows (+ CLIP), extra text rows, and the features table, evaluation ids dropped."""
    from reelscore.models.feature_table import check_feature_table
    from reelscore.models.text_features import normalise_text_columns

    ev = set((data / "evaluation_ids.txt").read_text().split())
    cs = pd.read_csv(data / "coldsignal_dev.csv")
    cs = cs[~cs.Id.isin(ev)].reset_index(drop=True)
    te = pd.read_csv(data / "text_ecr_dev.csv")
    te = te[~te.Id.isin(ev) & ~te.Id.isin(cs.Id)].reset_index(drop=True)
    clip = pd.read_parquet(data / "coldsignal_clip_vitb32_dev.parquet")
    clip = clip[~clip.Id.isin(ev)]
    table = cs.drop(columns=["Title", "Description", "ECR"]).merge(clip.drop(columns=["ECR"]), on="Id", how="left")
    table = check_feature_table(table, "coldsignal + clip")
    texts = normalise_text_columns(pd.concat([cs, te])[["Id", "Title", "Description"]].rename(columns={"Id": "video_id"}))
    from reelscore.models.fused import known_empty_texts

    # the files have Title/Description columns, so an empty cell is a known-empty field
    texts = known_empty_texts(texts.set_index(texts["video_id"].astype(str))[["title", "description"]])
    return cs, te, table, texts


def metrics(p: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> dict:
    """SRCC, PLCC, final with bootstrap 95 % intervals."""
    from reelscore.common.stats import plcc, srcc
    from reelscore.evaluation.bootstrap import percentile_interval, replicates

    ok = np.isfinite(p) & np.isfinite(y)
    p, y = p[ok], y[ok]
    out = {"n": int(ok.sum())}
    for name, f in (("srcc", srcc), ("plcc", plcc), ("final", lambda a, b: 0.6 * srcc(a, b) + 0.4 * plcc(a, b))):
        out[name] = float(f(p, y))
        lo, hi = percentile_interval(replicates(f, [p, y], n_boot, seed))
        out[f"{name}_ci95"] = [float(lo), float(hi)]
    return out


def plain_ridge_baselines(cs, table, texts, folds, seed) -> dict[str, np.ndarray]:
    """The shared README's floor: MiniLM + ridge on text, on signals, on both, on CLIP, on all three concatenated."""
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from reelscore.models.feature_table import SIGNAL_COLUMNS, clip_columns
    from reelscore.models.text_features import text_matrix

    ids = cs.Id.astype(str).tolist()
    T, _ = text_matrix(texts.loc[ids].reset_index(drop=True), ["title", "description"], True, False)
    S = table.loc[ids, [c for c in SIGNAL_COLUMNS if c != "has_audio"]].to_numpy()
    S = np.where(np.isnan(S), np.nanmedian(S, axis=0), S)
    C = table.loc[ids, clip_columns()].to_numpy()
    has = np.isfinite(C).all(axis=1)
    y = cs.ECR.to_numpy()
    out = {}
    for name, X, rows in (("ridge text", T, None), ("ridge signals", S, None), ("ridge text+signals", np.c_[T, S], None),
                          ("ridge clip", C, has), ("ridge text+signals+clip (concatenated)", np.c_[T, S, C], has)):
        p = np.full(len(y), np.nan)
        for tr, te in KFold(folds, shuffle=True, random_state=seed).split(y):
            if rows is not None:
                tr, te = tr[rows[tr]], te[rows[te]]
            m = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-1, 5, 13))).fit(X[tr], y[tr])
            p[te] = m.predict(X[te])
        out[name] = p
    return out


def main() -> None:
    """Run the nested CV and write JSON + Markdown + a scatter PNG."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data/snapugc"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/engagement_fused.json"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="ridge text member, 3 inner folds (a fast check, not the figures)")
    args = ap.parse_args()

    from sklearn.model_selection import KFold

    from reelscore.models.fused import MEMBERS, FusedConfig, FusedEngagementModel

    t0 = time.time()
    cs, te, table, texts = load(args.data)
    y = cs.ECR.to_numpy(np.float64)
    ids = cs.Id.astype(str).tolist()
    extra_ids = te.Id.astype(str).tolist()
    cfg_kw = {"seed": args.seed}
    if args.quick:
        cfg_kw |= {"folds": 3, "text": {"fields": ["title", "description"], "embeddings": True, "handmade": True,
                                        "learner": {"learner": "ridge"}}}
    subsets = [s for r in range(1, 4) for s in itertools.combinations(MEMBERS, r)]
    preds = {"+".join(s): np.full(len(y), np.nan) for s in subsets}
    weights = []
    for k, (tr, ho) in enumerate(KFold(args.folds, shuffle=True, random_state=args.seed).split(y)):
        tk = time.time()
        train_ids = [ids[i] for i in tr] + extra_ids
        y_train = np.r_[y[tr], te.ECR.to_numpy(np.float64)]
        m = FusedEngagementModel(FusedConfig(**cfg_kw)).fit(train_ids, y_train, texts=texts, table=table)
        weights.append(m.stackers)
        mi = m.inputs([ids[i] for i in ho], texts, None, table)
        for s in subsets:
            vals, _, _ = m.predict_inputs(mi, only=list(s))
            preds["+".join(s)][ho] = vals["ECR"].to_numpy()
        print(f"fold {k + 1}/{args.folds}: {time.time() - tk:.0f} s; text+signals so far "
              f"{pd.Series(preds['text+signals']).corr(pd.Series(y), method='spearman'):.4f}", flush=True)
    base = plain_ridge_baselines(cs, table, texts, args.folds, args.seed)
    has_clip = np.isfinite(table.loc[ids, "clip_000"].to_numpy())
    rows = {}
    for key, p in preds.items():
        rows[f"fused {key} (all rows)"] = metrics(p, y, args.boot, args.seed)
        rows[f"fused {key} (CLIP rows)"] = metrics(np.where(has_clip, p, np.nan), y, args.boot, args.seed)
    for key, p in base.items():
        rows[f"{key} (all rows)" if "clip" not in key else f"{key} (CLIP rows)"] = metrics(p, y, args.boot, args.seed)
        if "clip" not in key:
            rows[f"{key} (CLIP rows)"] = metrics(np.where(has_clip, p, np.nan), y, args.boot, args.seed)
    res = {"protocol": __doc__.split("Protocol")[1].strip(), "machine": f"{platform.machine()}, {platform.processor()}",
           "rows": len(y), "clip_rows": int(has_clip.sum()), "extra_text_rows": len(extra_ids),
           "quick": args.quick, "seconds": round(time.time() - t0, 1), "results": rows, "stackers_per_fold": weights}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    md = ["| model (5-fold CV, coldsignal rows) | n | SRCC [95 % CI] | PLCC [95 % CI] | EVQA final |", "|---|---|---|---|---|"]
    for name, r in rows.items():
        md.append(f"| {name} | {r['n']} | {r['srcc']:.3f} [{r['srcc_ci95'][0]:.3f}, {r['srcc_ci95'][1]:.3f}] | "
                  f"{r['plcc']:.3f} [{r['plcc_ci95'][0]:.3f}, {r['plcc_ci95'][1]:.3f}] | {r['final']:.3f} |")
    args.out.with_suffix(".md").write_text("\n".join(md) + "\n")
    from reelscore.common.plots import pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.5))
    for a, key, mask in ((ax[0], "text+signals", np.ones(len(y), bool)), (ax[1], "text+signals+clip", has_clip)):
        p = preds[key]
        a.scatter(p[mask], y[mask], s=4, alpha=0.4)
        a.set_xlabel(f"predicted ECR (fused {key}, out of fold)")
        a.set_ylabel("true ECR (rank-normalised)")
        a.set_title(f"{key}: SRCC {rows[f'fused {key} (all rows)' if key == 'text+signals' else f'fused {key} (CLIP rows)']['srcc']:.3f}")
    save_png(fig, args.out.with_suffix(".png"))
    print("\n".join(md))
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
