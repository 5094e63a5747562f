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
    quality_model: str = "quality-default"
    device: str = "cpu"  # cpu, cuda or cuda:N for the networks (checked by common.devices.check_device)
    batch_size: int = 16  # frames per network batch
    precision: str = "fp32"  # fp16: half-precision networks on a GPU
    top_k: int = 5
    timeline: bool = True
    first_seconds: int = 5  # ECR is about the first 5 s of a view
    threads: int = 2  # decoder / torch threads of this scorer (a worker of `--workers N` gets cores // N)
    extractor_options: dict = dataclasses.field(default_factory=dict)  # e.g. {"clip": {"checkpoint": DIR}}
    # load MiniLM up front (so the first video's timing is its own); a batch without any title or
    # description never needs it, and skipping it saves about 5 s of start-up
    expect_text: bool = True


@dataclass
class Decoded:
    """One video probed and decoded for the extractors, or the media error that stopped it."""

    info: Any = None
    inputs: Any = None
    timing: dict = dataclasses.field(default_factory=dict)
    error: dict | None = None


def _texts(title: str | None, description: str | None, caption: str | None) -> dict[str, str]:
    return {k: v.strip() for k, v in (("title", title), ("description", description), ("caption", caption))
            if isinstance(v, str) and v.strip()}


def _na(reason: str) -> dict[str, Any]:
    return {"value": None, "unavailable": reason}


class Scorer:
    """The default extractors and models, loaded once; `score()` per video (analysis → predictors → result)."""

    def __init__(self, config: ScoreConfig | None = None):
        self.config = config or ScoreConfig()
        self._loaded = False
        self.problems: dict[str, str] = {}  # part -> why it cannot run in this install
        self.predictors: dict[str, Any] = {}  # task -> Predictor
        self.model_info: dict[str, dict] = {}  # task -> provenance of the model
        self.analyzer = None
        self.plan = None
        self.absent: dict[str, str] = {}  # optional extractor -> why it is not run (its member does not answer)

    @property
    def extractors(self) -> dict[str, Any]:
        """Set-up extractors by name, in dependency order."""
        if self.analyzer is None:
            return {}
        return {n: e for n, e in self.analyzer.extractors.items() if n not in self.analyzer.setup_errors}

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
            from reelscore.models.predictor import Predictor

            pred = Predictor.load(spec, task=task)
            if self.config.expect_text:
                pred.warm_up()  # MiniLM now, not inside the first video's timing
        except Exception as exc:  # a missing or unloadable model is a reported gap, not a crash
            self.problems[task] = f"{task} model {spec!r} unavailable: {exc}"
            return
        if not pred.in_memory:
            self.problems[task] = (f"{task} model kind {pred.kind!r} needs per-clip store features; "
                                   "`reelscore score` runs text, pooled-feature and fused models (use `reelscore predict`)")
            return
        self.predictors[task] = pred
        self.model_info[task] = pred.info()

    def _load_extractors(self) -> None:
        try:
            from reelscore.features.analysis import Analyzer
            from reelscore.features.base import FramePlan
        except ImportError as exc:
            self.problems["features"] = f"reelscore.features is not available: {exc}"
            return
        # The pipeline's default grid, so features match the ones the models were trained on.
        self.plan = FramePlan()
        wanted = {"semantic", "audio"}  # classes and tags for the report
        for pred in self.predictors.values():
            wanted |= set(pred.extractors)
        options = {n: o for n, o in (self.config.extractor_options or {}).items() if n in wanted}
        try:
            self.analyzer = Analyzer.from_names(sorted(wanted), plan=self.plan, options=options,
                                                device=self.config.device, threads=self.config.threads,
                                                batch_size=self.config.batch_size, precision=self.config.precision)
        except Exception as exc:
            self.problems["features"] = f"cannot set up extractors {sorted(wanted)}: {exc}"
            return
        optional_all = set()
        for pred in self.predictors.values():
            optional_all |= set(getattr(pred.model, "optional_extractors", lambda: ())())
        for n, why in self.analyzer.setup().items():
            if n in optional_all and n not in {"semantic", "audio"}:
                # an optional member's input (e.g. CLIP without weights): that member is absent, the install is fine
                self.absent[n] = why
            else:
                self.problems[f"extractor:{n}"] = why
        for task, pred in list(self.predictors.items()):
            optional = set(getattr(pred.model, "optional_extractors", lambda: ())())
            for name, version in pred.extractors.items():
                ext = self.extractors.get(name)
                if ext is None:
                    if name in optional:
                        continue  # a fused model answers with the members that have inputs
                    why = self.problems.get(f"extractor:{name}", f"extractor {name!r} is not available")
                    self.problems[task] = f"the {task} model needs {why}"
                elif version is not None and str(version) != str(ext.version):
                    self.problems[task] = (f"the {task} model was trained on {name} features version {version}, "
                                           f"this install extracts version {ext.version}")
            if task in self.problems:
                self.predictors.pop(task)
                self.model_info.pop(task, None)

    def parts(self) -> dict[str, Any]:
        """What this scorer can produce, and why not where it cannot."""
        self.load()
        return {"problems": dict(self.problems), "absent": dict(self.absent), "models": dict(self.model_info),
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
        decoded: "Decoded | None" = None,
    ) -> dict[str, Any]:
        """Score one video; never raises for a bad input (the media error is in the result).

        `decoded` is this video's `decode()` done ahead (score_many decodes the next video while
        this one's extractors run); without it the video is decoded here.
        """
        self.load()
        stage = on_stage or (lambda _s, _f: None)
        path = Path(path)
        t0 = time.perf_counter()
        texts = _texts(title, description, caption)
        out: dict[str, Any] = {"video_id": video_id or path.stem, "path": str(path), "ok": False,
                               "title": title, "description": description, "version": __version__}
        ahead = decoded is not None  # its probe and decode ran before t0
        if decoded is None:
            decoded = self.decode(path, out["video_id"], texts, stage)
        if decoded.error is not None:
            out["error"] = decoded.error
            return out
        info, inputs = decoded.info, decoded.inputs
        timing: dict[str, float] = dict(decoded.timing)
        out["info"] = json_safe({k: v for k, v in info.to_dict().items() if k != "path"})
        if inputs is not None and inputs.duration_s:
            out["info"]["decoded_duration_s"] = round(float(inputs.duration_s), 4)

        unavailable: dict[str, str] = {}
        t1 = time.perf_counter()
        if inputs is None:
            feats, feat_errors = {}, {n: self.problems.get("features", "no extractors") for n in ("semantic", "audio")}
        else:
            feats, feat_errors = self.analyzer.run(
                inputs, list(self.extractors),
                on_stage=lambda n, i, k: stage(f"features: {n}", 0.15 + 0.3 * i / max(1, k)))
        timing["features"] = time.perf_counter() - t1
        for name, why in feat_errors.items():
            unavailable[f"features.{name}"] = why

        stage("models", 0.6)
        t1 = time.perf_counter()
        rows = self._rows([feats], [feat_errors], ["video"], texts=[texts])
        scores = self._engagement(rows, unavailable)
        scores["mos"] = self._quality(rows, unavailable)
        timing["models"] = time.perf_counter() - t1

        t1 = time.perf_counter()
        out["timeline"] = self._timeline(inputs, texts, unavailable, stage, feats) if self.config.timeline else None
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
        timing["total"] = time.perf_counter() - t0 + (timing.get("probe", 0.0) + timing.get("decode", 0.0) if ahead else 0.0)
        out["timing_s"] = {k: round(v, 4) for k, v in timing.items()}
        stage("done", 1.0)
        return json_safe(out)

    def decode(self, path: str | Path, video_id: str, texts: dict[str, str],
               on_stage: StageCallback | None = None, info: Any = None) -> "Decoded":
        """Probe (unless `info` is given) and decode one video for this scorer's extractors; a media error is kept."""
        self.load()
        stage = on_stage or (lambda _s, _f: None)
        path = Path(path)
        if "media" in self.problems:
            return Decoded(error={"code": "unavailable", "error": "unavailable", "path": str(path),
                                  "message": self.problems["media"]})
        from reelscore.media import MediaError, probe

        timing: dict[str, float] = {}
        stage("probing", 0.0)
        t0 = time.perf_counter()
        try:
            if info is None:
                info = probe(path)
            timing["probe"] = time.perf_counter() - t0
            stage("decoding", 0.05)
            t1 = time.perf_counter()
            inputs = None
            if self.analyzer is not None:
                inputs = self.analyzer.decode(str(path), video_id, texts, names=list(self.extractors), info=info)
            timing["decode"] = time.perf_counter() - t1
        except MediaError as exc:
            return Decoded(error={"code": exc.code, **exc.to_dict()})
        return Decoded(info=info, inputs=inputs, timing=timing)

    # ---- steps --------------------------------------------------------------------
    def _rows(self, feats: list[dict[str, Any]], errors: list[dict[str, str]], index: list[str],
              texts: list[dict[str, str]] | None = None):
        """FeatureRows of analysed videos: pooled columns "<extractor>:<feature>" (NaN where an extractor failed)."""
        import numpy as np
        import pandas as pd

        from reelscore.models.predictor import FeatureRows

        cols, blocks = [], []
        for name, ext in self.extractors.items():
            names = ext.feature_names()
            cols += [f"{name}:{f}" for f in names]
            block = np.full((len(feats), len(names)), np.nan, np.float32)
            for i, f in enumerate(feats):
                if name in f:
                    block[i] = np.asarray(f[name].pooled, np.float32).ravel()
            blocks.append(block)
        pooled = pd.DataFrame(np.concatenate(blocks, axis=1) if blocks else np.zeros((len(feats), 0)),
                              index=pd.Index(index, name="video_id"), columns=cols)
        tx = pd.DataFrame(texts or [{} for _ in index], index=index).reindex(columns=["title", "description", "caption"])
        failed = {i: {**self.absent, **e} for i, e in zip(index, errors)}
        return FeatureRows(ids=list(index), pooled=pooled, texts=tx, failed=failed)

    def _engagement(self, rows, unavailable) -> dict[str, Any]:
        results: dict[str, Any] = {}
        pred = self.predictors.get("engagement")
        if pred is None:
            reason = self.problems.get("engagement", "no engagement model")
            for t in ("ecr", "nawp"):
                results[t] = _na(reason)
                unavailable[t] = reason
            return results
        p = pred.predict(rows)
        row = p.row("video")
        for t in ("ecr", "nawp"):
            col = next((c for c in p.values.columns if c.lower() == t), None)
            if col is None:
                reason = f"the engagement model ({pred.spec}) does not predict {t.upper()} (targets: {pred.targets})"
                if t == "nawp":
                    reason += "; a model trained on your own watch logs gives it (docs/engagement.md)"
                results[t] = _na(reason)
                unavailable[t] = reason
                continue
            v = row["values"].get(col)
            if v is None:
                reason = row["unavailable"] or f"no member of {pred.spec} had inputs"
                results[t] = _na(reason)
                unavailable[t] = reason
                continue
            results[t] = {"value": v, **self._provenance("engagement", p)}
            if row["members"]:
                results[t]["members"] = {m: (mv.get(col) if col in mv else mv) for m, mv in row["members"].items()}
            if col in row["notes"]:
                results[t].update({"clipped": "low" if "low end" in row["notes"][col] else "high",
                                   "note": row["notes"][col]})
        return results

    def _quality(self, rows, unavailable) -> dict[str, Any]:
        pred = self.predictors.get("quality")
        if pred is None:
            reason = self.problems.get("quality") or "no quality model"
            unavailable["mos"] = reason
            return _na(reason)
        p = pred.predict(rows)
        row = p.row("video")
        target = pred.targets[0]
        v = row["values"].get(target)
        if v is None:
            reason = row["unavailable"] or "the quality model had no inputs"
            unavailable["mos"] = reason
            return _na(reason)
        out = {"value": v, "range": [1, 5], **self._provenance("quality", p)}
        if target in row["notes"]:
            out.update({"clipped": "low" if "low end" in row["notes"][target] else "high",
                        "note": row["notes"][target]})
        return out

    def _provenance(self, task: str, p) -> dict[str, Any]:
        info = self.model_info[task]
        used = []
        for n in p.provenance.get("inputs", []):
            ext = self.extractors.get(n)
            used.append(f"{n} v{ext.version} ({ext.modality}: {ext.sampler})" if ext is not None else n)
        return {"model": info["model"], "kind": info["kind"], "inputs": used,
                "features": {n: v for n, v in (info.get("feature_spec") or {}).items()}}

    def _per_window(self, task: str, inputs, starts: list[float], dur: float, stage, lo, hi, full=None):
        """The task's model applied to the features of each 1-s window → (values, errors)."""
        full = full or {}
        pred = self.predictors[task]
        spec = list(pred.extractors)
        names = [n for n in self.extractors if n in spec or any(n in self.extractors[m].requires for m in spec
                                                                   if m in self.extractors)]
        values: list[float | None] = [None] * len(starts)
        feats, errs_all, idx, errors = [], [], [], {}
        for i, s in enumerate(starts):
            stage(f"timeline {task}", lo + (hi - lo) * i / max(1, len(starts)))
            e = min(s + 1.0, dur)
            # extractors that can pool the window from the whole-video pass do so (no recompute)
            pooled = {n: self.extractors[n].window(full[n], s, e) for n in names if n in full}
            pooled = {n: o for n, o in pooled.items() if o is not None}
            rest = [n for n in names if n not in pooled]
            if rest:
                w = self.analyzer.window(inputs, s, e)
                if w is None:
                    errors[f"{s:g}"] = "no frame in this second"
                    continue
                outs, errs = self.analyzer.run(w, rest)
            else:
                outs, errs = {}, {}
            outs = {**pooled, **outs}
            feats.append(outs)
            errs_all.append(errs)
            idx.append(i)
        if feats:
            rows = self._rows(feats, errs_all, [str(i) for i in idx], texts=[inputs.texts] * len(idx))
            p = pred.predict(rows)
            col = next(c for c in p.values.columns if c.lower() == self._timeline_target(task))
            for i in idx:
                r = p.row(str(i))
                v = r["values"].get(col)
                if v is None:
                    errors[f"{starts[i]:g}"] = r["unavailable"] or "no value"
                values[i] = v
        return values, errors

    def _timeline_target(self, task: str) -> str:
        targets = [t.lower() for t in self.model_info[task]["targets"]]
        if task == "engagement":
            return "ecr" if "ecr" in targets else targets[0]
        return targets[0]

    def _timeline(self, inputs, texts, unavailable, stage, full=None) -> dict[str, Any]:
        dur = float(inputs.duration_s) if inputs is not None and inputs.duration_s else 0.0
        n = max(1, int(math.ceil(dur - 1e-6)))
        t = [float(s) for s in range(n)]
        tl: dict[str, Any] = {"t": t, "window_s": 1.0}

        def reads_media(task: str) -> bool:
            p = self.predictors.get(task)
            return p is not None and bool(p.extractors) and getattr(p.model, "timeline_ok", True)

        # quality: the quality model on each second's own features
        if reads_media("quality") and inputs is not None:
            vals, errs = self._per_window("quality", inputs, t, dur, stage, 0.65, 0.85, full)
            tl["quality"] = {"values": vals, "model": self.model_info["quality"]["model"],
                             "kind": self.model_info["quality"]["kind"],
                             "inputs": ["the same features, computed on each 1-s window"]
                             + [f"{n} v{self.extractors[n].version} ({self.extractors[n].modality}: "
                                f"{self.extractors[n].sampler})"
                                + (" — per video: every window reuses the video's values" if self.extractors[n].per_video else "")
                                for n in self.predictors["quality"].extractors if n in self.extractors],
                             "features": dict(self.model_info["quality"].get("feature_spec") or {})}
            if errs:
                tl["quality"]["window_errors"] = errs
        else:
            reason = unavailable.get("mos") or self.problems.get("quality") or "no quality model"
            tl["quality"] = {"values": None, "unavailable": reason}
            unavailable["timeline.quality"] = reason

        # engagement: the first 5 s, second by second (ECR is about views past 5 s)
        first = t[: self.config.first_seconds]
        info = self.model_info.get("engagement")
        if reads_media("engagement") and inputs is not None:
            vals, errs = self._per_window("engagement", inputs, first, dur, stage, 0.85, 0.95, full)
            tl["engagement_first5s"] = {"t": first, "values": vals, "target": self._timeline_target("engagement").upper(),
                                        "model": info["model"], "kind": info["kind"],
                                        "inputs": ["the same features, computed on each 1-s window"]
                                        + list(self.predictors["engagement"].extractors),
                                        "features": dict(info.get("feature_spec") or {})}
            if errs:
                tl["engagement_first5s"]["window_errors"] = errs
        else:
            if info is not None and not reads_media("engagement"):
                reason = (f"the engagement model ({info['model']}, kind {info['kind']}) has no per-second signal "
                          "(it reads title/description or whole-clip signals); a model trained on pooled video "
                          "features from your own watch logs gives one (docs/engagement.md)")
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


# Decoding ahead holds two videos' decoded inputs at once. When the grid is kept (an extractor without a
# grid pass) a long video's grid is large (10 min at 2 frames/s, 360p: ~0.8 GB), so those are decoded in
# turn instead; a streamed grid keeps only the native index and first frames, whatever the length.
PREFETCH_MAX_S = 120.0


def _decode_item(scorer: Scorer, it: ScoreItem) -> Decoded | None:
    """The item's decode, run ahead of its scoring; None when there is nothing to decode, it is long, or it broke."""
    if not it.path:
        return None
    try:
        from reelscore.media import MediaError, probe

        try:
            info = probe(it.path)
        except MediaError as exc:
            return Decoded(error={"code": exc.code, **exc.to_dict()})
        dur = float(info.duration_s or 0.0)
        if not (dur <= PREFETCH_MAX_S) and scorer.analyzer.keeps_grid(list(scorer.extractors), dur, (info.width, info.height)):
            return None
        return scorer.decode(it.path, it.video_id or Path(it.path).stem, _texts(it.title, it.description, it.caption),
                             info=info)
    except Exception:  # scored again (and reported) by _score_item without the prefetch
        log.debug("decode ahead of %s failed", it.path, exc_info=True)
        return None


def _score_item(scorer: Scorer, it: ScoreItem, decoded: Decoded | None = None) -> dict:
    """Score one item; a bug on one input must not end the batch, so it becomes that item's error."""
    if not it.path:
        return {"video_id": it.video_id, "path": None, "ok": False,
                "error": {"code": "not_found", "error": "not_found", "path": None,
                          "message": "the manifest row has no video file"}}
    try:
        return scorer.score(it.path, title=it.title, description=it.description, video_id=it.video_id,
                            caption=it.caption, decoded=decoded)
    except Exception as exc:  # say so loudly, keep going
        log.exception("scoring %s failed", it.path)
        return {"video_id": it.video_id or Path(it.path).stem, "path": it.path, "ok": False,
                "error": {"code": "internal", "error": "internal", "path": it.path,
                          "message": f"{type(exc).__name__}: {exc}"}}


_WORKER: Scorer | None = None


def _init_worker(cfg: dict) -> None:
    global _WORKER
    from reelscore.common.process import die_with_parent
    from reelscore.common.threads import set_compute_threads

    die_with_parent()()  # a killed `score` takes its workers with it (they would finish the queue otherwise)

    set_compute_threads(cfg.get("threads", 1))
    _WORKER = Scorer(ScoreConfig(**cfg)).load()


def _work(it: ScoreItem) -> dict:
    assert _WORKER is not None
    return _score_item(_WORKER, it)


class _RayScorer:
    """A Ray actor holding one Scorer (models loaded once)."""

    def __init__(self, cfg: dict) -> None:
        _init_worker(cfg)

    def score(self, it: ScoreItem) -> dict:
        return _work(it)


def score_many(items: Iterable[ScoreItem], scorer: Scorer | None = None, workers: int = 1, engine: str = "local",
               config: ScoreConfig | None = None, ray_address: str | None = None,
               prefetch: bool = True) -> Iterator[dict]:
    """Score items in input order: in this process (workers 1), a process pool or Ray actors (as `extract`).

    Bad inputs yield their error object and the batch goes on. With workers > 1 each worker loads
    the models once and uses cores // workers threads.
    """
    import os

    items = list(items)
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1 and engine == "local":
        scorer = scorer or (Scorer(config).load() if config is not None else default_scorer())
        if not prefetch or len(items) < 2:
            for it in items:
                yield _score_item(scorer, it)
            return
        from concurrent.futures import ThreadPoolExecutor

        # Decoding (FFmpeg's threads, GIL released) of the next video overlaps this one's extractors:
        # neither fills both cores alone. At most two decoded videos are held at once.
        with ThreadPoolExecutor(1, thread_name_prefix="reelscore-decode") as ex:
            ahead = ex.submit(_decode_item, scorer, items[0])
            for i, it in enumerate(items):
                decoded = ahead.result()
                if i + 1 < len(items):
                    ahead = ex.submit(_decode_item, scorer, items[i + 1])
                yield _score_item(scorer, it, decoded)
        return
    cfg = dataclasses.asdict(config or (scorer.config if scorer is not None else ScoreConfig()))
    cfg["threads"] = max(1, (os.cpu_count() or 1) // workers)
    if engine == "ray":
        try:
            import ray
            from ray.util import ActorPool
        except ImportError as exc:  # pragma: no cover - install problem
            raise RuntimeError("--engine ray needs the `ray` package (pip install 'ray[default]')") from exc
        started = False
        if not ray.is_initialized():
            if ray_address:
                ray.init(address=ray_address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
            started = True
        try:
            actors = [ray.remote(num_cpus=1)(_RayScorer).remote(cfg) for _ in range(workers)]
            yield from ActorPool(actors).map(lambda a, it: a.score.remote(it), items)  # map keeps input order
        finally:
            if started:
                ray.shutdown()
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")  # fork after torch/ONNX threads start is unsafe
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(cfg,)) as ex:
        futs = [ex.submit(_work, it) for it in items]
        for f in futs:  # input order; later results wait in their futures
            yield f.result()


def config_dict(cfg: ScoreConfig) -> dict:
    """The config as a plain dict."""
    return dataclasses.asdict(cfg)
