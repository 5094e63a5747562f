"""Light engagement models on fixed-length vectors: ridge regression and gradient-boosted trees.

`make_learner(cfg)` gives a single-target regressor over a float matrix (ridge,
LightGBM, XGBoost or their average); `LightModel` wraps one learner per target over
the pooled vectors of a FeatureStore (`store.pooled(extractors)`), kinds `ridge` and
`gbdt`. Weights are stored as plain files (npz / LightGBM text / XGBoost JSON), no pickle.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelscore.models.registry import (
    ModelBase,
    ModelError,
    read_model_json,
    register_kind,
    write_model_json,
)


@dataclass
class LearnerConfig:
    """Hyper-parameters of the light learners (one config drives all kinds)."""

    learner: str = "ridge"  # ridge | gbdt | xgb | ensemble
    ensemble: list[str] = field(default_factory=lambda: ["ridge", "gbdt"])
    ridge_alphas: list[float] = field(default_factory=lambda: [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0])
    gbdt_rounds: int = 600
    gbdt_learning_rate: float = 0.03
    gbdt_num_leaves: int = 15
    gbdt_min_data_in_leaf: int = 40
    gbdt_feature_fraction: float = 0.3
    gbdt_bagging_fraction: float = 0.8
    gbdt_lambda_l2: float = 5.0
    xgb_rounds: int = 600
    xgb_learning_rate: float = 0.03
    xgb_max_depth: int = 4
    xgb_subsample: float = 0.8
    xgb_colsample: float = 0.3
    # One thread by default: OpenMP spin-waiting makes LightGBM/XGBoost ~10x slower on a shared, oversubscribed CPU.
    threads: int = 1
    seed: int = 0


class RidgeLearner:
    """Ridge regression with median imputation, standardisation and alpha picked by efficient LOO (RidgeCV)."""

    suffix = "ridge.npz"

    def __init__(self, cfg: LearnerConfig) -> None:
        self.cfg = cfg
        self.params: dict[str, np.ndarray] = {}

    def fit(self, X: np.ndarray, y: np.ndarray) -> "RidgeLearner":
        """Fit on X [N, D], y [N]."""
        from sklearn.linear_model import RidgeCV

        med = np.nanmedian(X, axis=0)
        med = np.where(np.isfinite(med), med, 0.0)
        Xi = np.where(np.isfinite(X), X, med)
        mean = Xi.mean(axis=0)
        scale = Xi.std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        Z = (Xi - mean) / scale
        reg = RidgeCV(alphas=list(self.cfg.ridge_alphas)).fit(Z, y)
        self.params = {
            "median": med.astype(np.float64),
            "mean": mean.astype(np.float64),
            "scale": scale.astype(np.float64),
            "coef": np.asarray(reg.coef_, dtype=np.float64),
            "intercept": np.array([float(reg.intercept_)]),
            "alpha": np.array([float(reg.alpha_)]),
        }
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict [N]."""
        p = self.params
        Xi = np.where(np.isfinite(X), X, p["median"])
        return ((Xi - p["mean"]) / p["scale"]) @ p["coef"] + p["intercept"][0]

    def save(self, path: Path) -> None:
        """Write the coefficients as .npz."""
        with open(path, "wb") as fh:
            np.savez(fh, **self.params)

    def load(self, path: Path) -> "RidgeLearner":
        """Read coefficients written by save()."""
        with np.load(path) as z:
            self.params = {k: z[k] for k in z.files}
        return self


class GBDTLearner:
    """LightGBM regression trees (fixed rounds; NaN handled natively)."""

    suffix = "gbdt.txt"

    def __init__(self, cfg: LearnerConfig) -> None:
        self.cfg = cfg
        self.booster = None  # a fitted model
        self.forest = None  # or a loaded one (models.trees.load)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "GBDTLearner":
        """Fit on X [N, D], y [N]."""
        import lightgbm as lgb

        c = self.cfg
        params = {
            "objective": "regression",
            "learning_rate": c.gbdt_learning_rate,
            "num_leaves": c.gbdt_num_leaves,
            "min_data_in_leaf": c.gbdt_min_data_in_leaf,
            "feature_fraction": c.gbdt_feature_fraction,
            "bagging_fraction": c.gbdt_bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": c.gbdt_lambda_l2,
            "num_threads": c.threads,
            "seed": c.seed,
            "verbosity": -1,
            "deterministic": True,
            "force_row_wise": True,
        }
        self.booster, self.forest = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=c.gbdt_rounds), None
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict [N]."""
        if self.forest is not None:
            return self.forest.predict(X)
        return np.asarray(self.booster.predict(X, num_threads=self.cfg.threads), dtype=np.float64)

    def save(self, path: Path) -> None:
        """Write the LightGBM text model (a loaded one: its file, copied)."""
        if self.booster is None:
            shutil.copyfile(self.forest.path, path)
            return
        self.booster.save_model(str(path))

    def load(self, path: Path) -> "GBDTLearner":
        """Read a LightGBM text model (evaluated by `trees` when it can be: same predictions, no lightgbm import)."""
        from reelscore.models import trees

        self.forest, self.booster = trees.split(trees.load(path, "lightgbm"))
        return self


class XGBLearner:
    """XGBoost regression trees (the EVQA text-only baseline's learner)."""

    suffix = "xgb.json"

    def __init__(self, cfg: LearnerConfig) -> None:
        self.cfg = cfg
        self.booster = None  # a fitted model
        self.forest = None  # or a loaded one (models.trees.load)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "XGBLearner":
        """Fit on X [N, D], y [N]."""
        import xgboost as xgb

        c = self.cfg
        params = {
            "objective": "reg:squarederror",
            "eta": c.xgb_learning_rate,
            "max_depth": c.xgb_max_depth,
            "subsample": c.xgb_subsample,
            "colsample_bytree": c.xgb_colsample,
            "nthread": c.threads,
            "seed": c.seed,
            "tree_method": "hist",
        }
        self.booster, self.forest = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=c.xgb_rounds), None
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict [N]."""
        if self.forest is not None:
            return self.forest.predict(X)
        import xgboost as xgb

        return np.asarray(self.booster.predict(xgb.DMatrix(X)), dtype=np.float64)

    def save(self, path: Path) -> None:
        """Write the XGBoost JSON model (a loaded one: its file, copied)."""
        if self.booster is None:
            shutil.copyfile(self.forest.path, path)
            return
        self.booster.save_model(str(path))

    def load(self, path: Path) -> "XGBLearner":
        """Read an XGBoost JSON model (evaluated by `trees` when it can be: same predictions, no xgboost import)."""
        from reelscore.models import trees

        self.forest, self.booster = trees.split(trees.load(path, "xgboost"))
        return self


_LEARNERS = {"ridge": RidgeLearner, "gbdt": GBDTLearner, "xgb": XGBLearner}


class EnsembleLearner:
    """Plain average of several learners' predictions (all on the target's scale)."""

    def __init__(self, cfg: LearnerConfig) -> None:
        self.cfg = cfg
        unknown = [m for m in cfg.ensemble if m not in _LEARNERS]
        if unknown or not cfg.ensemble:
            raise ValueError(f"ensemble members must be among {sorted(_LEARNERS)}; got {cfg.ensemble}")
        self.members = [_LEARNERS[m](cfg) for m in cfg.ensemble]

    def fit(self, X: np.ndarray, y: np.ndarray) -> "EnsembleLearner":
        """Fit every member."""
        for m in self.members:
            m.fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Average of member predictions."""
        return np.mean([m.predict(X) for m in self.members], axis=0)

    def save_all(self, directory: Path, stem: str) -> list[str]:
        """Write each member as <stem>.<suffix>; return the file names."""
        names = []
        for m in self.members:
            name = f"{stem}.{m.suffix}"
            m.save(directory / name)
            names.append(name)
        return names

    def load_all(self, directory: Path, stem: str) -> "EnsembleLearner":
        """Read members written by save_all()."""
        for m in self.members:
            m.load(directory / f"{stem}.{m.suffix}")
        return self


def make_learner(cfg: LearnerConfig) -> EnsembleLearner:
    """A learner for cfg.learner (single learners are one-member ensembles, so saving is uniform)."""
    if cfg.learner == "ensemble":
        return EnsembleLearner(cfg)
    if cfg.learner not in _LEARNERS:
        raise ValueError(f"unknown learner {cfg.learner!r}; choose ridge, gbdt, xgb or ensemble")
    return EnsembleLearner(dataclasses.replace(cfg, ensemble=[cfg.learner]))


def learner_config(data: dict | None = None, **overrides: Any) -> LearnerConfig:
    """LearnerConfig from a dict plus overrides (unknown keys rejected)."""
    from reelscore.common.config import config_from_dict

    d = dict(data or {})
    d.update({k: v for k, v in overrides.items() if v is not None})
    return config_from_dict(LearnerConfig, d)


class MatrixModel(ModelBase):
    """Shared body of models that map a feature matrix to one learner per target."""

    def __init__(self, cfg: LearnerConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or LearnerConfig(learner=self.default_learner)
        self.learners: dict[str, EnsembleLearner] = {}
        self.columns: list[str] = []
        self.clip: dict[str, list[float]] = {}

    default_learner = "ridge"

    def new_learner(self):
        """An unfitted learner for one target (subclasses with other inputs override this)."""
        return make_learner(self.cfg)

    def fit_matrix(self, X: np.ndarray, Y: pd.DataFrame, columns: list[str]) -> "MatrixModel":
        """Fit one learner per column of Y, each on the rows where that target is present."""
        self.columns = list(columns)
        self.targets = list(Y.columns)
        for t in self.targets:
            y = Y[t].to_numpy(dtype=np.float64)
            ok = np.isfinite(y)
            if ok.sum() < 3:
                raise ModelError(f"target {t}: only {int(ok.sum())} labelled rows; need at least 3")
            self.learners[t] = self.new_learner().fit(X[ok], y[ok])
            self.label_norm[t] = {"mean": float(y[ok].mean()), "std": float(y[ok].std()), "n": int(ok.sum())}
            self.clip[t] = [float(y[ok].min()), float(y[ok].max())]
        self.config = dataclasses.asdict(self.cfg)
        return self

    def predict_matrix(self, X: np.ndarray) -> pd.DataFrame:
        """Predictions [N, targets], clipped to each target's training range."""
        out = {}
        for t in self.targets:
            p = self.learners[t].predict(X)
            lo, hi = self.clip.get(t, [-np.inf, np.inf])
            out[t] = np.clip(p, lo, hi)
        return pd.DataFrame(out)

    def save(self, directory: str | Path) -> Path:
        """Write model.json and weight files into `directory` (atomically as a whole)."""
        from reelscore.common.atomic import atomic_dir

        directory = Path(directory)
        with atomic_dir(directory) as tmp:
            files = {t: self.learners[t].save_all(tmp, t) for t in self.targets}
            self.extra.update({"weights": files, "columns": self.columns, "clip": self.clip})
            write_model_json(tmp, self.meta())
        return directory

    @classmethod
    def config_from_meta(cls, meta: dict[str, Any]) -> Any:
        """The constructor's config as recorded in model.json (subclasses with other configs override)."""
        return learner_config(meta.get("config"))

    @classmethod
    def load(cls, directory: str | Path) -> "MatrixModel":
        """Read a model directory written by save()."""
        directory = Path(directory)
        meta = read_model_json(directory)
        self = cls(cls.config_from_meta(meta))
        self.set_meta(meta)
        self.columns = list(self.extra.get("columns", []))
        self.clip = dict(self.extra.get("clip", {}))
        for t in self.targets:
            self.learners[t] = self.new_learner().load_all(directory, t)
        return self


class LightModel(MatrixModel):
    """Ridge / GBDT on a FeatureStore's pooled vectors (`store.pooled(extractors)`)."""

    task = "engagement"
    # single missing values are fine (ridge imputes the training median, LightGBM routes NaN):
    # a video whose codec exports no QP still gets a prediction from its other inputs
    accepts_missing_values = True

    def fit(self, pooled: pd.DataFrame, labels: pd.DataFrame, feature_spec: dict[str, Any] | None = None) -> "LightModel":
        """Fit on pooled features (index video_id) and labels (index video_id, one column per target)."""
        ids = pooled.index.intersection(labels.index)
        if len(ids) < 3:
            raise ModelError(f"only {len(ids)} videos have both features and labels; need at least 3")
        self.feature_spec = dict(feature_spec or {})
        X = pooled.loc[ids].to_numpy(dtype=np.float64)
        return self.fit_matrix(X, labels.loc[ids], list(pooled.columns))  # type: ignore[return-value]

    def predict(self, pooled: pd.DataFrame) -> pd.DataFrame:
        """Predict from pooled features → DataFrame index video_id, one column per target."""
        missing = [c for c in self.columns if c not in pooled.columns]
        if missing:
            raise ModelError(f"pooled features lack {len(missing)} columns the model was trained on, e.g. {missing[:3]}")
        pred = self.predict_matrix(pooled[self.columns].to_numpy(dtype=np.float64))
        pred.index = pooled.index
        return pred

    def predict_source(self, store=None, manifest=None) -> pd.DataFrame:
        """Predict for every video in the store (restricted to the manifest's ids when given)."""
        if store is None:
            raise ModelError(f"model kind {self.kind} needs a feature store (--features or --manifest with videos)")
        check_store(store, self.feature_spec)
        pooled = store.pooled(list(self.feature_spec) or None)
        if manifest is not None:
            pooled = pooled.loc[pooled.index.intersection(manifest["video_id"].astype(str))]
        pooled = drop_incomplete(pooled)
        return self.predict(pooled).rename_axis("Id").reset_index()


def drop_incomplete(pooled: pd.DataFrame) -> pd.DataFrame:
    """Leave out (and say so) videos that have no row at all for some extractor, e.g. broken media with text only.

    The outer join of the store gives such videos all-NaN columns; imputing them would score a broken video
    as an average one, so they are not predicted (they are in the store's error table instead).
    """
    import sys

    prefixes = sorted({str(c).split(":", 1)[0] for c in pooled.columns})
    lacking: dict[str, list[str]] = {}
    for pre in prefixes:
        cols = [c for c in pooled.columns if str(c).split(":", 1)[0] == pre]
        for vid in pooled.index[pooled[cols].isna().all(axis=1)]:
            lacking.setdefault(str(vid), []).append(pre)
    if not lacking:
        return pooled
    first = ", ".join(f"{v!r} (no {'/'.join(e)})" for v, e in list(lacking.items())[:3])
    print(f"skipped {len(lacking)} of {len(pooled)} videos that lack an extractor's features "
          f"(see `reelscore features show`); first: {first}", file=sys.stderr, flush=True)
    return pooled.drop(index=[v for v in pooled.index if str(v) in lacking])


def check_store(store, feature_spec: dict[str, Any]) -> None:
    """Raise a clear error naming any extractor (or version) the model needs and the store lacks."""
    have = store.extractors()
    for name, version in feature_spec.items():
        if name not in have:
            raise ModelError(
                f"feature store {getattr(store, 'path', store)} lacks extractor {name!r} that the model needs "
                f"(run `reelscore extract --extractors {name}`)"
            )
        got = have[name].get("version") if isinstance(have[name], dict) else None
        if version is not None and got is not None and str(got) != str(version):
            raise ModelError(
                f"feature store has extractor {name!r} version {got}, but the model was trained on version {version}"
            )


class RidgeModel(LightModel):
    """Ridge regression on pooled features."""

    kind = "ridge"
    default_learner = "ridge"


class GBDTModel(LightModel):
    """LightGBM on pooled features."""

    kind = "gbdt"
    default_learner = "gbdt"


register_kind("engagement", "ridge", RidgeModel)
register_kind("engagement", "gbdt", GBDTModel)
