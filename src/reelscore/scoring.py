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

log = logging.getLogger("reelscore.scoring")

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".ts", ".3gp", ".flv", ".ogv"}
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


def _json_safe(obj: Any) -> Any:
    """Plain JSON types only: numpy scalars/arrays to Python, NaN/inf to None."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return _json_safe(obj.tolist())
    return obj


def _na(reason: str) -> dict[str, Any]:
    return {"value": None, "unavailable": reason}


class Scorer:
    """The default extractors and models, loaded once; `score()` per video."""

    def __init__(self, config: ScoreConfig | None = None):
        self.config = config or ScoreConfig()
        self._loaded = False
        self.problems: dict[str, str] = {}  # part -> why it cannot run in this install
        self.engagement = None
        self.engagement_info: dict[str, Any] | None = None
        self.quality = None
        self.quality_info: dict[str, Any] | None = None

    # ---- loading --------------------------------------------------------------
    def load(self) -> "Scorer":
        """Load models (idempotent); parts that cannot load are recorded in `problems`."""
        if self._loaded:
            return self
        self._loaded = True
        try:
            import reelscore.media  # noqa: F401
        except ImportError as exc:
            self.problems["media"] = f"reelscore.media is not available: {exc}"
        self.engagement, self.engagement_info = self._load_model("engagement", self.config.engagement_model)
        self.quality, self.quality_info = self._load_model("quality", self.config.quality_model)
        return self

    def _load_model(self, task: str, spec: str):
        try:
            from reelscore.models.registry import load_model, read_model_json, resolve_model_dir

            path = resolve_model_dir(spec)
            meta = read_model_json(path)
            model = load_model(path)
        except Exception as exc:  # a missing or unloadable model is a reported gap, not a crash
            self.problems[task] = f"{task} model {spec!r} unavailable: {exc}"
            return None, None
        if meta.get("task") != task:
            self.problems[task] = f"{spec!r} is a {meta.get('task')} model, not a {task} model"
            return None, None
        info = {
            "model": spec if not Path(spec).exists() else str(path),
            "dir": str(path),
            "task": meta.get("task"),
            "kind": meta.get("kind"),
            "targets": meta.get("targets"),
            "feature_spec": meta.get("feature_spec"),
            "val_metrics": meta.get("val_metrics"),
        }
        return model, _json_safe(info)

    def parts(self) -> dict[str, Any]:
        """What this scorer can produce, and why not where it cannot."""
        self.load()
        return {"problems": dict(self.problems), "engagement": self.engagement_info, "quality": self.quality_info}

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
        """Score one video; never raises for a bad input (the error is in the result)."""
        self.load()
        stage = on_stage or (lambda _s, _f: None)
        path = Path(path)
        t0 = time.perf_counter()
        timing: dict[str, float] = {}
        texts = {k: v for k, v in (("title", title), ("description", description), ("caption", caption))
                 if isinstance(v, str) and v.strip()}
        out: dict[str, Any] = {
            "video_id": video_id or path.stem,
            "path": str(path),
            "ok": False,
            "title": title,
            "description": description,
            "version": __version__,
        }
        if "media" in self.problems:
            out["error"] = {"code": "unavailable", "error": "unavailable", "path": str(path),
                            "message": self.problems["media"]}
            return out
        from reelscore.media import MediaError, probe

        stage("probing", 0.0)
        try:
            info = probe(path)
        except MediaError as exc:
            out["error"] = {"code": exc.code, **exc.to_dict()}
            return out
        timing["probe"] = time.perf_counter() - t0
        out["info"] = _json_safe({k: v for k, v in info.to_dict().items() if k != "path"})

        unavailable: dict[str, str] = {}
        scores: dict[str, Any] = {}
        stage("engagement", 0.6)
        t1 = time.perf_counter()
        scores.update(self._engagement(texts, unavailable))
        timing["engagement"] = time.perf_counter() - t1
        stage("quality", 0.8)
        t1 = time.perf_counter()
        scores["mos"] = self._quality(unavailable)
        timing["quality"] = time.perf_counter() - t1

        out["ok"] = True
        out["scores"] = scores
        out["timeline"] = self._timeline(info.duration_s, unavailable)
        out["audio_tags"] = {"values": None, "unavailable": self._features_gap()}
        out["semantic_classes"] = {"values": None, "unavailable": self._features_gap()}
        unavailable.setdefault("audio_tags", self._features_gap())
        unavailable.setdefault("semantic_classes", self._features_gap())
        out["models"] = {k: v for k, v in (("engagement", self.engagement_info), ("quality", self.quality_info)) if v}
        out["unavailable"] = unavailable
        timing["total"] = time.perf_counter() - t0
        out["timing_s"] = {k: round(v, 4) for k, v in timing.items()}
        stage("done", 1.0)
        return _json_safe(out)

    def _features_gap(self) -> str:
        return "the feature extractors (reelscore.features.pipeline) are not available in this build yet"

    def _engagement(self, texts: dict[str, str], unavailable: dict[str, str]) -> dict[str, Any]:
        if self.engagement is None:
            reason = self.problems.get("engagement", "no engagement model")
            unavailable["ecr"] = unavailable["nawp"] = reason
            return {"ecr": _na(reason), "nawp": _na(reason)}
        meta = self.engagement_info or {}
        targets = [t.lower() for t in meta.get("targets") or []]
        results: dict[str, Any] = {}
        if meta.get("kind") == "text":
            import pandas as pd

            used = [f for f in self.engagement.text_cfg.fields if f in texts]
            if not used:
                reason = (f"the engagement model ({meta.get('model')}, kind text) reads only "
                          f"{' and '.join(self.engagement.text_cfg.fields)}; none was given")
                for t in ("ecr", "nawp"):
                    results[t] = _na(reason)
                    unavailable[t] = reason
                return results
            frame = pd.DataFrame([{f: texts.get(f) for f in ("title", "description", "caption")}])
            pred = self.engagement.predict(frame)
            for t in ("ecr", "nawp"):
                col = next((c for c in pred.columns if c.lower() == t), None)
                if col is None:
                    reason = f"the engagement model ({meta.get('model')}) does not predict {t.upper()}"
                    results[t] = _na(reason)
                    unavailable[t] = reason
                    continue
                results[t] = {"value": float(pred[col].iloc[0]), "model": meta.get("model"),
                              "kind": meta.get("kind"), "inputs": [f"text:{f}" for f in used],
                              "features": list((meta.get("feature_spec") or {}).keys()) + ["handmade-text"]}
            return results
        reason = (f"engagement model kind {meta.get('kind')!r} needs video features, "
                  f"which this build cannot extract yet")
        for t in ("ecr", "nawp"):
            results[t] = _na(reason)
            unavailable[t] = reason
        _ = targets
        return results

    def _quality(self, unavailable: dict[str, str]) -> dict[str, Any]:
        reason = self.problems.get("quality") or self._features_gap()
        unavailable["mos"] = reason
        return _na(reason)

    def _timeline(self, duration_s: float, unavailable: dict[str, str]) -> dict[str, Any]:
        n = max(1, int(math.ceil(duration_s - 1e-6)))
        t = [float(s) for s in range(n)]
        q_reason = self.problems.get("quality") or self._features_gap()
        e_reason = "no time-resolved engagement signal in this build"
        if self.engagement_info and self.engagement_info.get("kind") == "text":
            e_reason = "the engagement model reads title/description only: it has no per-second signal"
        unavailable["timeline.quality"] = q_reason
        unavailable["timeline.engagement_first5s"] = e_reason
        return {"t": t, "quality": {"values": None, "unavailable": q_reason},
                "engagement_first5s": {"values": None, "unavailable": e_reason}}


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
    items: list[ScoreItem] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            kids = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in VIDEO_SUFFIXES)
            items.extend(ScoreItem(str(q)) for q in kids)
        else:
            items.append(ScoreItem(str(p)))  # a missing file is reported by probe as not_found
    return items


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
