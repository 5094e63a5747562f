"""The fused engagement model: members on text, audio/motion signals and CLIP, stacked per subset.

Members (each trained on the rows that have its inputs):
- `text`: the text model (MiniLM + counts → ridge/LightGBM/XGBoost + TF-IDF ridge) on title/description;
  it answers when the title or description is known (a manifest or table with those columns: an empty
  cell means the creator left it empty, which itself predicts engagement; `score` without --title or
  --description: unknown, so the text member does not answer).
- `signals`: LightGBM on the coldsignal audio/motion signals (empty cells allowed); it answers when the
  audio energy is known.
- `clip`: RBF kernel ridge on the L2-normalised CLIP ViT-B/32 embedding (mean of 3 frames); it answers
  when the 512 values are known.

Fusion is learned, not set by hand: out-of-fold member predictions (K-fold on the training rows) fit
one non-negative linear stacker per subset of members; a video is predicted by the stacker of exactly
the members that answered for it, and the prediction lists each member's own value.

Inputs come from a feature store or a live analysis (extractors `coldsignal`, `clip_mean3`) or from a
bring-your-own table with the shared file's column names (`--features-table`).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelscore.models.feature_table import CLIP_DIM, SIGNAL_COLUMNS, clip_columns, column_groups
from reelscore.models.registry import ModelBase, ModelError, read_model_json, register_kind, write_model_json

MEMBERS = ("text", "signals", "clip")
# extractor that computes each video member's inputs, and its column prefix in pooled rows
MEMBER_EXTRACTOR = {"signals": "coldsignal", "clip": "clip_mean3"}
TARGET = "ECR"


@dataclass
class FusedConfig:
    """Members, their hyper-parameters and the stacking folds."""

    members: list[str] = field(default_factory=lambda: list(MEMBERS))
    text: dict[str, Any] = field(default_factory=lambda: {
        "fields": ["title", "description", "title_description"], "embeddings": True, "handmade": True,
        "learner": {"learner": "ensemble", "ensemble": ["ridge", "gbdt", "xgb"]}, "tfidf": {}})
    # has_audio is constant (1) in the shared training rows, so it carries nothing learnable
    signal_columns: list[str] = field(default_factory=lambda: [c for c in SIGNAL_COLUMNS if c != "has_audio"])
    signals_lgbm: dict[str, Any] = field(default_factory=lambda: {
        "n_estimators": 400, "learning_rate": 0.02, "num_leaves": 7, "min_child_samples": 40,
        "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8})
    clip_alpha: float = 1.0
    clip_gamma: float = 1.0
    folds: int = 5
    seed: int = 0


def _text_known(texts: pd.DataFrame) -> np.ndarray:
    """Rows whose title or description is known: a string, empty included ("" = the creator left it empty,
    which carries signal on Spotlight); NaN/None = not given, and then the text member does not answer."""
    cols = [c for c in ("title", "description") if c in texts.columns]
    if not cols:
        return np.zeros(len(texts), bool)
    return texts[cols].map(lambda v: isinstance(v, str)).any(axis=1).to_numpy()


def known_empty_texts(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns a table has: empty cells are known-empty ("") rather than unknown."""
    out = df.copy()
    for c in ("title", "description", "caption"):
        if c in out.columns:
            out[c] = out[c].map(lambda v: v if isinstance(v, str) else "")
    return out


class SignalsMember:
    """LightGBM on the coldsignal signals; NaN cells are LightGBM's missing values."""

    def __init__(self, columns: list[str], params: dict[str, Any], seed: int) -> None:
        self.columns = list(columns)
        self.params = dict(params)
        self.seed = seed
        self.model = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> "SignalsMember":
        """Fit on signal rows."""
        import lightgbm as lgb

        self.model = lgb.LGBMRegressor(random_state=self.seed, verbose=-1, n_jobs=1, **self.params).fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict signal rows."""
        return self.model.predict(X)

    def save(self, d: Path) -> None:
        """signals.txt (LightGBM's own text format)."""
        self.model.booster_.save_model(str(d / "signals.txt"))

    def load(self, d: Path) -> "SignalsMember":
        """Read signals.txt (evaluated by `trees`: same predictions, no lightgbm import)."""
        from reelscore.models import trees

        self.model = trees.load(d / "signals.txt", "lightgbm")
        return self


class ClipMember:
    """RBF kernel ridge on L2-normalised CLIP embeddings (the training vectors are the model)."""

    def __init__(self, alpha: float, gamma: float) -> None:
        self.alpha, self.gamma = alpha, gamma
        self.Z: np.ndarray | None = None
        self.dual: np.ndarray | None = None
        self.mean = 0.0

    @staticmethod
    def _norm(X: np.ndarray) -> np.ndarray:
        return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)

    def _kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T
        return np.exp(-self.gamma * np.maximum(sq, 0.0))

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ClipMember":
        """Solve (K + alpha I) a = y - mean."""
        from scipy.linalg import solve

        self.Z = self._norm(np.asarray(X, np.float64))
        self.mean = float(np.mean(y))
        K = self._kernel(self.Z, self.Z)
        K[np.diag_indices_from(K)] += self.alpha
        self.dual = solve(K, np.asarray(y, np.float64) - self.mean, assume_a="pos")
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Kernel against the training vectors times the dual weights."""
        return self._kernel(self._norm(np.asarray(X, np.float64)), self.Z) @ self.dual + self.mean

    def save(self, d: Path) -> None:
        """clip.npz (float32 training vectors, float64 weights)."""
        np.savez_compressed(d / "clip.npz", Z=self.Z.astype(np.float32), dual=self.dual, mean=self.mean)

    def load(self, d: Path) -> "ClipMember":
        """Read clip.npz."""
        z = np.load(d / "clip.npz")
        self.Z, self.dual, self.mean = z["Z"].astype(np.float64), z["dual"], float(z["mean"])
        return self


@dataclass
class MemberInputs:
    """Each member's input rows for a list of ids, and which ids it can answer for."""

    ids: list[str]
    texts: pd.DataFrame
    signals: np.ndarray
    clip: np.ndarray
    has: dict[str, np.ndarray]
    why: dict[str, str]  # member → why it is absent for the rows that lack it


class FusedEngagementModel(ModelBase):
    """Text, signal and CLIP members with a learned stacker per subset of members (see the module doc)."""

    task = "engagement"
    kind = "fused"
    needs_store = True
    needs_minilm = True
    timeline_ok = False  # members read whole-clip signals (first 10 s, first 90 frames), not 1-s windows

    def __init__(self, cfg: FusedConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or FusedConfig()
        self.targets = [TARGET]
        self.members: dict[str, Any] = {}
        self.stackers: dict[str, dict[str, Any]] = {}  # "text+signals" → {"members", "coef", "intercept", "n"}
        self.clip_range: list[float] = [0.0, 1.0]

    # ---- what it reads ------------------------------------------------------------
    def member_names(self) -> list[str]:
        """The trained members."""
        return list(self.members)

    def extractors_needed(self, table: pd.DataFrame | None = None) -> dict[str, Any]:
        """Extractors (name → version) for the video members whose inputs the table does not carry."""
        have = column_groups(table)
        return {MEMBER_EXTRACTOR[m]: (self.feature_spec or {}).get(MEMBER_EXTRACTOR[m], "1")
                for m in self.members if m in MEMBER_EXTRACTOR and m not in have}

    def optional_extractors(self) -> set[str]:
        """Every video member may be absent (e.g. no CLIP weights): the others still answer."""
        return set(MEMBER_EXTRACTOR.values())

    # ---- inputs -----------------------------------------------------------------------
    def inputs(self, ids: list[str], texts: pd.DataFrame | None = None, pooled: pd.DataFrame | None = None,
               table: pd.DataFrame | None = None, failed: dict[str, dict[str, str]] | None = None) -> MemberInputs:
        """Gather member inputs for `ids` from texts, pooled extractor columns and/or a table (the table wins)."""
        ids = [str(i) for i in ids]
        tx = (texts if texts is not None else pd.DataFrame(index=ids)).reindex(ids)
        tx = tx.reindex(columns=["title", "description", "caption"])
        groups = column_groups(table)
        sig_cols = self.cfg.signal_columns

        def block(member: str, cols: list[str]) -> np.ndarray:
            """The member's columns from the table when it has that group, else the extractor's pooled columns
            (all NaN where neither has them)."""
            if member in groups:
                return table.reindex(index=ids, columns=cols).to_numpy(np.float64)
            src = pooled if pooled is not None else pd.DataFrame()
            prefixed = [f"{MEMBER_EXTRACTOR[member]}:{c}" for c in cols]
            return src.reindex(index=ids, columns=prefixed).to_numpy(np.float64)

        S = block("signals", sig_cols)
        C = block("clip", clip_columns(CLIP_DIM))
        has = {"text": _text_known(tx),
               "signals": np.isfinite(S[:, sig_cols.index("audio_energy_mean")]) if "audio_energy_mean" in sig_cols
               else np.isfinite(S).any(axis=1),
               "clip": np.isfinite(C).all(axis=1)}
        why = {"text": "no title or description given (pass --title/--description, or Title/Description columns)",
               "signals": "no audio/motion signals (extractor coldsignal or the table's signal columns)",
               "clip": "no CLIP embedding (--clip-checkpoint for extractor clip_mean3, or clip_* table columns)"}
        for m, ext in MEMBER_EXTRACTOR.items():
            reasons = {vid: f.get(ext) for vid, f in (failed or {}).items() if f.get(ext)}
            if reasons:
                why[m] += "; " + "; ".join(sorted(set(reasons.values())))[:300]
        return MemberInputs(ids, tx, S, C, has, why)

    def _member_predict(self, name: str, mi: MemberInputs, rows: np.ndarray, model=None) -> np.ndarray:
        m = model if model is not None else self._member(name)
        if name == "text":
            return m.predict(mi.texts.iloc[rows].reset_index(drop=True))[TARGET].to_numpy(np.float64)
        if name == "signals":
            return m.predict(mi.signals[rows])
        return m.predict(mi.clip[rows])

    def _member(self, name: str):
        """A trained member; one loaded lazily (the text member, when no text ever comes) is loaded now."""
        m = self.members[name]
        if callable(m) and not hasattr(m, "predict"):
            m = self.members[name] = m()
        return m

    def load_members(self) -> None:
        """Load every lazily loaded member now (outside any per-video timing)."""
        for m in list(self.members):
            self._member(m)

    def _new_member(self, name: str):
        from reelscore.common.config import config_from_dict
        from reelscore.models.text_models import TextModel, TextModelConfig

        if name == "text":
            return TextModel(config_from_dict(TextModelConfig, copy.deepcopy(self.cfg.text)))
        if name == "signals":
            return SignalsMember(self.cfg.signal_columns, self.cfg.signals_lgbm, self.cfg.seed)
        return ClipMember(self.cfg.clip_alpha, self.cfg.clip_gamma)

    def _fit_member(self, name: str, mi: MemberInputs, y: np.ndarray, rows: np.ndarray):
        m = self._new_member(name)
        if name == "text":
            # rows without any text still teach the text model what empty text means
            return m.fit(mi.texts.iloc[rows].reset_index(drop=True), pd.DataFrame({TARGET: y[rows]}))
        X = mi.signals if name == "signals" else mi.clip
        return m.fit(X[rows], y[rows])

    # ---- fitting -------------------------------------------------------------------------
    def fit(self, ids: list[str], y: np.ndarray, texts: pd.DataFrame | None = None,
            pooled: pd.DataFrame | None = None, table: pd.DataFrame | None = None,
            progress=None) -> "FusedEngagementModel":
        """Fit members on their rows, then one stacker per subset on K-fold out-of-fold predictions."""
        from sklearn.linear_model import LinearRegression
        from sklearn.model_selection import KFold

        y = np.asarray(y, np.float64)
        mi = self.inputs(ids, texts, pooled, table)
        trainable = {"text": mi.has["text"] & np.isfinite(y), "signals": mi.has["signals"] & np.isfinite(y),
                     "clip": mi.has["clip"] & np.isfinite(y)}
        names = [m for m in self.cfg.members if trainable[m].sum() >= max(20, 2 * self.cfg.folds)]
        if not names:
            raise ModelError("no member has enough labelled rows (text, signals or clip) to train on")
        oof = {m: np.full(len(y), np.nan) for m in names}
        folds = list(KFold(self.cfg.folds, shuffle=True, random_state=self.cfg.seed).split(y))
        steps = len(names) * (len(folds) + 1)
        done = 0
        for k, (tr, te) in enumerate(folds):
            for m in names:
                rtr = tr[trainable[m][tr]]
                rte = te[mi.has[m][te]]
                if len(rte):
                    oof[m][rte] = self._member_predict(m, mi, rte, model=self._fit_member(m, mi, y, rtr))
                done += 1
                if progress:
                    progress(done, steps, f"fold {k + 1}/{len(folds)}: {m}")
        for m in names:
            self.members[m] = self._fit_member(m, mi, y, np.flatnonzero(trainable[m]))
            done += 1
            if progress:
                progress(done, steps, f"final: {m}")
        self.stackers = {}
        for r in range(1, len(names) + 1):
            for sub in itertools.combinations(names, r):
                ok = np.isfinite(y) & np.all([mi.has[m] & np.isfinite(oof[m]) for m in sub], axis=0)
                if ok.sum() < 20:
                    continue
                Z = np.stack([oof[m][ok] for m in sub], axis=1)
                lr = LinearRegression(positive=True).fit(Z, y[ok])
                self.stackers["+".join(sub)] = {"members": list(sub), "coef": [float(c) for c in lr.coef_],
                                                "intercept": float(lr.intercept_), "n": int(ok.sum())}
        ok_y = y[np.isfinite(y)]
        self.clip_range = [float(ok_y.min()), float(ok_y.max())]
        self.oof_ = oof
        self.feature_spec = {MEMBER_EXTRACTOR[m]: "1" for m in names if m in MEMBER_EXTRACTOR}
        self.config = dataclasses.asdict(self.cfg)
        self.label_norm = {TARGET: {"mean": float(ok_y.mean()), "std": float(ok_y.std()), "n": int(ok_y.size)}}
        return self

    # ---- predicting --------------------------------------------------------------------------
    def predict_inputs(self, mi: MemberInputs, only: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, str]]:
        """→ (fused values, member values, why-no-value per id); `only` restricts the members used."""
        n = len(mi.ids)
        use = [m for m in self.members if only is None or m in only]
        member_vals = {}
        for m in use:
            v = np.full(n, np.nan)
            rows = np.flatnonzero(mi.has[m])
            if rows.size:
                v[rows] = self._member_predict(m, mi, rows)
            member_vals[m] = v
        fused = np.full(n, np.nan)
        unavailable = {}
        answered = np.stack([np.isfinite(member_vals[m]) for m in use], axis=1) if use else np.zeros((n, 0), bool)
        for i in range(n):
            sub = [m for j, m in enumerate(use) if answered[i, j]]
            st = self.stackers.get("+".join(sub))
            if not sub or st is None:
                unavailable[mi.ids[i]] = ("no engagement member had inputs: " +
                                          "; ".join(f"{m}: {mi.why[m]}" for m in use if not mi.has[m][i]))
                continue
            fused[i] = st["intercept"] + sum(c * member_vals[m][i] for c, m in zip(st["coef"], st["members"]))
        fused = np.clip(fused, *self.clip_range)
        values = pd.DataFrame({TARGET: fused}, index=mi.ids)
        members = {m: pd.DataFrame({TARGET: v}, index=mi.ids) for m, v in member_vals.items()}
        return values, members, unavailable

    def predict_rows(self, rows, provenance: dict[str, Any]):
        """Predictor hook: in-memory FeatureRows → Prediction with each member's value and why absent."""
        from reelscore.models.predictor import Prediction

        mi = self.inputs(rows.ids, rows.texts, rows.pooled, rows.table, rows.failed)
        values, members, unavailable = self.predict_inputs(mi)
        member_notes = {m: {vid: mi.why[m] for vid, h in zip(mi.ids, mi.has[m]) if not h} for m in members}
        answered = sorted({m for m in members if np.isfinite(members[m][TARGET]).any()})
        prov = dict(provenance)
        prov["inputs"] = ([f"text:{f}" for f in ("title", "description")
                           if rows.texts is not None and f in rows.texts and rows.texts[f].notna().any()]
                          * ("text" in answered)
                          + [MEMBER_EXTRACTOR[m] for m in answered if m in MEMBER_EXTRACTOR])
        prov["members_answered"] = answered
        notes = {}
        for vid in mi.ids:
            v = values.at[vid, TARGET]
            if np.isfinite(v) and (abs(v - self.clip_range[0]) < 1e-12 or abs(v - self.clip_range[1]) < 1e-12):
                notes[vid] = {TARGET: "clipped to the training label range"}
        return Prediction(values, prov, members=members, member_notes=member_notes, notes=notes,
                          unavailable=unavailable)

    def predict_source_rows(self, store=None, manifest: pd.DataFrame | None = None,
                            table: pd.DataFrame | None = None) -> pd.DataFrame:
        """Predict for the manifest's ids (or the table's / store's) → `Id,ECR` (+ one column per member)."""
        import sys

        if manifest is not None:
            ids = manifest["video_id"].astype(str).tolist()
            texts = manifest.set_index(manifest["video_id"].astype(str))
            # a manifest column that exists says the field is known: its empty cells are empty titles
            given = [c for c in ("title", "description") if c in texts.columns and texts[c].notna().any()]
            texts = known_empty_texts(texts[given]) if given else texts
        elif table is not None:
            ids, texts = list(table.index), None
        elif store is not None:
            ids, texts = [str(i) for i in store.index()["video_id"]], None
        else:
            raise ModelError("the fused model needs --manifest (texts, videos), --features-table and/or --features STORE")
        if table is not None:
            extra = sorted(set(table.index) - set(ids)) if manifest is not None else []
            if extra:
                print(f"features table: {len(extra)} ids not in the manifest were ignored (e.g. {extra[0]!r})",
                      file=sys.stderr)
        pooled = None
        if store is not None:
            have = store.extractors()
            names = [e for e in self.extractors_needed(table) if e in have]
            if names:
                pooled = store.pooled(names)
                pooled.index = pooled.index.astype(str)
        mi = self.inputs(ids, texts, pooled, table)
        values, members, unavailable = self.predict_inputs(mi)
        if unavailable:
            first = next(iter(unavailable.items()))
            print(f"{len(unavailable)} of {len(ids)} videos had no member with inputs and get no value "
                  f"(first: {first[0]!r}: {first[1]})", file=sys.stderr)
        out = values.rename_axis("Id").reset_index()
        for m, df in members.items():
            out[f"{TARGET}_{m}"] = df[TARGET].to_numpy()
        return out

    # ---- files ------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """model.json + members/<name>/ (text: a text model directory; signals.txt; clip.npz)."""
        from reelscore.common.atomic import atomic_dir

        directory = Path(directory)
        with atomic_dir(directory) as tmp:
            for m in list(self.members):
                obj = self._member(m)
                d = tmp / "members" / m
                if m == "text":
                    obj.save(d)
                else:
                    d.mkdir(parents=True, exist_ok=True)
                    obj.save(d)
            self.extra.update({"members": list(self.members), "stackers": self.stackers,
                               "clip_range": self.clip_range})
            write_model_json(tmp, self.meta())
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "FusedEngagementModel":
        """Read a directory written by save()."""
        from reelscore.common.config import config_from_dict
        from reelscore.models.text_models import TextModel

        directory = Path(directory)
        meta = read_model_json(directory)
        self = cls(config_from_dict(FusedConfig, dict(meta.get("config", {}))))
        self.set_meta(meta)
        self.stackers = dict(self.extra.get("stackers", {}))
        self.clip_range = list(self.extra.get("clip_range", [0.0, 1.0]))
        for m in self.extra.get("members", []):
            d = directory / "members" / m
            if m == "text":  # its learners take ~1.5 s to load; a batch without titles never needs them
                self.members[m] = functools.partial(TextModel.load, d)
            elif m == "signals":
                self.members[m] = SignalsMember(self.cfg.signal_columns, self.cfg.signals_lgbm, self.cfg.seed).load(d)
            elif m == "clip":
                self.members[m] = ClipMember(self.cfg.clip_alpha, self.cfg.clip_gamma).load(d)
            else:
                raise ModelError(f"{directory}: unknown member {m!r}")
        return self


register_kind("engagement", "fused", FusedEngagementModel)
