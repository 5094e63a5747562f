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


def config_from_dict(cls: type[T], data: dict | None) -> T:
    """Build dataclass `cls` from a dict, rejecting unknown keys with a clear error."""
    data = dict(data or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown config keys {unknown}; known: {sorted(names)}")
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
    return config_from_dict(cls, data)


def dump_config(cfg: Any, path: str | os.PathLike) -> None:
    """Write a dataclass config as YAML (atomically)."""
    from reelscore.common.atomic import write_text_atomic

    write_text_atomic(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
