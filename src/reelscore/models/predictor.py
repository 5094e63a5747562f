"""One way to predict: a model directory → `Predictor`; `predict(rows)` → values with their provenance.

`reelscore predict`, `reelscore score` and the service all load models through
`Predictor.load` and predict through `Predictor.predict` (in-memory rows) or
`Predictor.predict_source` (a feature store and/or a manifest). Every
prediction carries the model, the members that answered with their own values,
the inputs it read, and notes (e.g. a value clipped to the training range).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelscore.models.registry import (
    ModelError,
    load_model,
    read_model_json,
    resolve_model_dir,
)


@dataclass
class FeatureRows:
    """What a model may read for a set of videos, all indexed by id.

    pooled: "<extractor>:<feature>" columns (an extractor that failed leaves its columns NaN);
    texts: title / description / caption; table: bring-your-own columns (the coldsignal layout:
    audio/motion signal names, clip_000..clip_511).
    """

    ids: list[str]
    pooled: pd.DataFrame | None = None
    texts: pd.DataFrame | None = None
    table: pd.DataFrame | None = None
    failed: dict[str, dict[str, str]] = field(default_factory=dict)  # id → {extractor: why}


@dataclass
class Prediction:
    """Predicted values (index id, one column per target) and where they came from."""

    values: pd.DataFrame
    provenance: dict[str, Any]
    members: dict[str, pd.DataFrame] = field(default_factory=dict)  # member → values (NaN = did not answer)
    member_notes: dict[str, dict[str, str]] = field(default_factory=dict)  # member → {id: why it did not answer}
    notes: dict[str, dict[str, str]] = field(default_factory=dict)  # id → {target: note}
    unavailable: dict[str, str] = field(default_factory=dict)  # id → why no value at all

    def row(self, vid: str) -> dict[str, Any]:
        """One video's values, members and notes as a JSON-safe dict."""
        out: dict[str, Any] = {}
        for t in self.values.columns:
            v = self.values.at[vid, t] if vid in self.values.index else np.nan
            out[t] = None if not np.isfinite(v) else float(v)
        mem = {}
        for m, df in self.members.items():
            if vid in df.index and np.isfinite(df.loc[vid]).all():
                mem[m] = {t: float(df.at[vid, t]) for t in df.columns}
            else:
                mem[m] = {"unavailable": self.member_notes.get(m, {}).get(vid, "no inputs")}
        return {"values": out, "members": mem, "notes": self.notes.get(vid, {}),
                "unavailable": self.unavailable.get(vid)}


class Predictor:
    """A loaded model directory with one `predict` for every entry point."""

    def __init__(self, model: Any, meta: dict[str, Any], spec: str, path: Path) -> None:
        self.model = model
        self.meta = meta
        self.spec = spec
        self.path = path

    @classmethod
    def load(cls, spec: str | Path, task: str | None = None) -> "Predictor":
        """Load a model directory or shipped alias; a wrong task is a ModelError naming both."""
        path = resolve_model_dir(spec)
        meta = read_model_json(path)
        if task is not None and meta.get("task") != task:
            raise ModelError(f"{spec!r} is a {meta.get('task')} model, not a {task} model")
        return cls(load_model(path), meta, str(spec), path)

    # ---- what it is -------------------------------------------------------------
    @property
    def kind(self) -> str:
        """The model kind (text, ridge, gbdt, light, fused, net, ksvqe...)."""
        return str(self.meta.get("kind"))

    @property
    def targets(self) -> list[str]:
        """The columns it predicts."""
        return list(self.meta.get("targets", []))

    @property
    def extractors(self) -> dict[str, Any]:
        """Extractors (name → version) whose pooled features it reads; empty for text-only models."""
        if self.kind == "text":
            return {}
        if hasattr(self.model, "extractors_needed"):
            return dict(self.model.extractors_needed())
        return dict(self.meta.get("feature_spec") or {})

    def extractors_without_table(self, table: pd.DataFrame | None) -> dict[str, Any]:
        """The extractors still needed when a bring-your-own table gives some members their inputs."""
        if hasattr(self.model, "extractors_needed"):
            return dict(self.model.extractors_needed(table))
        return self.extractors

    @property
    def in_memory(self) -> bool:
        """Whether `predict(rows)` works (models over pooled features, texts or tables); others need a store."""
        return self.kind == "text" or hasattr(self.model, "predict_rows") or hasattr(self.model, "columns")

    def info(self) -> dict[str, Any]:
        """Provenance of the model itself."""
        from reelscore.common.jsonsafe import json_safe

        out = {"model": self.spec, "dir": str(self.path), "kind": self.kind, "targets": self.targets,
               "feature_spec": self.meta.get("feature_spec") or {}, "val_metrics": self.meta.get("val_metrics")}
        if hasattr(self.model, "member_names"):
            out["members"] = self.model.member_names()
        return json_safe(out)

    def warm_up(self) -> None:
        """Load what prediction loads lazily (MiniLM for text members), outside any per-video timing."""
        needs_minilm = (self.kind == "text" and getattr(self.model, "text_cfg", None) is not None
                        and self.model.text_cfg.embeddings) or getattr(self.model, "needs_minilm", False)
        if needs_minilm:
            from reelscore.features.minilm import warm_up

            warm_up()
        if hasattr(self.model, "load_members"):
            self.model.load_members()

    # ---- predicting -----------------------------------------------------------------
    def predict(self, rows: FeatureRows) -> Prediction:
        """Predict every id of `rows` from in-memory features."""
        ids = [str(i) for i in rows.ids]
        prov = self.info()
        if hasattr(self.model, "predict_rows"):
            return self.model.predict_rows(rows, prov)
        if self.kind == "text":
            texts = (rows.texts if rows.texts is not None else pd.DataFrame(index=ids)).reindex(ids)
            fields = list(self.model.text_cfg.fields)
            raw = self.model.raw_fields()
            has = texts.reindex(columns=raw).notna().any(axis=1) if len(ids) else pd.Series(dtype=bool)
            pred = self.model.predict(texts.reindex(columns=["title", "description", "caption"]).reset_index(drop=True))
            pred.index = ids
            unavailable = {}
            for vid in ids:
                if not bool(has.get(vid, False)):
                    pred.loc[vid] = np.nan
                    unavailable[vid] = (f"the engagement model ({self.spec}, kind text) reads only "
                                        f"{' and '.join(fields)}; none was given")
            given = [f for f in fields if f in texts.columns and texts[f].notna().any()]
            prov["inputs"] = [f"text:{f}" for f in given]
            return Prediction(pred, prov, notes=self._clip_notes(pred), unavailable=unavailable)
        if hasattr(self.model, "columns"):
            spec = list(self.extractors)
            pooled = (rows.pooled if rows.pooled is not None else pd.DataFrame()).reindex(
                index=ids, columns=self.model.columns)  # an extractor that did not run: NaN columns
            blocks = {n: [c for c in self.model.columns if c.startswith(n + ":")] for n in spec}
            if getattr(self.model, "accepts_missing_values", False):
                # an extractor answered when any of its columns has a value and it did not fail on the video
                ok = pd.Series(True, index=ids)
                for n, cols in blocks.items():
                    if cols:
                        ok &= pooled[cols].notna().any(axis=1)
                ok &= pd.Series([not any(n in (rows.failed.get(v) or {}) for n in spec) for v in ids], index=ids)
            else:
                ok = pooled.notna().all(axis=1)
            values = pd.DataFrame(np.nan, index=ids, columns=self.targets)
            if ok.any():
                p = self.model.predict(pooled.loc[ok])
                values.loc[p.index, p.columns] = p.to_numpy()
            unavailable = {}
            for vid in np.asarray(ids)[~ok.to_numpy()]:
                why = rows.failed.get(vid) or {}
                bad = {n: why.get(n, "not extracted") for n in spec if why.get(n) or
                       pooled.loc[vid, blocks[n]].isna().all()}
                if not bad:  # a model that needs every value: name the empty columns
                    bad = {c: "no value" for c in pooled.columns[pooled.loc[vid].isna().to_numpy()]}
                unavailable[vid] = f"the {self.meta.get('task')} model needs features that failed: {bad}"
            prov["inputs"] = list(spec)
            return Prediction(values, prov, notes=self._clip_notes(values), unavailable=unavailable)
        raise ModelError(f"model kind {self.kind!r} needs per-clip store features; use `reelscore predict` "
                         "with --features STORE or --manifest")

    def predict_source(self, store=None, manifest: pd.DataFrame | None = None,
                       table: pd.DataFrame | None = None) -> pd.DataFrame:
        """Predict from a FeatureStore and/or a manifest (and a bring-your-own table) → `Id,<targets>`."""
        if hasattr(self.model, "predict_source_rows"):
            pred = self.model.predict_source_rows(store=store, manifest=manifest, table=table)
        else:
            if table is not None:
                raise ModelError(f"model kind {self.kind!r} does not read a --features-table")
            pred = self.model.predict_source(store=store, manifest=manifest)
        keep = ["Id"] + [t for t in self.targets if t in pred.columns]
        # a fused model's member values ride along as <target>_<member> columns
        keep += [c for c in pred.columns if any(c.startswith(f"{t}_") for t in self.targets)]
        return pred[keep]

    def _clip_notes(self, values: pd.DataFrame) -> dict[str, dict[str, str]]:
        """A note where a value sits on the model's clip bound (its input is outside the training range)."""
        clip = getattr(self.model, "clip", {}) or {}
        notes: dict[str, dict[str, str]] = {}
        for t, (lo, hi) in clip.items():
            if t not in values.columns:
                continue
            for vid, v in values[t].items():
                for side, b in (("low", lo), ("high", hi)):
                    if b is not None and np.isfinite(v) and abs(v - float(b)) < 1e-9:
                        notes.setdefault(str(vid), {})[t] = (
                            f"clipped to the {side} end of the training range ({float(b):.3f}): "
                            "the input is outside what the model has seen")
        return notes
