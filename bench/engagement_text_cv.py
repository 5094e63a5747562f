"""5-fold CV of the text-only engagement models on the real SnapUGC development data.

Usage:
  PYTHONPATH=src .venv/bin/python bench/engagement_text_cv.py \
      --data ../shared/data/snapugc --out bench/results/engagement_text_cv.json [--only NAME ...]

Ensembles (`ens:a+b`) average the members' out-of-fold predictions, which equals
fitting the averaging ensemble per fold (members train independently on the same
folds); out-of-fold vectors are kept under ~/.cache/reelscore/bench.

Reads text_ecr_dev.csv (Title, Description → ECR) and captions_dev.csv (Caption →
engagement_class). Features are computed once per field set (MiniLM embeddings cached
under ~/.cache/reelscore); each configuration is cross-validated with the same seeded folds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from reelscore.models.light import LearnerConfig, make_learner
from reelscore.models.text_features import cache_dir, normalise_text_columns, text_matrix
from reelscore.training.cv import kfold_cv, score

# name: (dataset, target, fields, embeddings, handmade, learner)
CONFIGS = {
    "ecr_td_ridge": ("ecr", "ECR", ["title", "description"], True, True, "ridge"),
    "ecr_td_emb_ridge": ("ecr", "ECR", ["title", "description"], True, False, "ridge"),
    "ecr_td_handmade_gbdt": ("ecr", "ECR", ["title", "description"], False, True, "gbdt"),
    "ecr_td_gbdt": ("ecr", "ECR", ["title", "description"], True, True, "gbdt"),
    "ecr_td_xgb": ("ecr", "ECR", ["title", "description"], True, True, "xgb"),
    "ecr_td_ens": ("ecr", "ECR", ["title", "description"], True, True, "ens:ecr_td_ridge+ecr_td_gbdt"),
    "ecr_td_ens_rx": ("ecr", "ECR", ["title", "description"], True, True, "ens:ecr_td_ridge+ecr_td_xgb"),
    "ecr_td_ens3": ("ecr", "ECR", ["title", "description"], True, True, "ens:ecr_td_ridge+ecr_td_gbdt+ecr_td_xgb"),
    "ecr_tdj_ridge": ("ecr", "ECR", ["title", "description", "title_description"], True, True, "ridge"),
    "ecr_tdj_gbdt": ("ecr", "ECR", ["title", "description", "title_description"], True, True, "gbdt"),
    "ecr_tdj_xgb": ("ecr", "ECR", ["title", "description", "title_description"], True, True, "xgb"),
    "ecr_tdj_ens3": ("ecr", "ECR", ["title", "description", "title_description"], True, True, "ens:ecr_tdj_ridge+ecr_tdj_gbdt+ecr_tdj_xgb"),
    # TF-IDF ridge (word 1-2-grams + char_wb 2-5-grams) on "title | description"; alpha by inner 3-fold CV
    "ecr_j_tfidf": ("ecr", "ECR", ["title", "description"], False, False, "tfidf"),
    "ecr_tdj_ens3_tfidf": ("ecr", "ECR", ["title", "description", "title_description"], True, True,
                           "ens:ecr_tdj_ridge+ecr_tdj_gbdt+ecr_tdj_xgb+ecr_j_tfidf"),
    "ecr_t_ridge": ("ecr", "ECR", ["title"], True, True, "ridge"),
    "ecr_d_ridge": ("ecr", "ECR", ["description"], True, True, "ridge"),
    "cap_ridge": ("cap", "engagement_class", ["caption"], True, True, "ridge"),
    "cap_gbdt": ("cap", "engagement_class", ["caption"], True, True, "gbdt"),
    "cap_ens": ("cap", "engagement_class", ["caption"], True, True, "ens:cap_ridge+cap_gbdt"),
}


def main() -> None:
    """Run the configurations and write a JSON of figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/snapugc")
    ap.add_argument("--out", default="bench/results/engagement_text_cv.json")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    data = {
        "ecr": normalise_text_columns(pd.read_csv(Path(args.data) / "text_ecr_dev.csv")),
        "cap": normalise_text_columns(pd.read_csv(Path(args.data) / "captions_dev.csv")),
    }
    feats: dict = {}
    results = {}
    out = Path(args.out)
    if out.is_file():
        results = json.loads(out.read_text())["results"]
    for name, (ds, target, fields, emb, hm, learner) in CONFIGS.items():
        if args.only and name not in args.only:
            continue
        y = data[ds][target].to_numpy(dtype=float)
        oof_dir = cache_dir() / "bench" / f"text_cv_f{args.folds}_s{args.seed}"
        t0 = time.time()
        if learner.startswith("ens:"):
            members = learner[4:].split("+")
            oofs = [np.load(oof_dir / f"{m}.npy") for m in members]
            oof = np.mean(oofs, axis=0)
            from reelscore.training.cv import fold_ids

            fid = fold_ids(len(y), args.folds, args.seed)
            per_fold = [score(oof[fid == k], y[fid == k]) for k in range(args.folds)]
            res = {"folds": args.folds, "seed": args.seed, "per_fold": per_fold, "pooled": score(oof, y)}
            for k in ("srcc", "plcc", "final"):
                v = np.array([f[k] for f in per_fold])
                res[f"{k}_mean"], res[f"{k}_std"] = float(v.mean()), float(v.std(ddof=1))
            cfg = LearnerConfig(learner="ensemble", ensemble=[results[m]["learner"] for m in members], seed=args.seed)
            dim = results[members[0]]["dim"]  # of the dense members; a TF-IDF member adds its own sparse columns
        elif learner == "tfidf":
            from reelscore.models.text_tfidf import TfidfConfig, TfidfRidge, join_fields

            texts = join_fields([data[ds][f].tolist() for f in fields])
            dim = None
            cfg = TfidfConfig()

            def fit_predict(tr, te):
                return TfidfRidge(cfg, seed=args.seed).fit(texts[tr], y[tr]).predict(texts[te])

            res, oof = kfold_cv(fit_predict, len(y), y, args.folds, args.seed)
            oof_dir.mkdir(parents=True, exist_ok=True)
            np.save(oof_dir / f"{name}.npy", oof)
        else:
            key = (ds, tuple(fields), emb, hm)
            if key not in feats:
                feats[key] = text_matrix(data[ds], fields, emb, hm)[0]
            X = feats[key]
            dim = X.shape[1]
            cfg = LearnerConfig(learner=learner, seed=args.seed)

            def fit_predict(tr, te):
                return make_learner(cfg).fit(X[tr], y[tr]).predict(X[te])

            res, oof = kfold_cv(fit_predict, len(y), y, args.folds, args.seed)
            oof_dir.mkdir(parents=True, exist_ok=True)
            np.save(oof_dir / f"{name}.npy", oof)
        res.update(
            dataset=ds, target=target, fields=fields, embeddings=emb, handmade=hm, learner=learner,
            n=len(y), dim=dim, seconds=round(time.time() - t0, 1), config=dataclasses.asdict(cfg),
        )
        results[name] = res
        print(
            f"{name:24s} SRCC {res['srcc_mean']:.4f}±{res['srcc_std']:.4f}  PLCC {res['plcc_mean']:.4f}±{res['plcc_std']:.4f}"
            f"  final {res['final_mean']:.4f}  ({res['seconds']}s)",
            flush=True,
        )
        from reelscore.common.atomic import write_text_atomic

        write_text_atomic(out, json.dumps({"machine": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                            "folds": args.folds, "seed": args.seed, "results": results}, indent=1))


if __name__ == "__main__":
    main()
