"""Feature verbs: `reelscore extract` and `reelscore features show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

EXTRACT_HELP = """Extract features for every video of MANIFEST into the feature store --out.

MANIFEST is a CSV `Id,path[,title,description,caption]` (relative paths are taken from --videos-dir, else the manifest's folder), or the SnapUGC layout `Id,Title,Description,...` with `<Id>.mp4` files in --videos-dir.

Default extractors: semantic (EfficientNet-Lite0), technical (weight-free quality descriptors), motion (flow, cuts, pacing), audio (YAMNet, loudness, tempo, speech share), text (MiniLM of title, description, audio tags, caption). Plug-ins that need your weights: clip, r3d18, dover, t5, caption (see the --*-checkpoint / --*-model options). Also built in: coldsignal (the SnapUGC audio/motion hook recipe), bitstream (bits per pixel, encoder QP), nativeq (technical descriptors on native frames, repeated frames), bandstats (band-energy ratios over spatial scales and temporal lags), niqe, piqe, deepstats and fragstats (EfficientNet-Lite0 feature statistics, packaged weights), clip_mean3 (needs --clip-checkpoint).

Each video is decoded once; rows are written per video and extractor, so a rerun skips what is done and an interrupted run resumes. Bad files become error rows (see `reelscore features show`), and the run goes on.

\b
Examples:
  reelscore extract videos.csv --out store/
  reelscore extract train.csv --videos-dir videos/ --out store/ --workers 2
  reelscore extract videos.csv --out store/ --extractors technical,motion --engine ray
"""

SHOW_HELP = """Print a feature store's extractors, coverage (videos with rows per extractor) and its error table.

\b
Examples:
  reelscore features show store/
  reelscore features show store/ --json
"""


def _extract_cmd(
    manifest: Path = typer.Argument(..., help="Manifest CSV (Id,path[,title,description,caption] or SnapUGC Id,Title,Description).", show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Feature store directory (created if missing).", show_default=False),
    extractors: Optional[str] = typer.Option(None, "--extractors", "-e", help="Comma-separated extractor names (default: semantic,technical,motion,audio,text)."),
    workers: int = typer.Option(0, "--workers", "-w", min=0, help="Worker processes (or Ray actors); 0 = auto: one per core once there are two videos per core and memory for ~1 GiB each, else 1."),
    engine: str = typer.Option("local", "--engine", help="local (process pool) or ray."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (default: start a local Ray)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda (for the neural extractors)."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Frames per network batch."),
    precision: str = typer.Option("fp32", "--precision", help="fp32, or fp16 for half-precision networks on a GPU (--device cuda)."),
    threads: int = typer.Option(0, "--threads", min=0, help="Compute threads per worker (0: cores / workers; 1 is fastest on busy machines)."),
    videos_dir: Optional[Path] = typer.Option(None, "--videos-dir", help="Folder of <Id>.mp4 files (SnapUGC layout) or base of relative paths."),
    fps: float = typer.Option(4.0, "--fps", help="Frame-grid rate shared by the frame extractors (frames/s)."),
    short_side: int = typer.Option(360, "--short-side", help="Decode size of the frame grid (short side, pixels)."),
    clip_len: int = typer.Option(16, "--clip-len", help="Grid frames per clip (L)."),
    clip_checkpoint: Optional[Path] = typer.Option(None, "--clip-checkpoint", help="open_clip ViT-B checkpoint (state dict) for the `clip` extractor."),
    r3d18_checkpoint: Optional[Path] = typer.Option(None, "--r3d18-checkpoint", help="torchvision R3D-18 Kinetics-400 state dict for `r3d18`."),
    dover_checkpoint: Optional[Path] = typer.Option(None, "--dover-checkpoint", help="DOVER-style checkpoint for `dover`."),
    t5_model: Optional[Path] = typer.Option(None, "--t5-model", help="Local transformers T5 directory for `t5`."),
    caption_model: Optional[Path] = typer.Option(None, "--caption-model", help="Local transformers BLIP captioning directory for `caption`."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    from reelscore.features.manifest import read_manifest
    from reelscore.features.pipeline import extract
    from reelscore.features.registry import DEFAULT_EXTRACTORS, list_extractors

    names = [n.strip() for n in extractors.split(",") if n.strip()] if extractors else list(DEFAULT_EXTRACTORS)
    unknown = [n for n in names if n not in list_extractors()]
    if unknown:
        raise typer.BadParameter(f"unknown extractor(s) {unknown}; known: {', '.join(list_extractors())}", param_hint="--extractors")
    if engine not in ("local", "ray"):
        raise typer.BadParameter("must be local or ray", param_hint="--engine")
    options: dict[str, dict] = {}
    for name, key, val in (
        ("clip", "checkpoint", clip_checkpoint),
        ("r3d18", "checkpoint", r3d18_checkpoint),
        ("dover", "checkpoint", dover_checkpoint),
        ("t5", "model_dir", t5_model),
        ("caption", "model_dir", caption_model),
    ):
        if val is not None:
            options[name] = {key: str(val)}
    try:
        df = read_manifest(manifest, videos_dir)
        if workers == 0:
            from reelscore.common.process import auto_workers

            workers = auto_workers(len(df), device)
        summary = extract(
            df,
            out,
            extractors=names,
            workers=workers,
            engine=engine,
            device=device,
            batch_size=batch_size,
            precision=precision,
            ray_address=ray_address,
            fps=fps,
            short_side=short_side,
            clip_len=clip_len,
            threads=threads,
            options=options,
        )
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as exc:
        typer.echo(f"reelscore extract: {exc}", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(summary, default=str))
        return
    typer.echo(
        f"{summary['videos']} videos: {summary['done']} extracted, {summary['skipped']} already done, "
        f"{summary['failed']} with errors ({summary['errors']} error rows) in {summary['seconds']:.1f} s "
        f"({summary['videos_per_s']} videos/s); extractors: {', '.join(summary['extractors'])}; store: {summary['store']}"
    )
    for e in summary["error_rows"][:20]:
        typer.echo(f"  error {e['video_id']} [{e['extractor']}] {e['code']}: {e['message']}", err=True)
    if len(summary["error_rows"]) > 20:
        typer.echo(f"  ... {len(summary['error_rows']) - 20} more (reelscore features show {out})", err=True)


def _show_cmd(
    store: Path = typer.Argument(..., help="Feature store directory.", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print coverage and errors as JSON."),
    max_errors: int = typer.Option(50, "--max-errors", help="Error rows to print (table mode)."),
) -> None:
    from rich.console import Console
    from rich.table import Table

    from reelscore.features.store import FeatureStore

    fs = FeatureStore(store)
    if not fs.manifest_path.exists():
        typer.echo(f"reelscore features show: {store}: not a feature store (no store.json)", err=True)
        raise typer.Exit(2)
    cov = fs.coverage()
    errs = fs.errors()
    if as_json:
        typer.echo(json.dumps({"coverage": cov.to_dict("records"), "errors": errs.to_dict("records")}, default=str))
        return
    console = Console()
    t = Table(title=f"feature store {store} ({len(fs.index())} videos)")
    for c in ("extractor", "version", "spec_id", "dim", "clip_dim", "videos", "errors"):
        t.add_column(c)
    for r in cov.to_dict("records"):
        clip_dim = r["clip_dim"]
        t.add_row(
            r["extractor"], str(r["version"]), r["spec_id"], str(r["dim"]),
            "-" if clip_dim is None or clip_dim != clip_dim else str(int(clip_dim)),
            f"{r['videos']}/{r['of']}", str(r["errors"]),
        )
    console.print(t)
    if errs.empty:
        console.print("no errors")
        return
    et = Table(title=f"errors ({len(errs)})")
    for c in ("video_id", "extractor", "code", "message"):
        et.add_column(c, overflow="fold")
    for r in errs.head(max_errors).to_dict("records"):
        et.add_row(str(r["video_id"]), str(r["extractor"]), str(r["code"]), str(r["message"]))
    console.print(et)


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `extract` and the `features` sub-app (`features show`)."""
    app.command("extract", help=EXTRACT_HELP, no_args_is_help=True)(_extract_cmd)
    features_app = typer.Typer(help="Inspect feature stores: `reelscore features show STORE`.", no_args_is_help=True)
    features_app.command("show", help=SHOW_HELP, no_args_is_help=True)(_show_cmd)
    app.add_typer(features_app, name="features")
