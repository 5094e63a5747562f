"""json_safe: strict-JSON values from numpy/Python results."""

import json
import math
from pathlib import Path

import numpy as np

import pytest

from reelscore.common.jsonsafe import json_default, json_safe


def test_numpy_values_become_python_and_nonfinite_none():
    obj = {
        "f": np.float32(0.5),
        "i": np.int64(7),
        "b": np.bool_(True),
        "nan": float("nan"),
        "inf": np.float64(np.inf),
        "arr": np.array([[1.0, math.nan], [2.0, 3.0]]),
        "path": Path("/x/y.mp4"),
        3: ("a", np.int8(-1)),
    }
    out = json_safe(obj)
    assert out == {
        "f": 0.5,
        "i": 7,
        "b": True,
        "nan": None,
        "inf": None,
        "arr": [[1.0, None], [2.0, 3.0]],
        "path": "/x/y.mp4",
        "3": ["a", -1],
    }
    assert type(out["i"]) is int and type(out["b"]) is bool and type(out["f"]) is float
    json.dumps(out, allow_nan=False)


def test_plain_values_pass_through():
    assert json_safe({"s": "x", "n": None, "k": 1, "l": [True, 2.5]}) == {"s": "x", "n": None, "k": 1, "l": [True, 2.5]}


def test_json_default_hook_converts_numpy_and_paths_only():
    text = json.dumps({"a": np.arange(2), "b": np.float32(1.5), "p": Path("m/x")}, default=json_default, sort_keys=True)
    assert text == '{"a": [0, 1], "b": 1.5, "p": "m/x"}'
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        json.dumps({"o": object()}, default=json_default)
