"""load_config / read_yaml_mapping: YAML into dataclasses, one clear error per bad file."""

from dataclasses import dataclass

import pytest

from reelscore.common.config import load_config, read_yaml_mapping


@dataclass
class _Cfg:
    lr: float = 1e-3
    layers: int = 2


def test_yaml_then_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("lr: 0.01\nlayers: 4\n", encoding="utf-8")
    assert load_config(_Cfg, p, layers=8, lr=None) == _Cfg(lr=0.01, layers=8)
    assert load_config(_Cfg, None) == _Cfg()


@pytest.mark.parametrize(
    "text, reason",
    [(None, "config file not found"), ("- 1\n- 2\n", "must be a YAML mapping, not list"), ("a: [1,\n", "not valid YAML")],
)
def test_bad_files_name_the_file_and_reason(tmp_path, text, reason):
    p = tmp_path / "c.yaml"
    if text is not None:
        p.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=reason) as info:
        read_yaml_mapping(p)
    assert str(info.value).startswith(str(p))


def test_unknown_key_is_rejected(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("lr: 0.1\ndepth: 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown config keys \['depth'\]"):
        load_config(_Cfg, p)


def test_empty_file_is_defaults(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("", encoding="utf-8")
    assert read_yaml_mapping(p) == {} and load_config(_Cfg, p) == _Cfg()


def test_values_are_checked_against_their_types(tmp_path):
    """YAML reads `1e-4` as a string; it becomes a float. `ten` for an int is one line naming key, file, type."""
    from reelscore.common.config import load_config
    from reelscore.training.trainer import TrainConfig

    good = tmp_path / "ok.yaml"
    good.write_text("lr: 1e-4\nepochs: 3\n")
    cfg = load_config(TrainConfig, good)
    assert cfg.lr == 1e-4 and isinstance(cfg.lr, float)
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: ten\n")
    with pytest.raises(ValueError) as ei:
        load_config(TrainConfig, bad)
    msg = str(ei.value)
    assert str(bad) in msg and "'epochs'" in msg and "int" in msg and "'ten'" in msg and "\n" not in msg
