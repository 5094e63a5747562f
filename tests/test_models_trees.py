"""`models.trees` predicts LightGBM and XGBoost models as the libraries do (bit for bit), including missing
values, zero-as-missing, infinities and one-leaf trees; what it cannot evaluate is refused and the learners
then load the library."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

from reelscore.models import trees

ASSETS = Path(__file__).resolve().parents[1] / "src" / "reelscore" / "assets" / "models"


def _rows(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.choice([0.01, 1.0, 100.0], size=(1, d))
    X[rng.random(X.shape) < 0.1] = np.nan
    X[rng.random(X.shape) < 0.05] = 0.0
    X[rng.random(X.shape) < 0.02] = 1e-36  # "zero" for LightGBM's zero-as-missing
    X[rng.random(X.shape) < 0.01] = np.inf
    X[rng.random(X.shape) < 0.01] = -np.inf
    return X


def _train_lgb(tmp_path: Path, name: str, **params) -> Path:
    X = _rows(600, 6, seed=1)
    y = np.nan_to_num(X[:, 0], posinf=3, neginf=-3) * 2 + np.where(np.isnan(X[:, 1]), 1.0, 0.0) + np.nan_to_num(X[:, 2], posinf=3, neginf=-3) ** 2
    p = {"objective": "regression", "verbosity": -1, "num_leaves": 7, "min_data_in_leaf": 5, **params}
    b = lgb.train(p, lgb.Dataset(X, label=y), num_boost_round=30)
    path = tmp_path / f"{name}.txt"
    b.save_model(str(path))
    return path


@pytest.mark.parametrize("params", [{}, {"zero_as_missing": True}, {"use_missing": False}, {"min_data_in_leaf": 10_000}])
def test_lightgbm_models_predict_bit_for_bit(tmp_path, params):
    path = _train_lgb(tmp_path, "m", **params)
    X = _rows(400, 6, seed=2)
    want = lgb.Booster(model_file=str(path)).predict(X)
    forest = trees.read_lightgbm(path)
    np.testing.assert_array_equal(forest.predict(X), want)
    np.testing.assert_array_equal(forest.predict(X[0]), want[:1])  # one row given flat


def _finite(X: np.ndarray) -> np.ndarray:
    return np.where(np.isinf(X), np.sign(X) * 1e30, X)  # XGBoost refuses inf in its input


def test_xgboost_model_predicts_bit_for_bit(tmp_path):
    X = _finite(_rows(600, 5, seed=3))
    y = np.nan_to_num(X[:, 0], posinf=3, neginf=-3) - np.where(np.isnan(X[:, 3]), 0.5, 0.0)
    b = xgb.train({"objective": "reg:squarederror", "max_depth": 4, "tree_method": "hist", "base_score": 0.3},
                  xgb.DMatrix(X, label=y), num_boost_round=25)
    path = tmp_path / "m.json"
    b.save_model(str(path))
    Xt = _finite(_rows(300, 5, seed=4))
    want = xgb.Booster(model_file=str(path)).predict(xgb.DMatrix(Xt)).astype(np.float64)
    np.testing.assert_array_equal(trees.read_xgboost(path).predict(Xt), want)


def test_shipped_tree_models_predict_as_their_libraries():
    for path in [ASSETS / "quality_default" / "MOS.gbdt.txt", ASSETS / "engagement_default" / "members" / "signals" / "signals.txt",
                 ASSETS / "engagement_default" / "members" / "text" / "ECR.gbdt.txt"]:
        b = lgb.Booster(model_file=str(path))
        X = _rows(200, b.num_feature(), seed=5)
        np.testing.assert_array_equal(trees.read_lightgbm(path).predict(X), b.predict(X), err_msg=path.name)
    path = ASSETS / "engagement_default" / "members" / "text" / "ECR.xgb.json"
    b = xgb.Booster(model_file=str(path))
    X = _finite(_rows(100, b.num_features(), seed=6)) * 0.05
    np.testing.assert_array_equal(trees.read_xgboost(path).predict(X), b.predict(xgb.DMatrix(X)).astype(np.float64))


def test_unsupported_models_are_refused_and_the_learner_uses_the_library(tmp_path):
    from reelscore.models.light import GBDTLearner, LearnerConfig

    binary = _train_lgb(tmp_path, "binary", objective="binary")  # labels > 0.5 would be needed; refit below
    X = _rows(300, 6, seed=7)
    y = (np.nan_to_num(X[:, 0]) > 0).astype(float)
    lgb.train({"objective": "binary", "verbosity": -1}, lgb.Dataset(X, label=y), 5).save_model(str(binary))
    with pytest.raises(trees.TreeModelError, match="objective"):
        trees.read_lightgbm(binary)
    Xc = np.column_stack([np.arange(300) % 4, X[:, 1]])
    cat = tmp_path / "cat.txt"
    lgb.train({"objective": "regression", "verbosity": -1, "min_data_in_leaf": 5, "min_data_per_group": 5},
              lgb.Dataset(Xc, label=Xc[:, 0] * 2.0, categorical_feature=[0]), 5).save_model(str(cat))
    with pytest.raises(trees.TreeModelError, match="categorical"):
        trees.read_lightgbm(cat)
    learner = GBDTLearner(LearnerConfig()).load(cat)
    assert learner.forest is None and learner.booster is not None
    np.testing.assert_array_equal(learner.predict(Xc), lgb.Booster(model_file=str(cat)).predict(Xc))
    plain = GBDTLearner(LearnerConfig()).load(_train_lgb(tmp_path, "plain"))
    assert plain.forest is not None and plain.booster is None
    with pytest.raises(ValueError, match="reads 6 features"):
        plain.predict(np.zeros((2, 3)))


def test_large_batches_give_the_same_numbers_walked_in_chunks_or_by_the_library(tmp_path):
    path = _train_lgb(tmp_path, "m")
    X = _rows(trees.Forest.LIBRARY_ROWS + 300, 6, seed=9)
    want = lgb.Booster(model_file=str(path)).predict(X)
    forest = trees.read_lightgbm(path)
    np.testing.assert_array_equal(forest.predict(X), want)  # the library, loaded from the file
    forest.path = None
    np.testing.assert_array_equal(forest.predict(X), want)  # the NumPy walk, CHUNK rows at a time
    assert forest.predict(X[:0]).shape == (0,)
