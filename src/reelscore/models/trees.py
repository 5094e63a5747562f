"""Gradient-boosted tree ensembles saved by LightGBM (text model) or XGBoost (JSON model), evaluated in NumPy.

Prediction only, with the libraries' own decisions: LightGBM's numerical split (NaN becomes 0.0 unless the
node's missing type is NaN; a zero or NaN that is the node's missing value goes the default way, else
`x <= threshold` goes left, in double) and tree outputs added in tree order in double; XGBoost's split
(inputs and thresholds in float32, `x < threshold` goes left, NaN the default way) and leaf values added in
float32 onto the base score. The shipped models' predictions are identical to the libraries' (tested).
One difference: XGBoost refuses rows holding inf; here inf simply goes the `x < threshold` way.

Why: importing lightgbm costs ~1.8 s (it imports scikit-learn, which imports scipy.stats) and xgboost
~2.0 s in every process that scores; the trees themselves take about a millisecond per video. The walk
is ~20x slower per row than the libraries' C++, so a batch of more than `Forest.LIBRARY_ROWS` rows is
handed to the library (imported then, same numbers); smaller ones are walked `CHUNK` rows at a time.
Models with categorical splits, linear trees or a non-identity objective are refused with a clear error
(`TreeModelError`), and the callers then use the library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class TreeModelError(ValueError):
    """The model file uses something this evaluator does not implement (the library must predict)."""


_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| at most this counts as zero for the "zero is missing" type


@dataclass
class Forest:
    """Trees as padded arrays [T, nodes]; a child < 0 is leaf ~child of that tree."""

    kind: str  # "lightgbm" | "xgboost"
    feature: np.ndarray  # int64 [T, M]
    threshold: np.ndarray  # float64 (LightGBM) or float32 (XGBoost) [T, M]
    left: np.ndarray  # int64 [T, M]
    right: np.ndarray  # int64 [T, M]
    default_left: np.ndarray  # bool [T, M]
    missing: np.ndarray  # int8 [T, M]: LightGBM 0 none, 1 zero, 2 NaN (XGBoost: 2)
    leaf: np.ndarray  # float64 / float32 [T, L]
    root_leaf: np.ndarray  # bool [T]: a tree that is one leaf (leaf 0)
    n_features: int
    base: float = 0.0  # XGBoost's base score (LightGBM folds its start into the first tree)
    path: str | None = None  # the model file, for the library on large batches
    _lib: "LibraryModel | None" = None  # loaded at the first large batch
    _no_lib: bool = False

    LIBRARY_ROWS = 512  # above this many rows the library (imported once, ~2 s) beats the NumPy walk
    CHUNK = 256  # rows walked at a time (bounds the [rows, trees] index arrays)

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return int(self.feature.shape[0])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions [N] for rows X [N, D] (D the model's feature count); the same numbers either way:
        walked here for the few rows scoring asks for, by the library for large batches."""
        X = np.asarray(X, np.float64)
        if X.ndim == 1:
            X = X[None, :]
        if X.shape[1] != self.n_features:  # the libraries refuse a shape mismatch too (columns would be misread)
            raise ValueError(f"the model reads {self.n_features} features, the rows have {X.shape[1]}")
        if X.shape[0] > self.LIBRARY_ROWS and self.path is not None and (self.kind == "lightgbm" or np.isfinite(X[~np.isnan(X)]).all()):
            if self._lib is None and not self._no_lib:
                try:
                    self._lib = LibraryModel(self.kind, self.path)
                except ImportError:
                    self._no_lib = True  # no library here: walk every batch
            if self._lib is not None:
                return self._lib.predict(X)
        return np.concatenate([self._walk(X[s: s + self.CHUNK]) for s in range(0, X.shape[0], self.CHUNK)] or [np.zeros(0)])

    def _walk(self, X: np.ndarray) -> np.ndarray:
        if self.kind == "xgboost":
            X = X.astype(np.float32)
        n, t = X.shape[0], self.n_trees
        rows = np.arange(n)[:, None]
        trees = np.broadcast_to(np.arange(t)[None, :], (n, t))
        node = np.zeros((n, t), np.int64)
        node[:, self.root_leaf] = -1  # ~0: leaf 0
        active = node >= 0
        while active.any():
            r, tr, nd = np.nonzero(active)[0], trees[active], node[active]
            x = X[rows[r, 0], self.feature[tr, nd]]
            go_left = self._go_left(x, tr, nd)
            node[active] = np.where(go_left, self.left[tr, nd], self.right[tr, nd])
            active = node >= 0
        vals = self.leaf[trees, ~node]  # [N, T]
        if self.kind == "xgboost":
            acc = np.full(n, self.base, np.float32)
            for k in range(t):  # float32 from the base score, tree by tree, as XGBoost adds leaves
                acc = acc + vals[:, k]
            return acc.astype(np.float64)
        acc = np.zeros(n, np.float64)
        for k in range(t):  # tree order in double, as LightGBM adds tree outputs
            acc = acc + vals[:, k]
        return acc

    def _go_left(self, x: np.ndarray, tr: np.ndarray, nd: np.ndarray) -> np.ndarray:
        thr, dleft, miss = self.threshold[tr, nd], self.default_left[tr, nd], self.missing[tr, nd]
        nan = np.isnan(x)
        if self.kind == "xgboost":
            with np.errstate(invalid="ignore"):
                return np.where(nan, dleft, x < thr)
        x = np.where(nan & (miss != 2), 0.0, x)
        is_missing = ((miss == 1) & (x > -_ZERO) & (x <= _ZERO)) | ((miss == 2) & np.isnan(x))
        with np.errstate(invalid="ignore"):
            return np.where(is_missing, dleft, x <= thr)


class LibraryModel:
    """The same model file predicted by its own library (LightGBM or XGBoost), float64 out."""

    def __init__(self, kind: str, path: str | Path) -> None:
        self.kind = kind
        if kind == "lightgbm":
            import lightgbm as lgb

            self.booster = lgb.Booster(model_file=str(path))
        else:
            import xgboost as xgb

            self.booster = xgb.Booster(model_file=str(path))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions [N] of rows X [N, D]."""
        if self.kind == "lightgbm":
            return np.asarray(self.booster.predict(X), np.float64)
        import xgboost as xgb

        return np.asarray(self.booster.predict(xgb.DMatrix(X)), np.float64)


def load(path: str | Path, kind: str) -> "Forest | LibraryModel":
    """A saved LightGBM ("lightgbm") or XGBoost ("xgboost") model ready to predict: evaluated here when it
    can be (no library import), else by its library."""
    try:
        return read_lightgbm(path) if kind == "lightgbm" else read_xgboost(path)
    except TreeModelError:
        return LibraryModel(kind, path)


def split(model: "Forest | LibraryModel") -> tuple["Forest | None", object]:
    """(forest, None) for a model evaluated here, (None, the library's booster) for one it refused."""
    return (model, None) if isinstance(model, Forest) else (None, model.booster)


def _pad(rows: list[np.ndarray], fill, dtype) -> np.ndarray:
    width = max(1, max((len(r) for r in rows), default=1))
    out = np.full((len(rows), width), fill, dtype)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


_IDENTITY_OBJECTIVES = ("regression", "regression_l1", "huber", "fair", "quantile", "mape")


def read_lightgbm(path: str | Path) -> Forest:
    """A LightGBM text model (`Booster.save_model`) as a Forest; TreeModelError for what it cannot evaluate."""
    text = Path(path).read_text()
    head, _, body = text.partition("\nTree=")
    meta = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
    objective = meta.get("objective", "").split()[0] if meta.get("objective") else ""
    if objective not in _IDENTITY_OBJECTIVES:
        raise TreeModelError(f"{path}: objective {objective or '?'!r} needs LightGBM's own output transform")
    if int(meta.get("num_tree_per_iteration", "1")) != 1 or "average_output" in head.split():
        raise TreeModelError(f"{path}: multi-output or averaged (random forest) models need LightGBM")
    blocks = ("Tree=" + body).split("\nTree=")
    feats, thrs, lefts, rights, dls, miss, leaves, single = [], [], [], [], [], [], [], []
    for block in blocks:
        if not block.strip() or block.startswith("end of trees"):
            continue
        kv = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if "num_leaves" not in kv:
            continue
        if int(kv.get("num_cat", "0")) or int(kv.get("is_linear", "0")):
            raise TreeModelError(f"{path}: categorical splits or linear trees need LightGBM")
        leaf = np.array(kv["leaf_value"].split(), np.float64)
        leaves.append(leaf)
        if int(kv["num_leaves"]) == 1:
            single.append(True)
            for lst, v in ((feats, []), (thrs, []), (lefts, []), (rights, []), (dls, []), (miss, [])):
                lst.append(np.array(v))
            continue
        single.append(False)
        dt = np.array(kv["decision_type"].split(), np.int64)
        if (dt & 1).any():
            raise TreeModelError(f"{path}: categorical splits need LightGBM")
        feats.append(np.array(kv["split_feature"].split(), np.int64))
        thrs.append(np.array(kv["threshold"].split(), np.float64))
        lefts.append(np.array(kv["left_child"].split(), np.int64))
        rights.append(np.array(kv["right_child"].split(), np.int64))
        dls.append((dt & 2) > 0)
        miss.append(((dt >> 2) & 3).astype(np.int8))
    if not leaves:
        raise TreeModelError(f"{path}: no trees")
    return Forest("lightgbm", _pad(feats, 0, np.int64), _pad(thrs, 0.0, np.float64), _pad(lefts, -1, np.int64),
                  _pad(rights, -1, np.int64), _pad(dls, False, bool), _pad(miss, 0, np.int8),
                  _pad(leaves, 0.0, np.float64), np.array(single, bool), int(meta.get("max_feature_idx", "-1")) + 1,
                  path=str(path))


def read_xgboost(path: str | Path) -> Forest:
    """An XGBoost JSON model (`Booster.save_model(*.json)`) as a Forest; TreeModelError for what it cannot evaluate."""
    m = json.loads(Path(path).read_text())
    learner = m["learner"]
    objective = learner.get("objective", {}).get("name", "")
    if objective not in ("reg:squarederror", "reg:linear", "reg:absoluteerror", "reg:pseudohubererror"):
        raise TreeModelError(f"{path}: objective {objective!r} needs XGBoost's own output transform")
    booster = learner["gradient_booster"]
    if booster.get("name") != "gbtree":
        raise TreeModelError(f"{path}: booster {booster.get('name')!r} needs XGBoost")
    model = booster["model"]
    if int(model["gbtree_model_param"].get("num_parallel_tree", "1")) != 1 or set(model.get("tree_info", [0])) != {0}:
        raise TreeModelError(f"{path}: forests or multi-output models need XGBoost")
    feats, thrs, lefts, rights, dls, leaves, single = [], [], [], [], [], [], []
    for t in model["trees"]:
        if any(t.get("split_type", [])) or t.get("categories"):
            raise TreeModelError(f"{path}: categorical splits need XGBoost")
        lc = np.array(t["left_children"], np.int64)
        rc = np.array(t["right_children"], np.int64)
        cond = np.array(t["split_conditions"], np.float32)
        is_leaf = lc == -1
        # nodes keep XGBoost's ids; a leaf node's value is its split_condition, reached as ~node
        leaf_ids = np.where(is_leaf, -1 - np.arange(lc.size), 0)
        left = np.where(is_leaf[np.maximum(lc, 0)] & ~is_leaf, leaf_ids[np.maximum(lc, 0)], lc)
        right = np.where(is_leaf[np.maximum(rc, 0)] & ~is_leaf, leaf_ids[np.maximum(rc, 0)], rc)
        single.append(bool(is_leaf[0]))
        feats.append(np.array(t["split_indices"], np.int64))
        thrs.append(cond)
        lefts.append(left)
        rights.append(right)
        dls.append(np.array(t["default_left"], bool))
        leaves.append(np.where(is_leaf, cond, np.float32(0)))
    base = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
    n_feat = int(learner["learner_model_param"].get("num_feature", "0"))
    return Forest("xgboost", _pad(feats, 0, np.int64), _pad(thrs, 0.0, np.float32), _pad(lefts, -1, np.int64),
                  _pad(rights, -1, np.int64), _pad(dls, False, bool), _pad([np.full(len(f), 2, np.int8) for f in feats], 2, np.int8),
                  _pad(leaves, 0.0, np.float32), np.array(single, bool), n_feat, float(np.float32(base)), path=str(path))
