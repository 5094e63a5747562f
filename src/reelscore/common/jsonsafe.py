"""Conversion of results to strict-JSON values (the one copy every stage uses)."""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any


def json_safe(obj: Any) -> Any:
    """`obj` with numpy scalars/arrays as Python values, NaN/inf as None, paths and dict keys as str."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    # numpy arrays and scalars (and tensors) by duck type, so importing this never pulls numpy in
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return json_safe(obj.tolist())
    if isinstance(obj, float):
        # json.dumps(allow_nan=False) rejects these; None is what strict JSON readers get instead.
        return obj if math.isfinite(obj) else None
    if isinstance(obj, PurePath):
        return str(obj)
    return obj


def json_default(obj: Any) -> Any:
    """`default=` hook for json.dumps: numpy scalars/arrays and paths; NaN is left to json.dumps (files we read back ourselves)."""
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return obj.tolist()
    if isinstance(obj, PurePath):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
