"""Models: every kind in the registry (text, light, fused, EngagementNet, KSVQE-style), the one Predictor, losses.

Every model kind registers itself in `reelscore.models.registry` and is stored as a
model directory (`model.json` + weight files) that `reelscore predict` can load.
"""

from reelscore.models.registry import (
    ModelBase,
    get_kind,
    list_kinds,
    load_model,
    read_model_json,
    register_kind,
    resolve_model_dir,
    write_model_json,
)

__all__ = [
    "ModelBase",
    "get_kind",
    "list_kinds",
    "load_model",
    "read_model_json",
    "register_kind",
    "resolve_model_dir",
    "write_model_json",
]
