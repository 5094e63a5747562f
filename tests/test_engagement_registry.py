"""Model-kind registry: an unloadable kind module is named in the error, not hidden behind "unknown kind"."""

import pytest

from reelscore.models.registry import ModelError, get_kind


def test_unimportable_kind_module_is_named():
    with pytest.raises(ModelError, match=r"unknown model kind engagement/future .*reelscore\.models\.not_here cannot be imported"):
        get_kind("engagement", "future", module="reelscore.models.not_here")


def test_known_kind_resolves_to_its_class():
    cls = get_kind("engagement", "text")
    assert cls.__module__ == "reelscore.models.text_models"
