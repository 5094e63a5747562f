"""`reelscore evaluate`: official challenge scores (evqa, kvq/ntire2024, snapugc) with intervals and a report."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer


def _parse_range(text: Optional[str]):
    if text is None:
        return "default"
    if text.strip().lower() in ("none", "off", "no"):
        return None
    try:
        lo, hi = (float(x) for x in text.replace(":", ",").split(","))
    except ValueError:
        raise typer.BadParameter(f"--range wants LOW,HIGH or 'none', got {text!r}") from None
    if not lo < hi:
        raise typer.BadParameter(f"--range wants LOW < HIGH, got {text!r}")
    return (lo, hi)


def _parse_edges(text: Optional[str]):
    from reelscore.evaluation.metrics import DEFAULT_DURATION_EDGES

    if text is None:
        return DEFAULT_DURATION_EDGES
    try:
        edges = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter(f"--duration-bins wants comma-separated seconds, got {text!r}") from None
    if not edges or any(b <= a for a, b in zip(edges[:-1], edges[1:])):
        raise typer.BadParameter(f"--duration-bins must be strictly increasing, got {text!r}")
    return edges


def _fmt(v) -> str:
    return "NaN" if v is None or not math.isfinite(v) else f"{v:.4f}"


def _print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    level = int(round(result["settings"]["ci_level"] * 100))
    table = Table(title=f"{result['title']} — {result['n_items']} items", title_justify="left")
    table.add_column("target")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column(f"{level} % interval", justify="right")
    for t, entry in result["targets"].items():
        for name, m in entry["metrics"].items():
            table.add_row(t, name, _fmt(m["value"]), f"[{_fmt(m['ci'][0])}, {_fmt(m['ci'][1])}]")
        for g in entry.get("duration_groups") or []:
            table.add_row(t, f"  SRCC {g['label']} (n={g['n']})", _fmt(g["srcc"]), "")
    for name, m in (result.get("pairs") or {}).items():
        table.add_row("pairs", f"{name} ({m['kind']}, {m['n_pairs']} pairs)", _fmt(m["value"]),
                      f"[{_fmt(m['ci'][0])}, {_fmt(m['ci'][1])}]")
    if result.get("final"):
        f = result["final"]
        table.add_row("[bold]final[/bold]", f["formula"], f"[bold]{_fmt(f['value'])}[/bold]",
                      f"[{_fmt(f['ci'][0])}, {_fmt(f['ci'][1])}]")
    console = Console()
    console.print(table)
    if not result.get("final"):
        console.print("This protocol defines no combined final score.", style="dim")
    s = result["settings"]
    console.print(
        f"ids matched {result['id_matching']}; bootstrap {s['bootstrap']} resamples (seed {s['seed']}); "
        f"PLCC mapping {s['plcc_mapping']}; final uses raw SRCC/PLCC.",
        style="dim",
    )


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add the `evaluate` verb."""

    @app.command("evaluate")
    def evaluate_cmd(
        protocol: str = typer.Option(..., "--protocol", "-p", help="evqa | kvq (alias ntire2024) | snapugc."),
        pred: Path = typer.Option(..., "--pred", help="Prediction CSV (evqa: Id,ECR; kvq: filename,score; snapugc: Id,NAWP,ECR)."),
        truth: Path = typer.Option(..., "--truth", help="Ground-truth CSV in the same layout."),
        pairs: Optional[Path] = typer.Option(None, "--pairs", help="Rank pairs: official xlsx (sheets source/nonsource) or CSV video1,video2,better,homologous."),
        durations: Optional[Path] = typer.Option(None, "--durations", help="CSV Id,duration_s for the duration-grouped SRCC."),
        report: Optional[Path] = typer.Option(None, "--report", help="Write metrics.json, PNG plots and index.html into this directory."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON instead of a table."),
        bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples for the 95 % intervals (0: none)."),
        seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
        top_k: float = typer.Option(10.0, "--top-k-percent", help="K for RMSE over the top K % by true value."),
        top_k_old: Optional[float] = typer.Option(None, "--top-k", hidden=True, help="Deprecated spelling of --top-k-percent."),
        duration_bins: Optional[str] = typer.Option(None, "--duration-bins", help="Duration bin edges in seconds, e.g. '10,20,30,40,50' (the default)."),
        plcc_mapping: str = typer.Option("logistic4", "--plcc-mapping", help="Extra mapped PLCC: logistic4 | none (finals always use raw PLCC)."),
        value_range: Optional[str] = typer.Option(None, "--range", help="Label range LOW,HIGH, or 'none' (default: the protocol's); values outside it are a warning."),
        strict: bool = typer.Option(False, "--strict", help="Check a submission as an organiser would: values outside the range and ids not in the truth are errors, not warnings."),
    ) -> None:
        """Score predictions against the truth under an official protocol: every metric, its interval, the final score.

        \b
        Examples:
          reelscore evaluate --protocol evqa --pred pred.csv --truth truth.csv
          reelscore evaluate --protocol evqa --pred pred.csv --truth truth.csv --strict
          reelscore evaluate --protocol kvq --pred pred.csv --truth labels.csv --pairs pairs.csv --report report/
          reelscore evaluate --protocol snapugc --pred pred.csv --truth labels.csv --durations durations.csv --json
        """
        import json
        import sys
        import warnings

        from reelscore.evaluation import SubmissionError, evaluate, to_jsonable

        vr = _parse_range(value_range)
        edges = _parse_edges(duration_bins)
        if top_k_old is not None:
            typer.echo("reelscore evaluate: --top-k is deprecated, use --top-k-percent (a percentage)", err=True)
            top_k = top_k_old
        if not 0 < top_k <= 100:
            raise typer.BadParameter("--top-k-percent must be in (0, 100]")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # collected into result["warnings"], printed below
                result = evaluate(
                    protocol, pred, truth, pairs=pairs, durations=durations, report_dir=report,
                    n_boot=bootstrap, seed=seed, top_k=top_k, duration_edges=edges,
                    plcc_mapping=plcc_mapping, value_range=vr, progress=True, strict=strict,
                )
        except SubmissionError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        if as_json:
            sys.stdout.write(json.dumps(to_jsonable(result), indent=2, allow_nan=False) + "\n")
        else:
            _print_table(result)
        for w in result["warnings"]:
            typer.echo(f"warning: {w}", err=True)
        if report is not None:
            typer.echo(f"report: {report / 'index.html'}", err=True)
