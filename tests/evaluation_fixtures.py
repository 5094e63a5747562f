"""Helpers for the evaluation tests: write tiny score files and a CLI runner over the evaluation verb only."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner


def write(path: Path, text: str) -> Path:
    """Write `text` (dedented lines) to `path` and return it."""
    path.write_text("\n".join(line.strip() for line in text.strip().splitlines()) + "\n", encoding="utf-8")
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    """Write an xlsx workbook with the given sheets of rows."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def eval_app() -> typer.Typer:
    """A Typer app with only the evaluation verb registered (isolated from other areas)."""
    from reelscore.commands.evaluation import register

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register(app, typer.Typer())
    return app


def run_cli(*args: str):
    """Invoke `evaluate ARGS` and return the click Result (stdout and stderr kept apart)."""
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 always separates the streams
        runner = CliRunner()
    return runner.invoke(eval_app(), ["evaluate", *args])
