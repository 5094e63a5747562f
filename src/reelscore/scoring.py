"""Score videos with the shipped default models: the main job of reelscore.

`Scorer` loads the default extractors and models once; `Scorer.score(path)`
probes the file, decodes it once onto the extractors' shared frame grid, runs
the extractors, applies the engagement and quality models, and returns one
JSON-safe dict: scores (ECR, NAWP, MOS), a per-second timeline, top audio tags
and semantic classes, and for each number the model and inputs behind it.
A part that cannot run says so in `unavailable`; no number is ever made up.
Broken inputs give `{"ok": false, "error": {...}}` with the media error.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from reelscore import __version__
from reelscore.common.jsonsafe import json_safe

log = logging.getLogger("reelscore.scoring")

StageCallback = Callable[[str, float], None]


@dataclass
class ScoreConfig:
    """What `reelscore score` runs: which shipped models, how many tags, whether to build the timeline."""

    engagement_model: str = "default"
    quality_model: str = "quality_default"
    device: str = "cpu"
    top_k: int = 5
    timeline: bool = True
    first_seconds: int = 5  # ECR is about the first 5 s of a view


def _na(reason: str) -> dict[str, Any]:
    return {"value": None, "unavailable": reason}


class Scorer:
    """The default extractors and models, loaded once; `score()` per video."""

    def __init__(self, config: ScoreConfig | None = None):
        self.config = config or ScoreConfig()
        self._loaded = False
        self.problems: dict[str, str] = {}  # part -> why it cannot run in this install
        self.models: dict[str, Any] = {}  # task -> loaded model
        self.model_info: dict[str, dict] = {}  # task -> provenance of the model
        self.extractors: dict[str, Any] = {}  # name -> set-up extractor, in dependency order
        self.plan = None

    # ---- loading --------------------------------------------------------------
    def load(self) -> "Scorer":
        """Load models and extractors (idempotent); parts that cannot load are recorded in `problems`."""
        if self._loaded:
            return self
        self._loaded = True
        try:
            import reelscore.media  # noqa: F401
        except ImportError as exc:
            self.problems["media"] = f"reelscore.media is not available: {exc}"
        for task, spec in (("engagement", self.config.engagement_model), ("quality", self.config.quality_model)):
            self._load_model(task, spec)
        self._load_extractors()
        return self

    def _load_model(self, task: str, spec: str) -> None:
        try:
            from reelscore.models.registry import load_model, read_model_json, resolve_model_dir

            path = resolve_model_dir(spec)
            meta = read_model_json(path)
            if meta.get("task") != task:
                raise ValueError(f"{spec!r} is a {meta.get('task')} model, not a {task} model")
            model = load_model(path)
        except Exception as exc:  # a missing or unloadable model is a reported gap, not a crash
            self.problems[task] = f"{task} model {spec!r} unavailable: {exc}"
            return
        if meta.get("kind") == "text" and (meta.get("config", {}).get("text", {}) or {}).get("embeddings", True):
            try:  # load MiniLM now, not inside the first video's timing
                from reelscore.features.minilm import load_minilm

                load_minilm()
            except Exception as exc:
                self.problems[task] = f"{task} model {spec!r} needs all-MiniLM-L6-v2: {exc}"
                return
        self.models[task] = model
        self.model_info[task] = json_safe({
            "model": spec,
            "dir": str(path),
            "kind": meta.get("kind"),
            "targets": meta.get("targets"),
            "feature_spec": meta.get("feature_spec") or {},
            "val_metrics": meta.get("val_metrics"),
        })

    def _uses_pooled(self, task: str) -> bool:
        """A model that predicts from one row of pooled store features (ridge / gbdt / light kinds)."""
        m = self.models.get(task)
        return m is not None and hasattr(m, "columns") and self.model_info[task]["kind"] != "text"

    def _load_extractors(self) -> None:
        try:
            from reelscore.features.base import FramePlan
            from reelscore.features.registry import get_extractor, resolve_order
        except ImportError as exc:
            self.problems["features"] = f"reelscore.features is not available: {exc}"
            return
        # The pipeline's default grid, so features match the ones the models were trained on.
        self.plan = FramePlan()
        wanted = {"semantic", "audio"}  # classes and tags for the report
        for task in ("engagement", "quality"):
            if self._uses_pooled(task):
                wanted |= set(self.model_info[task]["feature_spec"])
        try:
            order = resolve_order(sorted(wanted))
        except Exception as exc:
            self.problems["features"] = f"cannot order extractors {sorted(wanted)}: {exc}"
            return
        for name in order:
            try:
                ext = get_extractor(name)
                ext.plan = self.plan
                ext.setup(self.config.device)
            except Exception as exc:
                self.problems[f"extractor:{name}"] = f"extractor {name!r} unavailable: {type(exc).__name__}: {exc}"
                continue
            self.extractors[name] = ext
        for task in ("engagement", "quality"):
            if not self._uses_pooled(task):
                continue
            for name, version in self.model_info[task]["feature_spec"].items():
                ext = self.extractors.get(name)
                if ext is None:
                    why = self.problems.get(f"extractor:{name}", f"extractor {name!r} is not available")
                    self.problems[task] = f"the {task} model needs {why}"
                elif version is not None and str(version) != str(ext.version):
                    self.problems[task] = (f"the {task} model was trained on {name} features version {version}, "
                                           f"this install extracts version {ext.version}")
            if task in self.problems:
                self.models.pop(task, None)

    def parts(self) -> dict[str, Any]:
        """What this scorer can produce, and why not where it cannot."""
        self.load()
        return {"problems": dict(self.problems), "models": dict(self.model_info),
                "extractors": {n: e.version for n, e in self.extractors.items()}}

    # ---- scoring ----------------------------------------------------------------
    def score(
        self,
        path: str | Path,
        title: str | None = None,
        description: str | None = None,
        video_id: str | None = None,
        caption: str | None = None,
        on_stage: StageCallback | None = None,
    ) -> dict[str, Any]:
        """Score one video; never raises for a bad input (the media error is in the result)."""
        self.load()
        stage = on_stage or (lambda _s, _f: None)
        path = Path(path)
        t0 = time.perf_counter()
        timing: dict[str, float] = {}
        texts = {k: v.strip() for k, v in (("title", title), ("description", description), ("caption", caption))
                 if isinstance(v, str) and v.strip()}
        out: dict[str, Any] = {"video_id": video_id or path.stem, "path": str(path), "ok": False,
                               "title": title, "description": description, "version": __version__}
        if "media" in self.problems:
            out["error"] = {"code": "unavailable", "error": "unavailable", "path": str(path),
                            "message": self.problems["media"]}
            return out
        from reelscore.media import MediaError, probe

        stage("probing", 0.0)
        try:
            info = probe(path)
            timing["probe"] = time.perf_counter() - t0
            stage("decoding", 0.05)
            t1 = time.perf_counter()
            inputs = self._decode(path, info, out["video_id"], texts)
            timing["decode"] = time.perf_counter() - t1
        except MediaError as exc:
            out["error"] = {"code": exc.code, **exc.to_dict()}
            return out
        out["info"] = json_safe({k: v for k, v in info.to_dict().items() if k != "path"})
        if inputs is not None and inputs.duration_s:
            out["info"]["decoded_duration_s"] = round(float(inputs.duration_s), 4)

        unavailable: dict[str, str] = {}
        t1 = time.perf_counter()
        feats, feat_errors = self._extract(inputs, list(self.extractors), stage, 0.15, 0.45)
        timing["features"] = time.perf_counter() - t1
        for name, why in feat_errors.items():
            unavailable[f"features.{name}"] = why

        stage("models", 0.6)
        t1 = time.perf_counter()
        scores = self._engagement(texts, feats, feat_errors, unavailable)
        scores["mos"] = self._quality(feats, feat_errors, unavailable)
        timing["models"] = time.perf_counter() - t1

        t1 = time.perf_counter()
        out["timeline"] = self._timeline(inputs, texts, unavailable, stage) if self.config.timeline else None
        if not self.config.timeline:
            unavailable["timeline"] = "not asked for (--no-timeline)"
        timing["timeline"] = time.perf_counter() - t1

        out["ok"] = True
        out["scores"] = scores
        out["audio_tags"] = self._audio_tags(feats, feat_errors, inputs, unavailable)
        out["semantic_classes"] = self._semantic(feats, feat_errors, unavailable)
        out["models"] = dict(self.model_info)
        out["features"] = {n: {"version": e.version, "sampler": e.sampler} for n, e in self.extractors.items()}
        out["unavailable"] = unavailable
        timing["total"] = time.perf_counter() - t0
        out["timing_s"] = {k: round(v, 4) for k, v in timing.items()}
        stage("done", 1.0)
        return json_safe(out)

    # ---- steps --------------------------------------------------------------------
    def _decode(self, path: Path, info, video_id: str, texts: dict[str, str]):
        """Decode the shared frame grid and the audio once (what every extractor reads)."""
        if self.plan is None:
            return None
        from reelscore.features.base import VideoInputs
        from reelscore.media import MediaError, VideoReader, decode_audio

        inputs = VideoInputs(video_id=video_id, path=str(path), texts=dict(texts), plan=self.plan,
                             info=info.to_dict(), duration_s=float(info.duration_s))
        needs = set().union(*(e.needs for e in self.extractors.values())) if self.extractors else set()
        if "frames" in needs:
            side = min(self.plan.short_side, min(info.width, info.height))
            with VideoReader(path, short_side=side, info=info) as reader:
                dur = float(reader.video_duration_s or info.duration_s)
                sample = reader.frames_at(self.plan.timestamps(dur))
            inputs.frames, inputs.timestamps, inputs.duration_s = sample.frames, sample.timestamps, dur
        if "audio" in needs:
            try:
                track = decode_audio(path, sample_rate=16000, mono=True)
                inputs.audio, inputs.audio_rate = track.samples, track.sample_rate
            except MediaError as exc:
                if exc.code != "no_audio_stream":
                    raise
                inputs.audio_missing = exc.message
        return inputs

    def _extract(self, inputs, names: list[str], stage: StageCallback, lo: float, hi: float):
        """Run extractors (dependency order) on one set of inputs → (outputs, errors)."""
        outs: dict[str, Any] = {}
        errors: dict[str, str] = {}
        if inputs is None:
            return outs, {n: self.problems.get("features", "no extractors") for n in names}
        inputs.prior = {}
        for i, name in enumerate(names):
            stage(f"features: {name}", lo + (hi - lo) * i / max(1, len(names)))
            ext = self.extractors[name]
            if any(dep not in outs for dep in ext.requires):
                errors[name] = f"needs {', '.join(ext.requires)}, which failed"
                continue
            try:
                outs[name] = ext.extract(inputs)
                inputs.prior[name] = outs[name]
            except Exception as exc:  # one extractor failing leaves the others and says why
                errors[name] = f"{type(exc).__name__}: {exc}"
        return outs, errors

    def _pooled_row(self, feats: dict[str, Any], names: Iterable[str], index: list[str]):
        """One DataFrame row per entry of `feats` (a list of output dicts), columns "<extractor>:<feature>"."""
        import numpy as np
        import pandas as pd

        cols, blocks = [], []
        for name in names:
            ext = self.extractors[name]
            cols += [f"{name}:{f}" for f in ext.feature_names()]
            blocks.append(np.stack([np.asarray(f[name].pooled, np.float32).ravel() for f in feats]))
        return pd.DataFrame(np.concatenate(blocks, axis=1), index=pd.Index(index, name="video_id"), columns=cols)

    def _bound_note(self, task: str, target: str, value: float) -> dict[str, Any]:
        """Say so when a prediction sits on the model's clip bound (the input is outside what it was trained on)."""
        lo, hi = (getattr(self.models.get(task), "clip", {}) or {}).get(target, [None, None])
        for side, b in (("low", lo), ("high", hi)):
            if b is not None and abs(value - float(b)) < 1e-9:
                return {"clipped": side, "note": f"clipped to the {side} end of the training range ({float(b):.3f}): "
                                                 "the input is outside what the model has seen"}
        return {}

    def _provenance(self, task: str, inputs_used: list[str]) -> dict[str, Any]:
        info = self.model_info[task]
        return {"model": info["model"], "kind": info["kind"], "inputs": inputs_used,
                "features": {n: v for n, v in (info.get("feature_spec") or {}).items()}}

    def _pooled_inputs(self, task: str) -> list[str]:
        names = list(self.model_info[task]["feature_spec"])
        descr = []
        for n in names:
            ext = self.extractors[n]
            descr.append(f"{n} v{ext.version} ({ext.modality}: {ext.sampler})")
        return descr

    def _engagement(self, texts, feats, feat_errors, unavailable) -> dict[str, Any]:
        results: dict[str, Any] = {}

        def gap(reason: str) -> dict[str, Any]:
            for t in ("ecr", "nawp"):
                results[t] = _na(reason)
                unavailable[t] = reason
            return results

        model = self.models.get("engagement")
        if model is None:
            return gap(self.problems.get("engagement", "no engagement model"))
        info = self.model_info["engagement"]
        if info["kind"] == "text":
            import pandas as pd

            used = [f for f in model.text_cfg.fields if f in texts]
            if not used:
                return gap(f"the engagement model ({info['model']}, kind text) reads only "
                           f"{' and '.join(model.text_cfg.fields)}; none was given")
            pred = model.predict(pd.DataFrame([{f: texts.get(f) for f in ("title", "description", "caption")}]))
            inputs_used = [f"text:{f}" for f in used]
        elif self._uses_pooled("engagement"):
            spec = list(info["feature_spec"])
            bad = {n: feat_errors.get(n, "not extracted") for n in spec if n not in feats}
            if bad:
                return gap(f"the engagement model needs features that failed: {bad}")
            pred = model.predict(self._pooled_row([feats], spec, ["video"]))
            inputs_used = self._pooled_inputs("engagement")
        else:
            return gap(f"engagement model kind {info['kind']!r} needs per-clip store features; "
                       "`reelscore score` runs text and pooled-feature models only (use `reelscore predict`)")
        for t in ("ecr", "nawp"):
            col = next((c for c in pred.columns if c.lower() == t), None)
            if col is None:
                reason = f"the engagement model ({info['model']}) does not predict {t.upper()} (targets: {info['targets']})"
                results[t] = _na(reason)
                unavailable[t] = reason
                continue
            v = float(pred[col].iloc[0])
            results[t] = {"value": v, **self._provenance("engagement", inputs_used), **self._bound_note("engagement", col, v)}
        return results

    def _quality(self, feats, feat_errors, unavailable) -> dict[str, Any]:
        model = self.models.get("quality")
        if model is None or not self._uses_pooled("quality"):
            reason = self.problems.get("quality") or (
                f"quality model kind {self.model_info.get('quality', {}).get('kind')!r} is not a pooled-feature model")
            unavailable["mos"] = reason
            return _na(reason)
        spec = list(self.model_info["quality"]["feature_spec"])
        bad = {n: feat_errors.get(n, "not extracted") for n in spec if n not in feats}
        if bad:
            reason = f"the quality model needs features that failed: {bad}"
            unavailable["mos"] = reason
            return _na(reason)
        pred = model.predict(self._pooled_row([feats], spec, ["video"]))
        target = self.model_info["quality"]["targets"][0]
        v = float(pred[target].iloc[0])
        return {"value": v, "range": [1, 5], **self._provenance("quality", self._pooled_inputs("quality")),
                **self._bound_note("quality", target, v)}

    def _window(self, inputs, start: float, end: float):
        """The inputs of [start, end) as if it were a clip of its own (times shifted to 0)."""
        import numpy as np

        w = dataclasses.replace(inputs, video_id=f"{inputs.video_id}@{start:g}", prior={},
                                duration_s=float(end - start))
        if inputs.frames is not None:
            sel = (inputs.timestamps >= start - 1e-9) & (inputs.timestamps < end - 1e-9)
            if not sel.any():
                return None
            w.frames, w.timestamps = inputs.frames[sel], inputs.timestamps[sel] - start
        if inputs.audio is not None:
            r = inputs.audio_rate
            w.audio = np.ascontiguousarray(inputs.audio[int(start * r):int(end * r)])
            if w.audio.size < r // 4:  # under 0.25 s of sound is not a window the tagger can read
                w.audio = None
                w.audio_missing = "window shorter than 0.25 s"
        return w

    def _per_window(self, task: str, inputs, starts: list[float], dur: float, stage, lo, hi):
        """The task's model applied to the features of each 1-s window → (values, errors)."""
        spec = list(self.model_info[task]["feature_spec"])
        names = [n for n in self.extractors if n in spec or any(n in self.extractors[m].requires for m in spec)]
        values: list[float | None] = [None] * len(starts)
        rows, idx, errors = [], [], {}
        for i, s in enumerate(starts):
            stage(f"timeline {task}", lo + (hi - lo) * i / max(1, len(starts)))
            w = self._window(inputs, s, min(s + 1.0, dur))
            if w is None:
                errors[f"{s:g}"] = "no frame in this second"
                continue
            outs, errs = self._extract(w, names, lambda *_: None, 0, 0)
            if any(n not in outs for n in spec):
                errors[f"{s:g}"] = "; ".join(f"{k}: {v}" for k, v in errs.items())
                continue
            rows.append(outs)
            idx.append(i)
        if rows:
            pred = self.models[task].predict(self._pooled_row(rows, spec, [str(i) for i in idx]))
            col = next(c for c in pred.columns if c.lower() == self._timeline_target(task))
            for i, v in zip(idx, pred[col].to_numpy()):
                values[i] = float(v)
        return values, errors

    def _timeline_target(self, task: str) -> str:
        targets = [t.lower() for t in self.model_info[task]["targets"]]
        if task == "engagement":
            return "ecr" if "ecr" in targets else targets[0]
        return targets[0]

    def _timeline(self, inputs, texts, unavailable, stage) -> dict[str, Any]:
        dur = float(inputs.duration_s) if inputs is not None and inputs.duration_s else 0.0
        n = max(1, int(math.ceil(dur - 1e-6)))
        t = [float(s) for s in range(n)]
        tl: dict[str, Any] = {"t": t, "window_s": 1.0}

        # quality: the quality model on each second's own features
        if self.models.get("quality") is not None and self._uses_pooled("quality") and inputs is not None:
            vals, errs = self._per_window("quality", inputs, t, dur, stage, 0.65, 0.85)
            tl["quality"] = {"values": vals, **self._provenance("quality", ["the same features, computed on each 1-s window"]
                                                                + self._pooled_inputs("quality"))}
            if errs:
                tl["quality"]["window_errors"] = errs
        else:
            reason = unavailable.get("mos") or self.problems.get("quality") or "no quality model"
            tl["quality"] = {"values": None, "unavailable": reason}
            unavailable["timeline.quality"] = reason

        # engagement: the first 5 s, second by second (ECR is about views past 5 s)
        first = t[: self.config.first_seconds]
        info = self.model_info.get("engagement")
        if self.models.get("engagement") is not None and self._uses_pooled("engagement") and inputs is not None:
            vals, errs = self._per_window("engagement", inputs, first, dur, stage, 0.85, 0.95)
            tl["engagement_first5s"] = {"t": first, "values": vals, "target": self._timeline_target("engagement").upper(),
                                        **self._provenance("engagement", ["the same features, computed on each 1-s window"]
                                                           + self._pooled_inputs("engagement"))}
            if errs:
                tl["engagement_first5s"]["window_errors"] = errs
        else:
            if info is not None and info["kind"] == "text":
                reason = (f"the engagement model ({info['model']}) reads title/description only; "
                          "it has no per-second signal")
            else:
                reason = unavailable.get("ecr") or self.problems.get("engagement") or "no engagement model"
            tl["engagement_first5s"] = {"t": first, "values": None, "unavailable": reason}
            unavailable["timeline.engagement_first5s"] = reason
        return tl

    def _audio_tags(self, feats, feat_errors, inputs, unavailable) -> dict[str, Any]:
        if "audio" not in feats:
            reason = feat_errors.get("audio") or self.problems.get("extractor:audio") or self.problems.get("features", "")
            unavailable["audio_tags"] = reason
            return {"values": None, "unavailable": reason}
        meta = feats["audio"].meta
        ext = self.extractors["audio"]
        prov = {"model": "YAMNet (AudioSet, 521 classes)", "inputs": [f"audio: {ext.sampler}"],
                "features": {"audio": ext.version}}
        if meta.get("no_audio"):
            reason = f"the clip has no audio track ({meta.get('reason') or (inputs.audio_missing if inputs else '')})"
            unavailable["audio_tags"] = reason
            return {"values": [], "unavailable": reason, **prov}
        vals = [{"label": n, "score": float(s)} for n, s in zip(meta.get("tags", []), meta.get("tag_scores", []))]
        return {"values": vals[: self.config.top_k], **prov}

    def _semantic(self, feats, feat_errors, unavailable) -> dict[str, Any]:
        if "semantic" not in feats:
            reason = (feat_errors.get("semantic") or self.problems.get("extractor:semantic")
                      or self.problems.get("features", ""))
            unavailable["semantic_classes"] = reason
            return {"values": None, "unavailable": reason}
        meta = feats["semantic"].meta
        ext = self.extractors["semantic"]
        vals = [{"label": n, "score": float(p)} for n, p in zip(meta.get("top_classes", []), meta.get("top_probs", []))]
        return {"values": vals[: self.config.top_k], "model": "EfficientNet-Lite0 (ImageNet, 1000 classes)",
                "inputs": [f"frames: {ext.sampler}"], "features": {"semantic": ext.version},
                "per_clip_top1": meta.get("clip_top1")}


# ---- module-level conveniences -------------------------------------------------------
_DEFAULT: Scorer | None = None


def default_scorer() -> Scorer:
    """The process-wide scorer with the shipped models (loaded on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Scorer().load()
    return _DEFAULT


def score_video(path: str | Path, title: str | None = None, description: str | None = None) -> dict:
    """Score one video with the shipped default models (the object `reelscore score --json` prints)."""
    return default_scorer().score(path, title=title, description=description)


@dataclass
class ScoreItem:
    """One video to score, with its optional texts."""

    path: str
    video_id: str | None = None
    title: str | None = None
    description: str | None = None
    caption: str | None = None


def expand_inputs(paths: Iterable[str | Path]) -> list[ScoreItem]:
    """Files as given; directories → their video files (by suffix, sorted, not recursive)."""
    from reelscore.media.discover import find_videos

    # a missing file is passed on as given: probe reports it as not_found
    return [ScoreItem(str(p)) for p in find_videos(paths, recursive=False)]


def score_many(items: Iterable[ScoreItem], scorer: Scorer | None = None) -> Iterator[dict]:
    """Score items one by one (bad inputs yield their error object and the batch goes on)."""
    scorer = scorer or default_scorer()
    for it in items:
        try:
            yield scorer.score(it.path, title=it.title, description=it.description, video_id=it.video_id,
                               caption=it.caption)
        except Exception as exc:  # a bug on one input must not end the batch; say so loudly
            log.exception("scoring %s failed", it.path)
            yield {"video_id": it.video_id or Path(it.path).stem, "path": it.path, "ok": False,
                   "error": {"code": "internal", "error": "internal", "path": it.path,
                             "message": f"{type(exc).__name__}: {exc}"}}


def config_dict(cfg: ScoreConfig) -> dict:
    """The config as a plain dict."""
    return dataclasses.asdict(cfg)
