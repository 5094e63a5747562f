"""Registry of extractors: `get_extractor(name, **cfg)`, `list_extractors()`, `DEFAULT_EXTRACTORS`."""

from __future__ import annotations

import importlib

from reelscore.features.base import Extractor

DEFAULT_EXTRACTORS = ["semantic", "technical", "motion", "audio", "text"]

# name → "module:Class"; modules load lazily so listing stays cheap.
_REGISTRY: dict[str, str] = {
    "semantic": "reelscore.features.semantic:SemanticExtractor",
    "technical": "reelscore.features.technical:TechnicalExtractor",
    "motion": "reelscore.features.motion:MotionExtractor",
    "audio": "reelscore.features.audio:AudioExtractor",
    "text": "reelscore.features.text:TextExtractor",
    "coldsignal": "reelscore.features.coldsignal:ColdSignalExtractor",
    "clip_mean3": "reelscore.features.clip_mean3:ClipMean3Extractor",
    "deepstats": "reelscore.features.deepstats:DeepStatsExtractor",
    "bitstream": "reelscore.features.bitstream:BitstreamExtractor",
    "fragstats": "reelscore.features.deepstats:FragStatsExtractor",
    "nativeq": "reelscore.features.nativeq:NativeQualityExtractor",
    "niqe": "reelscore.features.niqe:NiqeExtractor",
    "bandstats": "reelscore.features.bandstats:BandStatsExtractor",
    "sharpmap": "reelscore.features.sharpmap:SharpMapExtractor",
    "piqe": "reelscore.features.piqe:PiqeExtractor",
    "clip": "reelscore.features.clip_vit:ClipExtractor",
    "r3d18": "reelscore.features.r3d18:R3D18Extractor",
    "dover": "reelscore.features.dover:DoverExtractor",
    "t5": "reelscore.features.t5:T5Extractor",
    "caption": "reelscore.features.caption:CaptionExtractor",
}


def register_extractor(name: str, target: str | type[Extractor]) -> None:
    """Add an extractor class (or a "module:Class" string) under `name`."""
    if isinstance(target, type):
        target = f"{target.__module__}:{target.__qualname__}"
    _REGISTRY[name] = target


def extractor_class(name: str) -> type[Extractor]:
    """The class registered under `name` (KeyError listing the known names)."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown extractor {name!r}; known: {', '.join(list_extractors())}")
    mod, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(mod), cls)


def get_extractor(name: str, **cfg) -> Extractor:
    """Build extractor `name` with its config (unknown keys are a clear error)."""
    return extractor_class(name)(**cfg)


def list_extractors() -> list[str]:
    """All registered extractor names (defaults first)."""
    return DEFAULT_EXTRACTORS + sorted(n for n in _REGISTRY if n not in DEFAULT_EXTRACTORS)


def resolve_order(names: list[str]) -> list[str]:
    """Add the extractors that the requested ones read (e.g. text needs audio tags) and order them."""
    out: list[str] = []

    def visit(n: str, stack: tuple[str, ...] = ()) -> None:
        if n in out:
            return
        if n in stack:
            raise ValueError(f"extractor dependency cycle: {' -> '.join(stack + (n,))}")
        for dep in extractor_class(n).requires:
            visit(dep, stack + (n,))
        out.append(n)

    # caption (when asked for) feeds text, so it runs before it
    for n in sorted(names, key=lambda n: (n != "caption",)):
        visit(n)
    return out
