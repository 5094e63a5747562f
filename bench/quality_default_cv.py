"""Candidates for the shipped default quality model, compared by leave-one-source-out CV on several processed sets.

Prerequisites (exact commands in bench/results/quality.md):
  reelscore degrade SOURCES... --out SET --per-source 6 --seed 0           # one or more sets, VMAF-proxy labels
  reelscore extract SET/manifest.csv --out STORE --extractors technical     # one store holding every set's videos

Usage:
  python bench/quality_default_cv.py --set DIR [--set DIR ...] --store STORE [--focus SETNAME ...] [--shipped MODEL_DIR]
      [--ladder-store STORE] [--json OUT.json]

Every candidate is scored on pooled out-of-fold predictions, leaving one SOURCE out at a time
(a source's processed versions in every set are held out together; `<id>_sN` source names,
used to re-process a source with another seed, count as `<id>`). Three training regimes are
tested on the same held-out focus sources: the first set only (the old default's data), the
focus sets (--focus, default the first set), and every set. Figures are given on all focus
videos and on the first set's videos. Labels are VMAF-proxy MOS, not human MOS.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

MEANS = r"^technical:.*_mean$"
MEANS_STDS = r"^technical:.*_(?:mean|std)$"


def candidates() -> dict[str, tuple[str, dict]]:
    """name → (column regex, learner overrides; clip_inputs=False drops the model's input clipping to the training range)."""
    return {
        "ridge, technical means, alpha by LOO, inputs not clipped (old default's recipe)": (MEANS, {"learner": "ridge", "clip_inputs": False}),
        "ridge, technical means, alpha=1, inputs not clipped": (MEANS, {"learner": "ridge", "ridge_alphas": [1.0], "clip_inputs": False}),
        "ridge, technical means, alpha by LOO": (MEANS, {"learner": "ridge"}),
        "ridge, technical means, alpha=1 [new default]": (MEANS, {"learner": "ridge", "ridge_alphas": [1.0]}),
        "ridge, technical means, alpha=3": (MEANS, {"learner": "ridge", "ridge_alphas": [3.0]}),
        "ridge, technical means, alpha=10": (MEANS, {"learner": "ridge", "ridge_alphas": [10.0]}),
        "ridge, technical means, alpha=100": (MEANS, {"learner": "ridge", "ridge_alphas": [100.0]}),
        "ridge, technical means+stds, alpha by LOO": (MEANS_STDS, {"learner": "ridge"}),
        "LightGBM small, technical means": (MEANS, {"learner": "gbdt"}),
        "ridge+LightGBM average, technical means": (MEANS, {"learner": "ensemble"}),
    }


def load_sets(sets: list[Path], source_strip: str = r"_s\d+$") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate labels (index video_id; columns source, y, set) and pairs of several processed sets.

    A source re-used under another name (e.g. `<id>_s1` for a second seed) is mapped back to
    its name, so leave-one-source-out never trains on another version of the test source.
    """
    from reelscore.workflows.quality_train import read_quality_labels

    labs, pairs = [], []
    for s in sets:
        lab = read_quality_labels(s / "labels.csv", "mos")
        lab["set"] = s.name
        lab["source"] = lab["source"].str.replace(source_strip, "", regex=True)
        if "path" in lab:
            lab["path"] = [str((s / p).resolve()) for p in lab["path"]]
        labs.append(lab)
        if (s / "pairs.csv").is_file():
            pairs.append(pd.read_csv(s / "pairs.csv"))
    return pd.concat(labs), (pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame())


def oof_predict(X: pd.DataFrame, lab: pd.DataFrame, overrides: dict, train_mask: np.ndarray, test_sources: list[str]) -> pd.Series:
    """Leave-one-source-out predictions for the videos of `test_sources`, training on rows in train_mask minus that source."""
    from reelscore.models.quality_light import QualityLightModel, quality_learner_config

    over = dict(overrides)
    clip_inputs = over.pop("clip_inputs", True)
    cfg = quality_learner_config(**over)
    out = pd.Series(np.nan, index=lab.index, dtype=float)
    src = lab["source"].to_numpy()
    for s in test_sources:
        tr = train_mask & (src != s)
        te = src == s
        m = QualityLightModel(cfg).fit_mos(X[tr], lab["y"][tr])
        if not clip_inputs:
            m.extra.pop("feature_range", None)
        out[te] = m.predict_mos(X[te])
    return out


def per_source_srocc(pred: pd.Series, lab: pd.DataFrame) -> float:
    """Mean within-source SROCC (how well each source's versions are ordered)."""
    from reelscore.common.stats import srcc

    vals = [srcc(pred[g.index].to_numpy(), g["y"].to_numpy()) for _, g in lab.groupby("source")]
    return float(np.nanmean(vals))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", dest="sets", action="append", required=True, type=Path, help="processed set; the first is the focus set")
    ap.add_argument("--store", required=True, type=Path)
    ap.add_argument("--shipped", type=Path, help="a trained model dir to score as-is on the non-focus sets (it never saw them)")
    ap.add_argument("--ladder-store", type=Path, help="store of CRF-ladder clips: print each candidate's predictions (fitted on the focus sets) and the shipped model's")
    ap.add_argument("--focus", action="append", help="set folder names forming the focus domain (default: the first --set)")
    ap.add_argument("--write-combined", type=Path, help="write the focus sets' combined labels.csv/pairs.csv (sources merged) here, for `train quality`")
    ap.add_argument("--json", type=Path, default=Path("bench/results/quality_default_cv.json"))
    args = ap.parse_args()

    from reelscore.features.store import FeatureStore
    from reelscore.workflows.quality_train import quality_metrics

    lab, pairs = load_sets(args.sets)
    pooled = FeatureStore(args.store).pooled(["technical"])
    pooled.index = pooled.index.astype(str)
    lab = lab.loc[lab.index.intersection(pooled.index)]
    focus = args.focus or [args.sets[0].name]
    is_focus = lab["set"].isin(focus).to_numpy()
    if args.write_combined is not None:
        args.write_combined.mkdir(parents=True, exist_ok=True)
        fl = lab[is_focus]
        fl.reset_index(drop=True).rename(columns={"y": "mos"}).to_csv(args.write_combined / "labels.csv", index=False)
        stem = lambda c: pairs[c].map(lambda v: Path(str(v)).stem)  # noqa: E731
        pairs[stem("video1").isin(fl.index) & stem("video2").isin(fl.index)].to_csv(args.write_combined / "pairs.csv", index=False)
    focus_sources = sorted(lab.loc[is_focus, "source"].unique())
    all_sources = sorted(lab["source"].unique())
    print(f"{len(lab)} videos, {len(all_sources)} sources ({is_focus.sum()} videos / {len(focus_sources)} sources in focus set {focus}); "
          f"label range {lab['y'].min():.2f}-{lab['y'].max():.2f}")

    results: dict[str, dict] = {}
    t0 = time.perf_counter()
    first = (lab["set"] == args.sets[0].name).to_numpy()
    regimes = {
        f"train {args.sets[0].name} only": first,
        f"train focus sets ({'+'.join(focus)})": is_focus,
        "train all sets": np.ones(len(lab), bool),
    }
    fl, f1 = lab[is_focus], lab[first]
    for name, (cols, over) in candidates().items():
        X = pooled.loc[lab.index, pooled.columns[pooled.columns.str.contains(cols, regex=True)]]
        r: dict[str, dict | float] = {}
        for rname, mask in regimes.items():
            # Every regime is tested on the same held-out focus sources (all their processed versions).
            p = oof_predict(X, lab, over, mask, focus_sources)
            r[f"{rname} -> focus videos"] = quality_metrics(p[fl.index], fl["y"], pairs)
            r[f"{rname} -> {args.sets[0].name} videos"] = quality_metrics(p[f1.index], f1["y"], pairs)
            r[f"{rname} -> within-source SROCC, focus"] = per_source_srocc(p[fl.index], fl)
        if (~is_focus).any():
            p = oof_predict(X, lab, over, np.ones(len(lab), bool), sorted(lab.loc[~is_focus, "source"].unique()))
            r["train all sets -> other-set videos"] = quality_metrics(p[lab.index[~is_focus]], lab["y"][~is_focus], pairs)
        results[name] = r
    seconds = time.perf_counter() - t0

    if args.shipped is not None:
        from reelscore.models.quality_light import QualityLightModel

        m = QualityLightModel.load(args.shipped)
        other = lab[~is_focus]
        p = pd.Series(m.predict_mos(pooled.loc[other.index]), index=other.index)
        results[f"shipped model as-is ({args.shipped.name}), never saw these sets"] = {
            "other sets, train all": quality_metrics(p, other["y"], pairs),
            "within-source SROCC, other": per_source_srocc(p, other),
            "saturated at its clip bounds": int(np.sum(np.isin(np.round(p, 6), np.round(m.clip["MOS"], 6)))),
        }

    ladder = {}
    if args.ladder_store is not None:
        from reelscore.models.quality_light import QualityLightModel, quality_learner_config

        lp = FeatureStore(args.ladder_store).pooled(["technical"]).sort_index()
        for name, (cols, over) in candidates().items():
            X = pooled.loc[lab.index[is_focus], pooled.columns[pooled.columns.str.contains(cols, regex=True)]]
            over = dict(over)
            clip_inputs = over.pop("clip_inputs", True)
            m = QualityLightModel(quality_learner_config(**over)).fit_mos(X, lab["y"][is_focus])  # fitted on the focus sets
            if not clip_inputs:
                m.extra.pop("feature_range", None)
            ladder[name] = dict(zip(lp.index, np.round(m.predict_mos(lp), 3).tolist()))
        if args.shipped is not None:
            ladder["shipped"] = dict(zip(lp.index, np.round(QualityLightModel.load(args.shipped).predict_mos(lp), 3).tolist()))
        print(pd.DataFrame(ladder).round(2).to_string())

    clean = lambda v: None if isinstance(v, float) and not np.isfinite(v) else v  # noqa: E731
    js = lambda d: {k: (js(v) if isinstance(v, dict) else clean(v)) for k, v in d.items()}  # noqa: E731
    payload = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, python {platform.python_version()}",
        "sets": [str(s) for s in args.sets], "n_videos": int(len(lab)), "n_sources": len(all_sources),
        "focus_sets": focus, "n_focus_videos": int(is_focus.sum()),
        "label_range": [float(lab["y"].min()), float(lab["y"].max())],
        "results": js(results), "ladder": ladder, "seconds": seconds,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    f = lambda x: "  n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:6.3f}"  # noqa: E731
    for name, r in results.items():
        print(name)
        for k, v in r.items():
            if isinstance(v, dict):
                print(f"   {k:<45} n={v['n']:>3} SROCC {f(v['SROCC'])} PLCC {f(v['PLCC'])} R1 {f(v['Rank1'])} R2 {f(v['Rank2'])} final {f(v.get('final'))}")
            else:
                print(f"   {k:<45} {v if isinstance(v, int) else f(v)}")


if __name__ == "__main__":
    main()
