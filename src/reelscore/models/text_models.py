"""Text-only engagement models: MiniLM embeddings of title / description / caption plus hand-made
text features, into a light learner (ridge, LightGBM, XGBoost or their average), optionally
averaged with a sparse TF-IDF ridge over the raw text (config `tfidf:`).

These predict from text alone, so a manifest with only `Id,Title,Description` is enough.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelscore.models.light import EnsembleLearner, LearnerConfig, MatrixModel, learner_config, make_learner
from reelscore.models.registry import ModelError, register_kind
from reelscore.models.text_features import DERIVED_FIELDS, TEXT_FIELDS, text_matrix
from reelscore.models.text_tfidf import TfidfConfig, TfidfRidge, join_fields


@dataclass
class TextModelConfig:
    """Which text fields and features feed the learner, and the learner's hyper-parameters."""

    fields: list[str] = field(default_factory=list)  # empty: the text columns the training data has
    embeddings: bool = True
    handmade: bool = True
    learner: dict[str, Any] = field(default_factory=lambda: {"learner": "ridge"})
    # None: off; a mapping (may be empty, see TfidfConfig): a TF-IDF ridge over the raw fields joined
    # joins the average as one more member
    tfidf: dict[str, Any] | None = None


class TextRows:
    """Dense text features and the joined raw text of the same rows; indexes like an array."""

    def __init__(self, X: np.ndarray, texts: np.ndarray) -> None:
        self.X = X
        self.texts = texts

    def __getitem__(self, idx) -> "TextRows":
        return TextRows(self.X[idx], self.texts[idx])

    def __len__(self) -> int:
        return len(self.X)


class TextLearner:
    """The dense learner (one or an average of several) plus, optionally, the TF-IDF ridge as one more equal member."""

    def __init__(self, cfg: LearnerConfig, tfidf: TfidfConfig | None) -> None:
        self.dense: EnsembleLearner = make_learner(cfg)
        self.tfidf = TfidfRidge(tfidf, seed=cfg.seed) if tfidf is not None else None

    def fit(self, rows: TextRows, y: np.ndarray) -> "TextLearner":
        """Fit every member on the same rows."""
        self.dense.fit(rows.X, y)
        if self.tfidf is not None:
            self.tfidf.fit(rows.texts, y)
        return self

    def predict(self, rows: TextRows) -> np.ndarray:
        """Plain average over all members (dense members and the TF-IDF ridge weigh the same)."""
        p = self.dense.predict(rows.X)
        if self.tfidf is None:
            return p
        k = len(self.dense.members)
        return (k * p + self.tfidf.predict(rows.texts)) / (k + 1)

    def save_all(self, directory: Path, stem: str) -> list[str]:
        """Write each member as <stem>.<suffix>; return the file names."""
        names = self.dense.save_all(directory, stem)
        if self.tfidf is not None:
            name = f"{stem}.{self.tfidf.suffix}"
            self.tfidf.save(directory / name)
            names.append(name)
        return names

    def load_all(self, directory: Path, stem: str) -> "TextLearner":
        """Read members written by save_all()."""
        self.dense.load_all(directory, stem)
        if self.tfidf is not None:
            self.tfidf.load(directory / f"{stem}.{self.tfidf.suffix}")
        return self


class TextModel(MatrixModel):
    """Text → engagement (one learner per target)."""

    task = "engagement"
    kind = "text"
    needs_store = False
    text_only = True

    def __init__(self, cfg: TextModelConfig | None = None) -> None:
        self.text_cfg = cfg or TextModelConfig(fields=["title", "description"])
        known = list(TEXT_FIELDS) + list(DERIVED_FIELDS)
        bad = [f for f in self.text_cfg.fields if f not in known]
        if bad or not self.text_cfg.fields:
            raise ValueError(f"text model fields must be among {known}; got {self.text_cfg.fields}")
        super().__init__(learner_config(self.text_cfg.learner))
        from reelscore.common.config import config_from_dict

        self.tfidf_cfg = None if self.text_cfg.tfidf is None else config_from_dict(TfidfConfig, self.text_cfg.tfidf)
        if self.tfidf_cfg is not None:  # model.json then records every TF-IDF setting, defaults included
            self.text_cfg.tfidf = dataclasses.asdict(self.tfidf_cfg)

    def new_learner(self) -> TextLearner:
        """An unfitted learner for one target (dense members + optional TF-IDF ridge)."""
        return TextLearner(self.cfg, self.tfidf_cfg)

    def raw_fields(self) -> list[str]:
        """The input text columns the model reads (derived fields expanded)."""
        out: list[str] = []
        for f in self.text_cfg.fields:
            for r in DERIVED_FIELDS.get(f, (f,)):
                if r not in out:
                    out.append(r)
        return out

    def features(self, texts: pd.DataFrame) -> tuple[TextRows, list[str]]:
        """Dense features (+ joined raw text) of a frame with lower-case text columns (title, description, caption)."""
        X, cols = text_matrix(texts, self.text_cfg.fields, self.text_cfg.embeddings, self.text_cfg.handmade)
        empty = [None] * len(texts)
        joined = join_fields([texts[f].tolist() if f in texts.columns else empty for f in self.raw_fields()])
        return TextRows(X, joined), cols

    def fit(self, texts: pd.DataFrame, labels: pd.DataFrame) -> "TextModel":
        """Fit on text columns and a labels frame (same row order, one column per target)."""
        raw = self.raw_fields()
        missing = [f for f in raw if f not in texts.columns]
        if len(missing) == len(raw):
            raise ModelError(f"no text columns {self.text_cfg.fields} in the training data (have {list(texts.columns)})")
        X, cols = self.features(texts)
        self.fit_matrix(X, labels.reset_index(drop=True), cols)
        self.feature_spec = {"minilm": "all-MiniLM-L6-v2"} if self.text_cfg.embeddings else {}
        self.config = {"text": dataclasses.asdict(self.text_cfg) | {"learner": dataclasses.asdict(self.cfg)}}
        return self

    def predict(self, texts: pd.DataFrame) -> pd.DataFrame:
        """Predict from a frame with text columns → DataFrame, one column per target (same row order)."""
        X, cols = self.features(texts)
        if cols != self.columns:
            raise ModelError("text features differ from the ones the model was trained on (feature code changed?)")
        return self.predict_matrix(X)

    def predict_source(self, store=None, manifest=None) -> pd.DataFrame:
        """Predict from a manifest's text columns (video files are not needed)."""
        if manifest is None:
            raise ModelError(
                "a text model predicts from text: pass --manifest with Title/Description columns "
                f"(fields used: {', '.join(self.text_cfg.fields)})"
            )
        have = [f for f in self.raw_fields() if f in manifest.columns and manifest[f].notna().any()]
        if not have:
            raise ModelError(
                f"manifest has none of the text columns this model uses ({', '.join(self.text_cfg.fields)}); "
                "every prediction would be the same constant"
            )
        pred = self.predict(manifest.reset_index(drop=True))
        pred.insert(0, "Id", manifest["video_id"].astype(str).to_numpy())
        return pred

    @classmethod
    def config_from_meta(cls, meta: dict[str, Any]) -> "TextModelConfig":
        """The text model's config as recorded in model.json."""
        from reelscore.common.config import config_from_dict

        return config_from_dict(TextModelConfig, dict(meta.get("config", {}).get("text", {})))


register_kind("engagement", "text", TextModel)
