"""Registry of model kinds and the model-directory format shared by every task.

A model directory holds `model.json`:
    {"task": "engagement"|"quality", "kind": "...", "targets": [...],
     "feature_spec": {extractor: version}, "config": {...}, "val_metrics": {...},
     "label_norm": {...}, ...}
plus the kind's weight files. `load_model(dir)` reads `model.json` and dispatches on
(task, kind) to the class registered with `register_kind`.

Model classes subclass `ModelBase` (or duck-type it): `fit(...)`, `predict(...)`,
`save(dir)`, classmethod `load(dir)`, and `predict_source(store=None, manifest=None)`
which the generic `reelscore predict` calls to get a DataFrame `Id,<targets>`.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from typing import Any

MODEL_JSON = "model.json"
FORMAT_VERSION = 1

_ASSETS = Path(__file__).resolve().parent.parent / "assets" / "models"
# `--model default` (and these aliases) resolve to models shipped inside the package.
DEFAULT_MODELS: dict[str, Path] = {
    "default": _ASSETS / "engagement_default",
    "engagement-default": _ASSETS / "engagement_default",
    "engagement_default": _ASSETS / "engagement_default",
    "quality-default": _ASSETS / "quality_default",
    "quality_default": _ASSETS / "quality_default",
}

_KINDS: dict[tuple[str, str], type] = {}
_SCANNED = False


class ModelError(ValueError):
    """A model directory or its inputs cannot be used (message names the reason)."""


class ModelBase:
    """Base for registered model kinds: holds the model.json fields and the generic predict hook."""

    task: str = "engagement"
    kind: str = ""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.feature_spec: dict[str, Any] = {}
        self.config: dict[str, Any] = {}
        self.val_metrics: dict[str, Any] = {}
        self.label_norm: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}

    def meta(self) -> dict[str, Any]:
        """The model.json content of this model."""
        return {
            "format_version": FORMAT_VERSION,
            "task": self.task,
            "kind": self.kind,
            "targets": list(self.targets),
            "feature_spec": dict(self.feature_spec),
            "config": self.config,
            "val_metrics": self.val_metrics,
            "label_norm": self.label_norm,
            **self.extra,
            # lets load_model import just this module instead of scanning every model module
            "module": type(self).__module__,
        }

    def set_meta(self, meta: dict[str, Any]) -> None:
        """Fill the common fields from a model.json dict."""
        known = {"format_version", "task", "kind", "targets", "feature_spec", "config", "val_metrics", "label_norm", "module"}
        self.targets = list(meta.get("targets", []))
        self.feature_spec = dict(meta.get("feature_spec", {}))
        self.config = dict(meta.get("config", {}))
        self.val_metrics = dict(meta.get("val_metrics", {}))
        self.label_norm = dict(meta.get("label_norm", {}))
        self.extra = {k: v for k, v in meta.items() if k not in known}

    def predict_source(self, store=None, manifest=None):  # pragma: no cover - per-kind
        """Predict from a FeatureStore and/or a manifest DataFrame → DataFrame `Id,<targets>`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement predict_source")


def register_kind(task: str, kind: str, cls: type) -> None:
    """Register model class `cls` under (task, kind); re-registering the same class is a no-op."""
    key = (task, kind)
    old = _KINDS.get(key)
    if old is not None and old is not cls and old.__qualname__ != cls.__qualname__:
        raise ValueError(f"model kind {task}/{kind} already registered by {old.__module__}.{old.__qualname__}")
    _KINDS[key] = cls


def _scan() -> None:
    """Import every reelscore.models submodule once so that their register_kind calls run."""
    global _SCANNED
    if _SCANNED:
        return
    _SCANNED = True
    import reelscore.models as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name in {"registry", "losses"}:
            continue
        try:
            importlib.import_module(f"reelscore.models.{info.name}")
        except ImportError:
            # A kind whose optional dependency is missing simply is not available.
            continue


_BUILTIN = {
    ("engagement", "text"): "reelscore.models.text_models",
    ("engagement", "ridge"): "reelscore.models.light",
    ("engagement", "gbdt"): "reelscore.models.light",
    ("engagement", "net"): "reelscore.models.engagement_net",
    ("engagement", "fused"): "reelscore.models.fused",
}


def get_kind(task: str, kind: str, module: str | None = None) -> type:
    """The class registered for (task, kind); clear error listing known kinds otherwise."""
    missing_dep = ""
    if (task, kind) not in _KINDS:
        mod = module or _BUILTIN.get((task, kind))
        # only our own model modules are imported by name (model.json is data, not code to run)
        if mod and mod.startswith("reelscore.models."):
            try:
                importlib.import_module(mod)
            except ImportError as exc:
                # kept for the error below: "unknown kind" alone would hide a missing package
                missing_dep = f" ({mod} cannot be imported: {exc})"
    if (task, kind) not in _KINDS:
        _scan()
    try:
        return _KINDS[(task, kind)]
    except KeyError:
        known = ", ".join(f"{t}/{k}" for t, k in sorted(_KINDS)) or "none"
        raise ModelError(f"unknown model kind {task}/{kind}{missing_dep}; known: {known}") from None


def list_kinds() -> list[tuple[str, str]]:
    """All registered (task, kind) pairs."""
    _scan()
    return sorted(_KINDS)


def resolve_model_dir(spec: str | Path) -> Path:
    """A model directory from a path or a shipped-model alias (`default`, `quality-default`)."""
    s = str(spec)
    if s in DEFAULT_MODELS:
        path = DEFAULT_MODELS[s]
        if not (path / MODEL_JSON).is_file():
            raise ModelError(f"--model {s}: the shipped model is missing from the package ({path})")
        return path
    path = Path(s).expanduser()
    if not path.exists():
        raise ModelError(f"--model {s}: no such model directory")
    if not (path / MODEL_JSON).is_file():
        raise ModelError(f"--model {s}: not a model directory (no {MODEL_JSON})")
    return path


def read_model_json(model_dir: str | Path) -> dict[str, Any]:
    """Read and check a model directory's model.json."""
    path = Path(model_dir) / MODEL_JSON
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{model_dir}: not a model directory (no {MODEL_JSON})") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: invalid JSON: {exc}") from None
    for key in ("task", "kind", "targets"):
        if key not in meta:
            raise ModelError(f"{path}: missing field {key!r}")
    return meta


def write_model_json(model_dir: str | Path, meta: dict[str, Any]) -> Path:
    """Write model.json (atomically) into `model_dir`."""
    from reelscore.common.atomic import write_text_atomic
    from reelscore.common.jsonsafe import json_default

    return write_text_atomic(Path(model_dir) / MODEL_JSON, json.dumps(meta, indent=2, default=json_default) + "\n")


def load_model(model_dir: str | Path):
    """Load the model stored in `model_dir` (a path or a shipped alias), dispatching on task/kind."""
    path = resolve_model_dir(model_dir)
    meta = read_model_json(path)
    cls = get_kind(meta["task"], meta["kind"], meta.get("module"))
    return cls.load(path)
