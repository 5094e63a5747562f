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


def _command(verb: list[str]):
    import typer.main
    from typer import _click as click  # Typer 0.29 carries its own click

    cmd = typer.main.get_command(app)
    for name in verb:
        cmd = cmd.get_command(click.Context(cmd), name)
    return cmd


def _examples(cmd) -> list[str]:
    """The example command lines of a verb's docstring (continuation lines ending in a backslash joined)."""
    text = cmd.help.split("Examples:", 1)[1]
    out: list[str] = []
    for ln in text.splitlines():
        ln = ln.strip()
        if not ln or ln == "\b":
            if out:
                break
            continue
        if out and out[-1].endswith("\\"):
            out[-1] = out[-1][:-1] + " " + ln
        elif ln.startswith("reelscore "):
            out.append(ln)
        else:
            break
    return out


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_every_help_example_parses_with_the_verbs_own_options(verb):
    """Each example line is parsed by the verb itself (option names, types, ranges, arity): a renamed or
    mistyped option in an example fails here. The work is not run (the examples name the user's files)."""
    import shlex

    from typer import _click as click

    cmd = _command(verb)
    examples = _examples(cmd)
    assert examples, verb
    for ex in examples:
        words = shlex.split(ex.split(" #", 1)[0])[1:]
        # an example may show a neighbouring step of the workflow (e.g. `extract` before `train quality`)
        path = words[:2] if words[0] == "train" else words[:1]
        target = _command(path)
        assert target is not None, f"{ex}: no verb {' '.join(path)!r}"
        try:
            target.make_context(target.name, words[len(path):])
        except click.exceptions.BadParameter as exc:
            # path checks (exists=True) are about the reader's files, not the example's spelling
            assert "does not exist" in str(exc), f"{ex}: {exc}"
        except click.exceptions.UsageError as exc:
            raise AssertionError(f"{ex}: {exc}") from None


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_flags_show_no_type(verb):
    r = CliRunner().invoke(app, [*verb, "--help"], terminal_width=200)
    assert "<bool>" not in r.output
