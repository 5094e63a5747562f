"""Quality models across many real sources: leave-one-source-out CV of every candidate (issue 19).

Prerequisites (exact commands in bench/results/quality_sources.md):
  reelscore degrade SOURCES... -o SET --per-source 6 --capture 4 --max-duration-s 10 --label-runs 4 --label-max-side 720
  reelscore extract SET/manifest.csv -o STORE -e technical,semantic,motion,deepstats,fragstats,bitstream,nativeq,bandstats,sharpmap

Usage:
  python bench/quality_sources_cv.py --set SET --store STORE [--out bench/results/quality_sources] [--boot 1000]

For each candidate (feature group x learner) every source's processed versions are predicted by
a model fit on the other sources only (leave-one-source-out). Reported on the pooled out-of-fold
predictions: SROCC, PLCC, Rank1 (pairs inside a source), Rank2 (pairs across sources), the NTIRE
2024 final, each with a bootstrap 95 % interval over SOURCES; then SROCC/PLCC by workflow and by
source resolution. Labels are VMAF-proxy MOS (full-reference, against each source), not human MOS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

GROUPS = {
    "technical": r"^technical:.*_mean$",
    "technical+bitstream": r"^(technical:.*_mean|bitstream:.*)$",
    "bitstream": r"^bitstream:.*$",
    "technical+bitstream+motion": r"^(technical:.*_mean|bitstream:.*|motion:.*)$",
    "deepstats": r"^deepstats:.*$",
    "fragstats": r"^fragstats:.*$",
    "technical+bitstream+fragstats": r"^(technical:.*_mean|bitstream:.*|fragstats:.*)$",
    "nativeq": r"^nativeq:.*$",
    "bitstream+nativeq": r"^(bitstream:.*|nativeq:.*)$",
    "technical+bitstream+nativeq": r"^(technical:.*_mean|bitstream:.*|nativeq:.*)$",
    "niqe": r"^niqe:.*$",
    "bandstats": r"^bandstats:.*$",
    "piqe": r"^piqe:.*$",
    "technical+bitstream+nativeq+bandstats+piqe": r"^(technical:.*_mean|bitstream:.*|nativeq:.*|bandstats:.*|piqe:.*)$",
    "technical+bitstream+bandstats": r"^(technical:.*_mean|bitstream:.*|bandstats:.*)$",
    "technical+bitstream+nativeq+bandstats": r"^(technical:.*_mean|bitstream:.*|nativeq:.*|bandstats:.*)$",
    "technical+bitstream+nativeq+bandstats+sharpmap": r"^(technical:.*_mean|bitstream:.*|nativeq:.*|bandstats:.*|sharpmap:.*)$",
    "sharpmap": r"^sharpmap:.*$",
    "technical+bitstream+niqe": r"^(technical:.*_mean|bitstream:.*|niqe:.*)$",
    "technical+bitstream+nativeq+motion": r"^(technical:.*_mean|bitstream:.*|nativeq:.*|motion:.*)$",
    "technical+bitstream+nativeq+fragstats": r"^(technical:.*_mean|bitstream:.*|nativeq:.*|fragstats:.*)$",
}


EXTRACTORS_OF = {g: [e for e in ("technical", "bitstream", "motion", "deepstats", "fragstats", "nativeq", "niqe", "bandstats", "piqe", "sharpmap") if e in g.split("+")]
                 for g in GROUPS}


def load(set_dir: Path, store_dir: Path, names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Labels (index Id), pooled features of the named extractors (videos that have all of them), and pairs.csv."""
    from reelscore.features.store import FeatureStore

    lab = pd.read_csv(set_dir / "labels.csv")
    lab["Id"] = lab["name"].map(lambda n: Path(n).stem)
    lab = lab.set_index("Id")
    store = FeatureStore(store_dir)
    pooled = store.pooled(names)
    pooled.index = pooled.index.astype(str)
    have = np.ones(len(pooled), bool)
    for e in names:  # the store joins extractors outer: keep videos every used extractor has answered
        block = pooled.loc[:, pooled.columns.str.startswith(f"{e}:")]
        have &= block.notna().any(axis=1).to_numpy()
    pooled = pooled[have]
    ids = lab.index.intersection(pooled.index)
    if len(ids) < len(lab):
        print(f"{len(lab) - len(ids)} labelled versions lack some of {names} and are left out")
    pairs = pd.read_csv(set_dir / "pairs.csv") if (set_dir / "pairs.csv").is_file() else pd.DataFrame()
    return lab.loc[ids], pooled.loc[ids], pairs


def make_model(kind: str, n_features: int, columns: list[str] | None = None):
    """A fresh regressor: ridge / gbdt (LightGBM) / mlp, with imputation and scaling where needed."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import RidgeCV
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "ridge":
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), RidgeCV(alphas=np.logspace(-1, 4, 11)))
    if kind == "gbdt":
        import lightgbm as lgb

        return lgb.LGBMRegressor(n_estimators=400, learning_rate=0.04, num_leaves=15, min_child_samples=10,
                                 subsample=0.8, subsample_freq=1, colsample_bytree=0.5 if n_features < 200 else 0.2,
                                 reg_lambda=1.0, n_jobs=1, verbose=-1, random_state=0)
    if kind.startswith("light_"):
        return _Light(kind.split("_", 1)[1], columns)
    if kind == "gbdt_mono":
        import lightgbm as lgb

        # a higher quantiser never makes a version better: predictions may only fall as QP rises
        mono = [-1 if (c.startswith("bitstream:qp_") and c != "bitstream:qp_available" and not c.endswith("_std")) else 0
                for c in (columns or [])]
        return lgb.LGBMRegressor(n_estimators=400, learning_rate=0.04, num_leaves=15, min_child_samples=10,
                                 subsample=0.8, subsample_freq=1, colsample_bytree=0.5 if n_features < 200 else 0.2,
                                 reg_lambda=1.0, n_jobs=1, verbose=-1, random_state=0, monotone_constraints=mono or None)
    if kind == "mlp":
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                             MLPRegressor(hidden_layer_sizes=(64,), alpha=1e-2, learning_rate_init=1e-3, max_iter=600,
                                          early_stopping=True, random_state=0))
    raise ValueError(kind)


class _Light:
    """The shipped recipe exactly: reelscore's QualityLightModel (small-set learner settings, inputs clipped to the
    training range), so the figure of the chosen candidate is the figure of what `train quality` ships."""

    def __init__(self, learner: str, columns: list[str] | None) -> None:
        from reelscore.models.quality_light import QualityLightModel, quality_learner_config

        self.m = QualityLightModel(quality_learner_config(learner))
        self.columns = list(columns) if columns else None

    def fit(self, X: np.ndarray, y: np.ndarray) -> "_Light":
        cols = self.columns or [f"f{i}" for i in range(X.shape[1])]
        ids = [str(i) for i in range(len(y))]
        self.m.fit_mos(pd.DataFrame(X, index=ids, columns=cols), pd.Series(y, index=ids))
        self.cols = cols
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.m.predict_mos(pd.DataFrame(X, columns=self.cols))


def loso(X: np.ndarray, y: np.ndarray, groups: np.ndarray, kind: str, columns: list[str] | None = None) -> np.ndarray:
    """Out-of-fold predictions, one fold per source."""
    from joblib import Parallel, delayed

    def fold(g):
        te = groups == g
        return te, make_model(kind, X.shape[1], columns).fit(X[~te], y[~te]).predict(X[te])

    oof = np.full(len(y), np.nan)
    for te, p in Parallel(n_jobs=int(os.environ.get("CV_JOBS", "2")))(delayed(fold)(g) for g in np.unique(groups)):
        oof[te] = p
    return oof


def metrics(pred: pd.Series, lab: pd.DataFrame, pairs: pd.DataFrame) -> dict:
    """SROCC, PLCC, Rank1, Rank2 and the NTIRE final on pooled predictions."""
    from reelscore.workflows.quality_data import quality_metrics

    return quality_metrics(pred, lab["mos"], pairs)


def boot(pred: pd.Series, lab: pd.DataFrame, pairs: pd.DataFrame, n_boot: int, seed: int = 0) -> dict:
    """95 % percentile intervals of each metric, resampling sources with replacement."""
    from reelscore.workflows.quality_data import quality_metrics

    rng = np.random.default_rng(seed)
    srcs = lab["source"].unique()
    by_src = {s: lab.index[lab["source"] == s] for s in srcs}
    reps: dict[str, list] = {k: [] for k in ("SROCC", "PLCC", "Rank1", "Rank2", "final")}
    stem = lambda s: Path(str(s)).stem  # noqa: E731
    for _ in range(n_boot):
        pick = rng.choice(srcs, size=len(srcs), replace=True)
        idx = np.concatenate([by_src[s].to_numpy() for s in pick])
        # duplicated sources become distinct items so the pooled metrics weigh them twice
        new = [f"{i}#{k}" for k, s in enumerate(pick) for i in by_src[s]]
        p = pd.Series(pred.loc[idx].to_numpy(), index=new)
        t = pd.DataFrame({"mos": lab.loc[idx, "mos"].to_numpy()}, index=new)
        pp = []
        if not pairs.empty:
            for k, s in enumerate(pick):
                sub = pairs[(pairs["video1"].map(stem).isin(by_src[s])) | (pairs["video2"].map(stem).isin(by_src[s]))]
                sub = sub[sub["homologous"] == 1]
                if len(sub):
                    q = sub.copy()
                    q["video1"] = q["video1"].map(lambda v: f"{stem(v)}#{k}")
                    q["video2"] = q["video2"].map(lambda v: f"{stem(v)}#{k}")
                    q["better"] = sub["better"].map(lambda v: f"{stem(v)}#{k}")
                    pp.append(q)
            # cross-source pairs are kept when both of their sources were drawn (first draw of each)
            first = {s: k for k, s in reversed(list(enumerate(pick)))}
            cross = pairs[pairs["homologous"] == 0]
            src_of = lab["source"]
            for r in cross.itertuples():
                a, b = stem(r.video1), stem(r.video2)
                sa, sb = src_of.get(a), src_of.get(b)
                if sa in first and sb in first:
                    pp.append(pd.DataFrame([{"video1": f"{a}#{first[sa]}", "video2": f"{b}#{first[sb]}",
                                             "better": f"{stem(r.better)}#{first[sa] if stem(r.better) == a else first[sb]}",
                                             "homologous": 0}]))
        pr = pd.concat(pp, ignore_index=True) if pp else pd.DataFrame()
        m = quality_metrics(p, t["mos"], pr)
        for k in reps:
            reps[k].append(m.get(k, np.nan))
    return {k: [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))] for k, v in reps.items()}


def paired_delta(a: pd.Series, b: pd.Series, lab: pd.DataFrame, n_boot: int, seed: int = 0) -> dict:
    """SROCC and PLCC of `a` minus those of `b` on the same resamples of sources: delta, 95 % interval, P(delta > 0)."""
    from reelscore.common.stats import plcc, srcc

    rng = np.random.default_rng(seed)
    srcs = lab["source"].unique()
    pos = {s: np.flatnonzero(lab["source"].to_numpy() == s) for s in srcs}
    av, bv, t = a.loc[lab.index].to_numpy(), b.loc[lab.index].to_numpy(), lab["mos"].to_numpy()
    out = {}
    for name, f in (("SROCC", srcc), ("PLCC", plcc)):
        reps = []
        for _ in range(n_boot):
            idx = np.concatenate([pos[s] for s in rng.choice(srcs, size=len(srcs), replace=True)])
            reps.append(f(av[idx], t[idx]) - f(bv[idx], t[idx]))
        reps = np.asarray(reps)
        out[name] = {"delta": float(f(av, t) - f(bv, t)), "ci95": [float(np.percentile(reps, 2.5)), float(np.percentile(reps, 97.5))],
                     "p_gt_0": float(np.mean(reps > 0))}
    return out


def breakdown(pred: pd.Series, lab: pd.DataFrame, key: pd.Series) -> dict:
    """SROCC / PLCC / n inside each value of `key`."""
    from reelscore.common.stats import plcc, srcc

    out = {}
    for v in sorted(key.unique(), key=str):
        ids = key.index[key == v]
        if len(ids) >= 5:
            out[str(v)] = {"n": int(len(ids)), "SROCC": srcc(pred.loc[ids], lab.loc[ids, "mos"]),
                           "PLCC": plcc(pred.loc[ids], lab.loc[ids, "mos"])}
    return out


def step_of(lab: pd.DataFrame) -> pd.Series:
    """The distortion a version went through: its capture step, else its workflow."""
    first = lab["steps"].str.split(" > ").str[0].str.split("(").str[0]
    return first.where(lab["workflow"] == "capture+transcode", lab["workflow"])


def resolution_bucket(lab: pd.DataFrame) -> pd.Series:
    """Short side of each source: <=360, <=540, <=720, >720."""
    import av

    sizes = {}
    for sp in lab["source_path"].unique():
        with av.open(sp, metadata_errors="ignore") as c:
            s = c.streams.video[0]
            sizes[sp] = min(s.width, s.height)
    short = lab["source_path"].map(sizes)
    return pd.cut(short, [0, 360, 540, 720, 10_000], labels=["<=360", "361-540", "541-720", ">720"]).astype(str)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, required=True)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("bench/results/quality_sources"))
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--groups", default=",".join(GROUPS))
    ap.add_argument("--learners", default="ridge,gbdt,mlp")
    ap.add_argument("--save-oof", action="store_true", help="also write every candidate's out-of-fold predictions (~0.6 MB CSV)")
    ap.add_argument("--paired", default=None, help="a candidate ('GROUP / LEARNER') the top three are compared with on the same resamples")
    ap.add_argument("--baseline-model", default=None, help="a model directory scored as shipped (not refit), e.g. the old default")
    args = ap.parse_args()

    names = sorted({e for g in args.groups.split(",") for e in EXTRACTORS_OF[g]})
    lab, pooled, pairs = load(args.set, args.store, names)
    groups = lab["source"].to_numpy()
    y = lab["mos"].to_numpy(float)
    res_bucket = resolution_bucket(lab)
    print(f"{len(lab)} labelled versions from {lab['source'].nunique()} sources; {pooled.shape[1]} pooled columns")
    rows, oofs = [], {}
    for gname in args.groups.split(","):
        cols = pooled.columns[pooled.columns.str.contains(GROUPS[gname], regex=True)]
        if len(cols) == 0:
            print(f"skip {gname}: no columns")
            continue
        X = pooled[cols].to_numpy(np.float64, copy=True)
        X[~np.isfinite(X)] = np.nan
        for kind in args.learners.split(","):
            t0 = time.perf_counter()
            oof = pd.Series(loso(X, y, groups, kind, list(cols)), index=lab.index)
            oofs[f"{gname} / {kind}"] = oof
            m = metrics(oof, lab, pairs)
            rows.append({"candidate": f"{gname} / {kind}", "features": int(len(cols)), **{k: m.get(k) for k in ("SROCC", "PLCC", "Rank1", "Rank2", "final")},
                         "fit_s": time.perf_counter() - t0})
            print(f"{gname:32s} {kind:6s} SROCC {m['SROCC']:.3f} PLCC {m['PLCC']:.3f} Rank1 {m['Rank1']:.3f} Rank2 {m['Rank2']:.3f} final {m.get('final', float('nan')):.3f}", flush=True)
    if args.baseline_model:
        from reelscore.features.store import FeatureStore
        from reelscore.models.registry import load_model

        bm = load_model(args.baseline_model)
        feats = FeatureStore(args.store).pooled(list(bm.feature_spec))
        feats.index = feats.index.astype(str)
        pred = pd.Series(bm.predict_mos(feats.loc[lab.index]), index=lab.index)
        name = f"baseline as shipped ({Path(args.baseline_model).name}, not refit)"
        oofs[name] = pred
        m = metrics(pred, lab, pairs)
        rows.append({"candidate": name, "features": None, **{k: m.get(k) for k in ("SROCC", "PLCC", "Rank1", "Rank2", "final")}, "fit_s": None})
        print(f"{name}: SROCC {m['SROCC']:.3f} PLCC {m['PLCC']:.3f} final {m.get('final', float('nan')):.3f}", flush=True)
    # ensembles: mean of z-scored out-of-fold predictions of the three learners on one feature group
    for gname in args.groups.split(","):
        parts = [oofs[k] for k in oofs if k.startswith(gname + " /") and not k.endswith("/ gbdt_mono")]
        if len(parts) >= 2:
            z = sum((p - p.mean()) / p.std() for p in parts) / len(parts)
            ens = z * lab["mos"].std() + lab["mos"].mean()
            oofs[f"{gname} / ensemble"] = ens
            m = metrics(ens, lab, pairs)
            rows.append({"candidate": f"{gname} / ensemble", "features": None, **{k: m.get(k) for k in ("SROCC", "PLCC", "Rank1", "Rank2", "final")}, "fit_s": None})
            print(f"{gname:32s} ens    SROCC {m['SROCC']:.3f} PLCC {m['PLCC']:.3f} final {m.get('final', float('nan')):.3f}", flush=True)
    table = pd.DataFrame(rows).sort_values("final", ascending=False)
    best = table.iloc[0]["candidate"]
    detail = {}
    for cand in list(table["candidate"][:3]):
        detail[cand] = {
            "ci95_over_sources": boot(oofs[cand], lab, pairs, args.boot),
            "by_workflow": breakdown(oofs[cand], lab, lab["workflow"]),
            "by_resolution": breakdown(oofs[cand], lab, res_bucket),
        }
        if args.paired and args.paired in oofs and cand != args.paired:
            detail[cand]["minus " + args.paired] = paired_delta(oofs[cand], oofs[args.paired], lab, args.boot)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out = {
        "machine": f"{platform.node()} {platform.machine()} {platform.processor() or ''}".strip(),
        "n_versions": int(len(lab)), "n_sources": int(lab["source"].nunique()),
        "label": "VMAF v0.6.1 proxy: mos = 1 + 4*VMAF/100 against each version's own source (not human MOS)",
        "table": table.to_dict("records"), "best": best, "detail": detail,
    }
    Path(f"{args.out}.json").write_text(json.dumps(out, indent=2, default=float) + "\n")
    if args.save_oof:
        pd.DataFrame({k: v for k, v in oofs.items()}).assign(truth=lab["mos"], source=lab["source"], workflow=lab["workflow"]).to_csv(f"{args.out}_oof.csv")
    _plot(oofs[best], lab, best, Path(f"{args.out}.png"))
    print(table.to_string(index=False))
    print(json.dumps(detail[best], indent=1))


def _plot(pred: pd.Series, lab: pd.DataFrame, name: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    for wf, sub in lab.groupby("workflow"):
        ax.scatter(sub["mos"], pred.loc[sub.index], s=8, alpha=0.6, label=wf)
    ax.plot([1, 5], [1, 5], "k--", lw=0.8)
    ax.set_xlabel("VMAF-proxy MOS (truth)")
    ax.set_ylabel("leave-one-source-out prediction")
    ax.set_title(name, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
