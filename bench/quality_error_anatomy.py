"""Where the quality default's cross-content error sits, and what knowing more would buy (issue 19).

Usage:
  python bench/quality_error_anatomy.py --set SET --store STORE [--fingerprints] [--out bench/results/quality_anatomy]

The shipped recipe (technical means + bitstream + nativeq + bandstats, `light_gbdt`) is fit leave-one-source-out
over the processed set; its out-of-fold residuals are split between sources (a source's mean residual: how
sensitive its content is to processing) and within sources, and by distortion step. Then, on the same folds:

- oracles that are *not* deployable, to bound what an input could buy: the distortion step given as an input
  (one-hot), the step's mean residual added back, and each source's mean residual added back (a perfect
  estimate of content sensitivity);
- a deployable step classifier (LightGBM on the same inputs, its out-of-fold class probabilities stacked
  under the regressor; nested so the regressor never sees in-fold probabilities), in a 15-fold split by source;
- with --fingerprints, distortion fingerprints computed from every frame of every version (packet-size
  pattern, repeated frames, lag-1/lag-2 difference ratio, luma histogram tails, Immerkaer noise; ~10 min on
  2 cores for 900 versions), added to the inputs, leave-one-source-out, paired against the recipe.

Labels are the VMAF-proxy MOS of the processed set (against each version's own source), not human MOS.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality_sources_cv as qs  # noqa: E402

RECIPE = "technical+bitstream+nativeq+bandstats"


def fingerprints(path: str) -> dict:
    """Distortion fingerprints of one video from every decoded frame and every packet."""
    import av
    import cv2

    cv2.setNumThreads(1)
    with av.open(path) as c:
        s = c.streams.video[0]
        sizes, keys = zip(*[(p.size, p.is_keyframe) for p in c.demux(s) if p.size]) or ((), ())
    from reelscore.features.technical import noise_sigma

    ys, noise, hist = [], [], np.zeros(256)
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for i, f in enumerate(c.decode(s)):
            y = f.to_ndarray(format="gray")
            if i % 8 == 0:
                noise.append(noise_sigma(y))
                hist += np.bincount(y.ravel(), minlength=256)
            h, w = y.shape
            sc = 180 / min(h, w)
            small = cv2.resize(y, (max(1, round(w * sc)), max(1, round(h * sc))), interpolation=cv2.INTER_AREA) if sc < 1 else y
            ys.append(small.astype(np.float32))
    ys = np.stack(ys)
    d1 = np.abs(np.diff(ys, axis=0)).mean(axis=(1, 2))
    d2 = np.abs(ys[2:] - ys[:-2]).mean(axis=(1, 2)) if len(ys) > 2 else np.array([np.nan])
    sz, ky = np.asarray(sizes, float), np.asarray(keys, bool)
    nk = sz[~ky] if (~ky).any() else sz
    med = float(np.median(nk))
    ls = np.log(nk + 1) - np.log(nk + 1).mean()
    ac = [float(np.corrcoef(ls[:-lag], ls[lag:])[0, 1]) if len(ls) > lag + 2 else np.nan for lag in (1, 2, 3, 4)]
    cdf = np.cumsum(hist) / hist.sum()
    p = hist / hist.sum()
    return {
        "pk_small": float((nk < 0.15 * med).mean()), "pk_small2": float((nk < 0.3 * med).mean()), "pk_min_med": float(nk.min() / med),
        **{f"pk_ac{lag}": a for lag, a in zip((1, 2, 3, 4), ac)},
        "dup_share": float((d1 < 0.25).mean()), "d1_med": float(np.median(d1)), "d1_p10": float(np.percentile(d1, 10)),
        "d12_ratio": float(np.median(d1) / max(float(np.median(d2)), 1e-6)),
        **{f"y_p{q}": float(np.searchsorted(cdf, q / 100)) for q in (1, 5, 50, 95, 99)},
        "y_hi": float(p[250:].sum()), "y_lo": float(p[:6].sum()), "y_entropy": float(-(p * np.log2(np.maximum(p, 1e-12))).sum()),
        "y_empty_bins": float((hist[16:236] == 0).mean()), "noise_med": float(np.median(noise)), "noise_min": float(np.min(noise)),
    }


def folds15(X: np.ndarray, y: np.ndarray, groups: np.ndarray, cols: list[str], step_codes: np.ndarray | None) -> np.ndarray:
    """Out-of-fold predictions in a 15-fold split by source, optionally with nested step-classifier probabilities."""
    from joblib import Parallel, delayed
    from sklearn.model_selection import GroupKFold

    def clf():
        import lightgbm as lgb

        return lgb.LGBMClassifier(n_estimators=150, learning_rate=0.05, num_leaves=15, min_child_samples=10,
                                  colsample_bytree=0.5, verbose=-1, n_jobs=1)

    n_cls = int(step_codes.max()) + 1 if step_codes is not None else 0

    def fold(tr, te):
        xtr, xte, names = X[tr], X[te], list(cols)
        if step_codes is not None:
            ptr = np.zeros((len(tr), n_cls))
            for itr, ite in GroupKFold(5).split(xtr, groups=groups[tr]):
                m = clf().fit(xtr[itr], step_codes[tr][itr])
                ptr[np.ix_(ite, m.classes_)] = m.predict_proba(xtr[ite])  # a class missing from an inner fold keeps 0
            m = clf().fit(xtr, step_codes[tr])
            pte = np.zeros((len(te), n_cls))
            pte[:, m.classes_] = m.predict_proba(xte)
            xtr, xte, names = np.hstack([xtr, ptr]), np.hstack([xte, pte]), names + [f"p_step{i}" for i in range(n_cls)]
        return te, qs.make_model("light_gbdt", xtr.shape[1], names).fit(xtr, y[tr]).predict(xte)

    oof = np.full(len(y), np.nan)
    for te, p in Parallel(n_jobs=2)(delayed(fold)(tr, te) for tr, te in GroupKFold(15).split(X, groups=groups)):
        oof[te] = p
    return oof


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, required=True)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--fingerprints", action="store_true", help="also compute distortion fingerprints from every frame (~10 min)")
    ap.add_argument("--boot", type=int, default=300)
    ap.add_argument("--out", type=Path, default=Path("bench/results/quality_anatomy"))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    from reelscore.common.stats import srcc

    lab, pooled, pairs = qs.load(args.set, args.store, qs.EXTRACTORS_OF[RECIPE])
    cols = [c for c in pooled.columns if re.match(qs.GROUPS[RECIPE], c)]
    X = pooled[cols].to_numpy(np.float64, copy=True)
    X[~np.isfinite(X)] = np.nan
    y, groups = lab["mos"].to_numpy(float), lab["source"].to_numpy()
    step = qs.step_of(lab)
    out: dict = {"n_versions": int(len(lab)), "n_sources": int(lab["source"].nunique()), "recipe": f"{RECIPE} / light_gbdt"}
    rows = []

    def row(name: str, pred: np.ndarray, deployable: bool, split: str) -> None:
        p = pd.Series(pred, index=lab.index)
        m = qs.metrics(p, lab, pairs)
        rows.append({"candidate": name, "deployable": deployable, "split": split, "SROCC": m["SROCC"], "PLCC": m["PLCC"], "final": m.get("final")})
        print(f"{name:60s} SROCC {m['SROCC']:.3f} PLCC {m['PLCC']:.3f}", flush=True)

    t0 = time.perf_counter()
    base = qs.loso(X, y, groups, "light_gbdt", cols)
    row("recipe (shipped default's inputs and learner)", base, True, "LOSO")
    res = pd.Series(y - base, index=lab.index)
    src_mean = res.groupby(lab["source"]).transform("mean")
    sse = float((res**2).sum())
    out["sse"] = {"total": sse, "between_sources": float((src_mean**2).sum()), "within_sources": float(((res - src_mean) ** 2).sum())}
    out["by_step"] = {s: {"n": int(len(r)), "mean_residual": float(r.mean()), "sse": float((r**2).sum()), "mean_mos": float(lab.loc[r.index, "mos"].mean())}
                      for s, r in res.groupby(step)}
    per_src = res.groupby(lab["source"]).mean()
    tech_si = pooled.groupby(lab["source"])["technical:si_mean"].mean() if "technical:si_mean" in pooled else None
    if tech_si is not None:
        out["source_residual_vs_si_spearman"] = float(srcc(per_src.to_numpy(), tech_si.loc[per_src.index].to_numpy()))
    out["worst_sources"] = {k: float(v) for k, v in pd.concat([per_src.nsmallest(3), per_src.nlargest(3)]).items()}

    onehot = pd.get_dummies(step).astype(float).to_numpy()
    row("oracle: + the distortion step as an input", qs.loso(np.hstack([X, onehot]), y, groups, "light_gbdt",
                                                              cols + [f"step:{s}" for s in sorted(step.unique())]), False, "LOSO")
    row("oracle: + each step's mean residual added back", base + res.groupby(step).transform("mean").to_numpy(), False, "LOSO")
    row("oracle: + each source's mean residual added back", base + src_mean.to_numpy(), False, "LOSO")

    codes = step.astype("category").cat.codes.to_numpy()
    b15 = folds15(X, y, groups, cols, None)
    row("recipe, 15-fold split by source", b15, True, "15-fold")
    s15 = folds15(X, y, groups, cols, codes)
    row("recipe + stacked step-classifier probabilities", s15, True, "15-fold")
    out["stacked_minus_recipe_15fold"] = qs.paired_delta(pd.Series(s15, index=lab.index), pd.Series(b15, index=lab.index), lab, args.boot)
    import lightgbm as lgb
    from sklearn.model_selection import GroupKFold, cross_val_predict

    proba = cross_val_predict(lgb.LGBMClassifier(n_estimators=150, learning_rate=0.05, num_leaves=15, min_child_samples=10,
                                                 colsample_bytree=0.5, verbose=-1, n_jobs=2), X, codes, groups=groups,
                              cv=GroupKFold(15), method="predict_proba")
    out["step_classifier_accuracy_15fold"] = float((proba.argmax(1) == codes).mean())
    out["step_classifier_recall"] = {s: float((proba.argmax(1)[codes == i] == i).mean())
                                     for i, s in enumerate(step.astype("category").cat.categories)}

    if args.fingerprints:
        from multiprocessing import Pool

        paths = [str(args.set / p) for p in lab["path"]]
        with Pool(2) as pool:
            fp = pd.DataFrame(pool.map(fingerprints, paths, chunksize=4), index=lab.index)
        fp.to_csv(Path(tempfile.gettempdir()) / "quality_anatomy_fingerprints.csv")  # 0.3 MB: kept out of the repo
        Xf = np.hstack([X, fp.to_numpy(float)])
        with_fp = qs.loso(Xf, y, groups, "light_gbdt", cols + [f"fp:{c}" for c in fp.columns])
        row("recipe + distortion fingerprints", with_fp, True, "LOSO")
        out["fingerprints_minus_recipe"] = qs.paired_delta(pd.Series(with_fp, index=lab.index), pd.Series(base, index=lab.index), lab, args.boot)

    out["table"] = rows
    out["seconds"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.json").write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "table"}, indent=1, default=float))


if __name__ == "__main__":
    main()
