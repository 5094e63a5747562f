"""Every verb's --help shows usage examples (the foundation issue asks for per-verb help with examples)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from reelscore.cli import app

VERBS = [["probe"], ["make-test-media"], ["labels"], ["simulate-views"], ["extract"], ["features", "show"],
         ["evaluate"], ["predict"], ["degrade"], ["mos"], ["score"], ["serve"],
         ["train", "engagement"], ["train", "quality"]]


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_verb_help_has_examples(verb):
    r = CliRunner().invoke(app, [*verb, "--help"], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert "Examples:" in r.output
    first = r.output.split("Examples:", 1)[1].strip().splitlines()[0].strip()
    assert first.startswith(("reelscore ", "curl ")), first
