"""`reelscore train engagement`: labels (+ feature store or texts) → a model directory with validation figures."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from reelscore.models.registry import ModelError
from reelscore.training.cv import fold_ids, kfold_cv, score
from reelscore.training.labels import load_labels

CURVE_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def report_label_gaps(Y: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Say how many rows per target have no finite label (left out of that target) or lie outside [0, 1]; inf → NaN."""
    Y = Y.replace([np.inf, -np.inf], np.nan)
    for t in Y.columns:
        gap = Y.index[Y[t].isna()]
        if len(gap):
            _log(f"{path}: {t}: {len(gap)} of {len(Y)} rows have no finite value (empty, NaN, inf or non-numeric), "
                 f"left out of {t} training; first: {', '.join(map(repr, gap[:3]))}")
        if t in ("ECR", "NAWP"):
            out = Y.index[(Y[t] < 0) | (Y[t] > 1)]
            if len(out):
                _log(f"{path}: warning: {t}: {len(out)} value(s) outside [0, 1]; first: "
                     f"{', '.join(f'{i!r}={Y.at[i, t]:g}' for i in out[:3])}")
    return Y


def _texts_for(labels: pd.DataFrame, texts: pd.DataFrame, manifest: str | Path | None) -> pd.DataFrame:
    if manifest is not None:
        from reelscore.training.predict import read_manifest_any

        m = read_manifest_any(manifest).set_index("video_id")
        texts = m.reindex(labels.index)[[c for c in ("title", "description", "caption") if c in m.columns]]
    if texts.shape[1] == 0:
        raise ModelError(
            "a text model needs Title/Description/Caption columns: put them in the labels CSV or pass --manifest"
        )
    return texts


def evaluate_matrix(
    X: np.ndarray,
    Y: pd.DataFrame,
    make: Callable[[], Any],
    val_split: float | None,
    folds: int | None,
    seed: int,
    curve_png: Path | None,
    title: str,
) -> dict[str, Any]:
    """Validation figures per target for a matrix learner (k-fold CV or one hold-out split) and a learning curve."""
    from reelscore.common.progress import track

    metrics: dict[str, Any] = {}
    curve: dict[str, list[float]] = {}
    for t in Y.columns:
        y_all = Y[t].to_numpy(dtype=float)
        ok = np.flatnonzero(np.isfinite(y_all))
        Xt, y = X[ok], y_all[ok]
        if folds:
            steps = iter(track(range(folds), f"CV {t} ({folds} folds)", unit="fold"))

            def fit_predict(tr, te):
                next(steps, None)
                return make().fit(Xt[tr], y[tr]).predict(Xt[te])

            res, _ = kfold_cv(fit_predict, len(y), y, folds, seed,
                              on_fold=lambda k, f: _log(f"  fold {k + 1}/{folds} {t}: SRCC {f['srcc']:.4f} PLCC {f['plcc']:.4f}"))
            next(steps, None)
            metrics[t] = {"protocol": f"{folds}-fold CV (seed {seed})", **{k: v for k, v in res.items() if k != "per_fold"},
                          "per_fold": res["per_fold"]}
            _log(f"{t}: CV SRCC {res['srcc_mean']:.4f}±{res['srcc_std']:.4f}  PLCC {res['plcc_mean']:.4f}  "
                 f"final {res['final_mean']:.4f}")
            split = fold_ids(len(y), folds, seed) != 0
        else:
            frac = val_split if val_split is not None else 0.1
            rng = np.random.default_rng(seed)
            split = rng.random(len(y)) >= frac
            if split.all() or not split.any():
                raise ModelError(f"--val-split {frac} leaves an empty train or validation part ({len(y)} rows)")
            pred = make().fit(Xt[split], y[split]).predict(Xt[~split])
            metrics[t] = {"protocol": f"hold-out {frac:g} (seed {seed})", **score(pred, y[~split])}
            _log(f"{t}: validation SRCC {metrics[t]['srcc']:.4f} PLCC {metrics[t]['plcc']:.4f} final {metrics[t]['final']:.4f}")
        if curve_png is not None:
            tr, va = np.flatnonzero(split), np.flatnonzero(~split)
            rng = np.random.default_rng(seed + 1)
            order = rng.permutation(tr)
            vals = []
            import warnings

            for f in CURVE_FRACTIONS:
                sub = order[: max(3, int(round(f * len(order))))]
                with warnings.catch_warnings():
                    # a tree model on very few rows can predict a constant: that point is NaN, on purpose
                    warnings.simplefilter("ignore", RuntimeWarning)
                    vals.append(score(make().fit(Xt[sub], y[sub]).predict(Xt[va]), y[va])["srcc"])
            curve[f"{t} val SRCC"] = vals
            metrics[t]["learning_curve"] = {"train_fraction": list(CURVE_FRACTIONS), "val_srcc": vals}
    if curve_png is not None and curve:
        from reelscore.training.plots import plot_curve

        plot_curve(curve_png, [f * 100 for f in CURVE_FRACTIONS], curve, "% of training rows", title)
    return metrics


def load_label_files(paths: str | Path | list, targets: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """load_labels over one or several files; rows of a shared id are kept once when their labels agree."""
    from reelscore.training.labels import LabelError

    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if len(paths) == 1:
        return load_labels(paths[0], targets)
    parts = [load_labels(p, targets) for p in paths]
    cols = [t for t in parts[0][0].columns if all(t in Y.columns for Y, _ in parts)]
    if not cols:
        raise LabelError(f"the label files {[str(p) for p in paths]} share no target column")
    Y = pd.concat([Y[cols] for Y, _ in parts])
    T = pd.concat([tx.reindex(columns=["title", "description", "caption"]) for _, tx in parts])
    dup = Y.index.duplicated(keep=False)
    if dup.any():
        g = Y[dup].groupby(level=0)
        clash = [i for i, d in g if (d.max() - d.min()).abs().max() > 1e-9]
        if clash:
            raise LabelError(f"ids in several label files disagree on {cols}: {clash[:3]} ({len(clash)} ids)")
        _log(f"{int(dup.sum() - g.ngroups)} rows repeated across label files (same labels) kept once")
    keep = ~Y.index.duplicated(keep="first")
    return Y[keep], T[keep]


def train_fused(Y: pd.DataFrame, texts: pd.DataFrame, out: Path, labels, features=None, features_table=None,
                cfg: dict | None = None, seed: int = 0, t0: float | None = None) -> dict[str, Any]:
    """The fused engagement model (text + signals + CLIP members, stacked per subset) → model directory."""
    from reelscore.common.config import config_from_dict
    from reelscore.common.progress import make_progress
    from reelscore.models.fused import TARGET, FusedConfig, FusedEngagementModel, known_empty_texts
    from reelscore.models.feature_table import column_groups, read_feature_table

    t0 = t0 or time.time()
    if TARGET not in Y.columns:
        raise ModelError(f"the fused model predicts {TARGET}; the labels have {list(Y.columns)}")
    fcfg = config_from_dict(FusedConfig, dict(cfg or {}) | {"seed": seed})
    table = read_feature_table(features_table) if features_table is not None else None
    pooled = None
    if features is not None:
        from reelscore.features.store import FeatureStore

        store = FeatureStore(features)
        have = [e for e in ("coldsignal", "clip_mean3") if e in store.extractors()]
        if have:
            pooled = store.pooled(have)
            pooled.index = pooled.index.astype(str)
    ids = [str(i) for i in Y.index]
    if table is not None:
        unknown = len(set(table.index) - set(ids))
        _log(f"features table: {len(table)} rows, column groups {sorted(column_groups(table))}"
             + (f"; {unknown} ids without labels ignored" if unknown else ""))
    m = FusedEngagementModel(fcfg)
    with make_progress() as prog:
        task = prog.add_task("train fused", total=None, rate="")

        def tick(done: int, total: int, what: str) -> None:
            prog.update(task, completed=done, total=total, rate=what)

        tx = known_empty_texts(texts.reindex(Y.index).set_axis(ids)) if texts.shape[1] else None
        m.fit(ids, Y[TARGET].to_numpy(np.float64), texts=tx, pooled=pooled,
              table=table, progress=tick)
    from reelscore.common.stats import plcc, srcc

    y = Y[TARGET].to_numpy(np.float64)
    val: dict[str, Any] = {"protocol": f"{fcfg.folds}-fold out-of-fold predictions on the training rows (seed {seed}); "
                                       "stackers fit on the same out-of-fold rows (2-4 coefficients)",
                           "members": {}, "subsets": {}}
    for name, p in m.oof_.items():
        ok = np.isfinite(p) & np.isfinite(y)
        val["members"][name] = {"n": int(ok.sum()), "srcc": srcc(p[ok], y[ok]), "plcc": plcc(p[ok], y[ok])}
    for key, st in m.stackers.items():
        ok = np.isfinite(y) & np.all([np.isfinite(m.oof_[n]) for n in st["members"]], axis=0)
        z = st["intercept"] + sum(c * m.oof_[n][ok] for c, n in zip(st["coef"], st["members"]))
        val["subsets"][key] = {"n": int(ok.sum()), "srcc": srcc(z, y[ok]), "plcc": plcc(z, y[ok]),
                               "weights": dict(zip(st["members"], st["coef"]))}
        _log(f"{key}: {int(ok.sum())} rows, out-of-fold SRCC {val['subsets'][key]['srcc']:.4f}")
    m.val_metrics = {TARGET: val}
    m.extra["training"] = {"labels": [str(p) for p in (labels if isinstance(labels, (list, tuple)) else [labels])],
                           "features_table": [str(p) for p in (features_table if isinstance(features_table, (list, tuple)) else [features_table])] if features_table else None,
                           "features": str(features) if features else None, "rows": int(len(Y)), "seed": seed,
                           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                           "seconds": round(time.time() - t0, 1)}
    out.parent.mkdir(parents=True, exist_ok=True)
    m.save(out)
    return {"model_dir": str(out), "kind": "fused", "targets": [TARGET], "rows": int(len(Y)),
            "members": m.member_names(), "val_metrics": {k: v for k, v in val.items() if k != "protocol"}}


def train_engagement(
    model: str,
    labels: str | Path,
    out: str | Path,
    features: str | Path | None = None,
    manifest: str | Path | None = None,
    config: str | Path | None = None,
    device: str = "cpu",
    val_split: float | None = None,
    folds: int | None = None,
    seed: int = 0,
    targets: list[str] | None = None,
    curve: bool = True,
    features_table: str | Path | list | None = None,
    exclude_ids: str | Path | None = None,
) -> dict[str, Any]:
    """Train an engagement model of kind net|gbdt|ridge|text|fused and write it to `out`; returns a summary.

    `labels` may be several files (joined on id; a shared id must carry the same labels).
    """
    t0 = time.time()
    if val_split is not None and folds is not None:
        raise ValueError("give --val-split or --folds, not both")
    if folds is not None and folds < 2:
        raise ValueError("--folds must be at least 2")
    Y, texts = load_label_files(labels, targets)
    if exclude_ids is not None:
        drop = set(Path(exclude_ids).read_text(encoding="utf-8").split())
        keep = ~Y.index.isin(list(drop))
        _log(f"{exclude_ids}: {int((~keep).sum())} labelled rows dropped before training")
        Y, texts = Y[keep], texts[keep]
    Y = report_label_gaps(Y, labels)
    from reelscore.common.config import read_yaml_mapping

    cfg = read_yaml_mapping(config)
    out = Path(out)
    from reelscore.common.atomic import clean_stale_temps

    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out)  # the temp directory of a run killed mid-write
    try:
        return _train_kind(model, Y, texts, cfg, out, labels, features, manifest, device, val_split, folds, seed,
                           curve, features_table, t0)
    except ValueError as exc:  # a config value of the wrong type names its key; say which file it came from
        if config is not None and ": key " in str(exc) and str(config) not in str(exc):
            raise ValueError(f"{config}: {exc}") from None
        raise


def _train_kind(model, Y, texts, cfg, out, labels, features, manifest, device, val_split, folds, seed, curve,
                features_table, t0) -> dict[str, Any]:
    if model == "net":
        from reelscore.training.trainer import train_net

        return train_net(Y, features, out, cfg, device=device, val_split=val_split, seed=seed, labels_path=labels,
                         curve=curve)
    if model == "fused":
        return train_fused(Y, texts, out, labels, features=features, features_table=features_table, cfg=cfg,
                           seed=seed, t0=t0)
    if model == "text":
        from reelscore.common.config import config_from_dict
        from reelscore.models.light import learner_config
        from reelscore.models.text_models import TextModel, TextModelConfig

        tcfg = config_from_dict(TextModelConfig, cfg)
        learner_config(tcfg.learner, seed=seed)  # validate early
        tcfg.learner = dict(tcfg.learner) | {"seed": seed}
        texts = _texts_for(Y, texts, manifest)
        if not tcfg.fields:
            tcfg.fields = [c for c in ("title", "description", "caption") if c in texts.columns and texts[c].notna().any()]
            if not tcfg.fields:
                raise ModelError("the text columns (Title/Description/Caption) are all empty")
        m = TextModel(tcfg)
        _log(f"text features: {', '.join(tcfg.fields)} ({len(Y)} rows; MiniLM embeddings cached under ~/.cache/reelscore)")
        X, cols = m.features(texts.reset_index(drop=True))
        spec = {"minilm": "all-MiniLM-L6-v2"} if tcfg.embeddings else {}
        inputs = {"fields": tcfg.fields, "embeddings": tcfg.embeddings, "handmade": tcfg.handmade,
                  "tfidf": tcfg.tfidf is not None}
    elif model in ("ridge", "gbdt"):
        from reelscore.models.light import GBDTModel, RidgeModel, check_store, learner_config

        if features is None:
            raise ModelError(f"--model {model} needs --features STORE (pooled video features)")
        from reelscore.features.store import FeatureStore

        store = FeatureStore(features)
        exts = cfg.pop("extractors", None)
        have = store.extractors()
        spec = {e: have[e].get("version") if isinstance(have.get(e), dict) else None for e in (exts or have)}
        check_store(store, spec)
        pooled = store.pooled(list(spec))
        m = (RidgeModel if model == "ridge" else GBDTModel)(learner_config(cfg, seed=seed, learner=cfg.get("learner", model)))
        ids = pooled.index.intersection(Y.index)
        if len(ids) < 3:
            raise ModelError(f"only {len(ids)} videos are in both the store and the labels; need at least 3")
        _log(f"pooled features: {pooled.shape[1]} columns from {', '.join(spec)}; {len(ids)} labelled videos")
        Y = Y.loc[ids]
        X, cols = pooled.loc[ids].to_numpy(dtype=np.float64), list(pooled.columns)
        inputs = {"extractors": list(spec)}
    else:
        raise ValueError(f"unknown --model {model!r}; choose net, gbdt, ridge, text or fused")

    out.parent.mkdir(parents=True, exist_ok=True)
    curve_tmp = out.parent / f".{out.name}.learning_curve.png" if curve else None
    val = evaluate_matrix(X, Y, m.new_learner, val_split, folds, seed, curve_tmp, f"{model} learning curve")
    _log(f"refitting on all {int(Y.notna().any(axis=1).sum())} labelled rows")
    m.fit_matrix(X, Y.reset_index(drop=True), cols)
    m.feature_spec = spec
    if model == "text":
        m.config = {"text": dataclasses.asdict(tcfg) | {"learner": dataclasses.asdict(m.cfg)}}
    m.val_metrics = val
    m.extra["training"] = {
        "labels": str(labels), "rows": int(len(Y)), "inputs": inputs, "seed": seed,
        "refit_on_all_rows": True, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": round(time.time() - t0, 1),
    }
    m.save(out)
    if curve_tmp is not None and curve_tmp.exists():
        curve_tmp.replace(out / "learning_curve.png")
    return {"model_dir": str(out), "kind": model, "targets": list(Y.columns), "rows": int(len(Y)), "val_metrics": {
        t: {k: v for k, v in d.items() if k not in ("per_fold", "learning_curve")} for t, d in val.items()}}
