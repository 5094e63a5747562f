"""cache_dir: one place decides where reelscore caches things."""

from pathlib import Path

from reelscore.common.cache import cache_dir, model_cache_dir


def test_env_moves_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("REELSCORE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    assert cache_dir("models", "x.onnx") == tmp_path / "models" / "x.onnx"
    assert not (tmp_path / "models").exists()


def test_empty_env_is_the_home_cache_not_the_cwd(monkeypatch):
    monkeypatch.setenv("REELSCORE_CACHE", "")
    assert cache_dir() == Path.home() / ".cache" / "reelscore"


def test_model_exports_follow_the_cache_unless_moved_on_their_own(monkeypatch, tmp_path):
    monkeypatch.delenv("REELSCORE_MODEL_CACHE", raising=False)
    monkeypatch.setenv("REELSCORE_CACHE", str(tmp_path / "c"))
    assert model_cache_dir() == tmp_path / "c" / "models"
    monkeypatch.setenv("REELSCORE_MODEL_CACHE", str(tmp_path / "m"))
    assert model_cache_dir() == tmp_path / "m"
