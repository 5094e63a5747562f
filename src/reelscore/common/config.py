"""Explicit configuration: dataclasses that load from and dump to YAML/dicts."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def config_to_dict(cfg: Any) -> dict:
    """Return a plain dict (JSON/YAML-safe) of a dataclass config."""
    return dataclasses.asdict(cfg)


def _field_types(cls: type) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(cls)
    except Exception:  # an unresolvable annotation: values are passed on unchecked
        return {}


def config_from_dict(cls: type[T], data: dict | None, source: str | None = None) -> T:
    """Build dataclass `cls` from a dict: unknown keys and values of the wrong type are one clear error.

    Values are validated (and coerced where unambiguous, e.g. YAML's string `1e-4` to a float) with
    pydantic against the field's annotation; the error names the key, the file (`source`) and what was
    expected.
    """
    data = dict(data or {})
    names = {f.name for f in dataclasses.fields(cls)}
    where = f"{source}: " if source else ""
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where}{cls.__name__}: unknown config keys {unknown}; known: {sorted(names)}")
    hints = _field_types(cls)
    if hints:
        from pydantic import TypeAdapter, ValidationError

        for key, value in list(data.items()):
            hint = hints.get(key)
            if hint is None or hint is Any or dataclasses.is_dataclass(hint):
                continue
            try:
                data[key] = TypeAdapter(hint).validate_python(value)
            except ValidationError as exc:
                first = exc.errors()[0]
                want = getattr(hint, "__name__", None) if isinstance(hint, type) else str(hint).replace("typing.", "")
                raise ValueError(f"{where}{cls.__name__}: key {key!r}: expected {want}, got {value!r} "
                                 f"({first.get('msg', 'invalid')})") from None
            except Exception:  # a type pydantic cannot build a validator for: leave the value as given
                continue
    return cls(**data)


def read_yaml_mapping(path: str | os.PathLike | None) -> dict:
    """The YAML mapping in `path` ({} for None or an empty file); ValueError naming the file otherwise."""
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: config must be a YAML mapping, not {type(loaded).__name__}")
    return loaded


def load_config(cls: type[T], path: str | os.PathLike | None, **overrides: Any) -> T:
    """Load dataclass `cls` from a YAML file (or defaults), then apply non-None overrides."""
    data = read_yaml_mapping(path)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return config_from_dict(cls, data, source=str(path) if path is not None else None)


def dump_config(cfg: Any, path: str | os.PathLike) -> None:
    """Write a dataclass config as YAML (atomically)."""
    from reelscore.common.atomic import write_text_atomic

    write_text_atomic(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
