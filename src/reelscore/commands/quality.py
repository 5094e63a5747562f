"""Quality verbs: `degrade` (KVQ-style processed sets), `mos` (ratings → cleaned MOS), `train quality`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code=2)


def degrade_cmd(
    sources: List[Path] = typer.Argument(..., help="Source videos (the 'uploads')."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (videos/, labels.csv, pairs.csv, manifest.csv)."),
    per_source: int = typer.Option(6, "--per-source", help="Processed versions per source (QP intervals used in turn)."),
    seed: int = typer.Option(0, "--seed", help="Random seed for workflows, enhancements and QPs."),
    label: str = typer.Option("vmaf", "--label", help="vmaf: full-reference VMAF/PSNR/SSIM + MOS proxy; none: no labels."),
    workers: int = typer.Option(1, "--workers", help="Videos processed in parallel."),
    preset: str = typer.Option("veryfast", "--preset", help="x264 preset."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Re-encode and re-label even when outputs exist."),
    capture: int = typer.Option(0, "--capture", min=0, help="Extra capture+transcode versions per source: defocus, motion blur, sensor noise, under/over-exposure, down-up scaling, frame drops."),
    max_duration_s: Optional[float] = typer.Option(None, "--max-duration-s", min=0.1, help="Use only the first N seconds of each source."),
    label_max_side: int = typer.Option(1280, "--label-max-side", min=0, help="Full-reference labels with the longer side capped at this many pixels (0: native size)."),
    label_runs: int = typer.Option(6, "--label-runs", min=0, help="Runs of 3 consecutive frames spread over the video that the labels are computed on (0: every frame)."),
    no_label_cache: bool = typer.Option(False, "--no-label-cache", help="Recompute labels instead of reading ~/.cache/reelscore/fullref."),
) -> None:
    """Apply KVQ workflows (transcode; enhance+transcode; enhance+pre-process+transcode) to each source.

    \b
    Examples:
      reelscore degrade sources/*.mp4 --out processed/ --per-source 6
      reelscore degrade clip.mp4 --out processed/ --per-source 2 --label none
      reelscore degrade sources/*.mp4 -o processed/ --capture 4 --max-duration-s 10 --workers 2
    """
    from reelscore.workflows.degrade import DegradeConfig, DegradeError, degrade

    if label not in ("vmaf", "none"):
        _fail(f"--label {label}: expected vmaf or none")
    if per_source < 1:
        _fail("--per-source must be >= 1")
    try:
        s = degrade(sources, out, DegradeConfig(
            per_source=per_source, seed=seed, label=label, workers=workers, preset=preset, overwrite=overwrite,
            capture=capture, max_duration_s=max_duration_s, label_max_side=label_max_side or None, vmaf_chunks=label_runs, label_cache=not no_label_cache,
        ))
    except DegradeError as exc:
        _fail(str(exc))
    msg = f"{s['videos']} processed videos from {s['sources'] - s['sources_failed']}/{s['sources']} sources → {out}"
    if s["videos_failed"] or s["sources_failed"]:
        msg += f" ({s['sources_failed']} sources and {s['videos_failed']} videos failed; see errors.csv)"
    typer.echo(msg)
    if label == "vmaf" and s["videos"]:
        lo, hi = s["vmaf_range"]
        typer.echo(f"VMAF {lo:.1f}–{hi:.1f}; pairs: {s['pairs']['homologous']} homologous, {s['pairs']['non_homologous']} non-homologous")
        typer.echo("note: mos = 1 + 4·VMAF/100 is a full-reference proxy for human MOS, not a subjective score")


def _parse_scale(text: str) -> tuple[float, float] | None:
    """'1,5' → (1.0, 5.0); 'none' → None; anything else is a usage error."""
    if text.strip().lower() == "none":
        return None
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"--scale {text!r}: expected LO,HI such as 1,5, or none") from None
    if not lo < hi:
        raise typer.BadParameter(f"--scale {text!r}: LO must be below HI")
    return lo, hi


def mos_cmd(
    ratings: Path = typer.Argument(..., help="Ratings CSV with columns rater,video (or Id),score."),
    out: Path = typer.Option(..., "--out", "-o", help="Output MOS CSV (Id,mos,std,n,mos_raw,...,ci95_low,ci95_high)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Directory for report.json and report.png."),
    min_corr: float = typer.Option(0.7, "--min-corr", help="Flag raters whose SROCC/PLCC vs the others is below this."),
    drop_inconsistent: bool = typer.Option(False, "--drop-inconsistent", help="Also remove flagged raters (default: flag only)."),
    no_bt500: bool = typer.Option(False, "--no-bt500", help="Skip BT.500 observer screening."),
    ci_basis: str = typer.Option("mean", "--ci-basis", help="mean: 95% CI of the MOS (as KVQ); range: mean ± 1.96σ."),
    no_ci_removal: bool = typer.Option(False, "--no-ci-removal", help="Keep ratings outside the confidence interval."),
    scale: str = typer.Option("1,5", "--scale", help="Rating scale LO,HI (scores outside are bad rows), or 'none'."),
) -> None:
    """Ratings → MOS with rater consistency, ITU-R BT.500 screening and CI outlier removal.

    \b
    Examples:
      reelscore mos ratings.csv --out mos.csv --report mos_report/
    """
    from reelscore.common.atomic import write_table_atomic, write_text_atomic
    from reelscore.common.tables import read_table
    from reelscore.labels.mos import MosConfig, compute_mos, plot_report

    if not ratings.is_file():
        _fail(f"{ratings}: not_found: no such ratings file")
    try:
        df = read_table(ratings, role="ratings file")  # ids stay text: video 007 is not video 7
    except ValueError as exc:
        _fail(str(exc))
    try:
        res = compute_mos(df, MosConfig(min_corr=min_corr, drop_inconsistent=drop_inconsistent, bt500=not no_bt500,
                                        ci_basis=ci_basis, ci_removal=not no_ci_removal,
                                        scale=_parse_scale(scale)))
    except ValueError as exc:
        _fail(f"{ratings}: {exc}")
    # `Id` is the id column of every CSV the project writes (docs/cli.md)
    write_table_atomic(res.mos.rename(columns={"video": "Id"}), out)
    rep = res.report()
    if report is not None:
        report.mkdir(parents=True, exist_ok=True)
        write_text_atomic(report / "report.json", json.dumps(rep, indent=2) + "\n")
        plot_report(res, report / "report.png")
    for line in res.steps:
        typer.echo(line)
    typer.echo(
        f"{len(res.mos)} videos → {out}; removed raters: {', '.join(rep['removed_raters']) or 'none'}; "
        f"flagged: {', '.join(rep['flagged_inconsistent']) or 'none'}; ratings removed by CI: {rep['n_ratings_removed_ci']}"
    )


def train_quality_cmd(
    labels: Path = typer.Option(..., "--labels", help="labels.csv from `reelscore degrade` (name,source,...,mos) or video_id,MOS."),
    out: Path = typer.Option(..., "--out", "-o", help="Model directory to write."),
    features: Optional[Path] = typer.Option(None, "--features", help="Feature store (needed by --model light; ksvqe computes its own distortion descriptors from the videos)."),
    model: str = typer.Option("light", "--model", help="light (ridge/LightGBM on pooled features) or ksvqe (network on fragments)."),
    learner: str = typer.Option("ridge", "--learner", help="light: ridge, gbdt, xgb or ensemble."),
    extractors: str = typer.Option("technical,semantic,motion", "--extractors", help="light: pooled extractors to use."),
    columns: Optional[str] = typer.Option(None, "--columns", help="light: regex keeping only matching pooled columns (e.g. '^technical:.*_mean$')."),
    ridge_alpha: Optional[float] = typer.Option(None, "--ridge-alpha", min=0.0, help="light: fixed ridge penalty (default: picked by leave-one-video-out)."),
    target: str = typer.Option("mos", "--target", help="Label column to learn."),
    split_by: str = typer.Option("source", "--split-by", help="Cross-validation groups: source (leave-one-source-out) or none (5-fold)."),
    pairs: Optional[Path] = typer.Option(None, "--pairs", help="pairs.csv for Rank1/Rank2 (default: beside labels.csv)."),
    videos_dir: Optional[Path] = typer.Option(None, "--videos-dir", help="ksvqe: where the label paths are relative to (default: labels.csv's folder)."),
    config: Optional[Path] = typer.Option(None, "--config", help="ksvqe: YAML with KSVQEConfig fields (tiny/cpu presets via --preset)."),
    preset: str = typer.Option("cpu", "--preset", help="ksvqe: tiny or cpu."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="ksvqe: override epochs."),
    clip: Optional[Path] = typer.Option(None, "--clip", help="ksvqe: local CLIP vision checkpoint directory (transformers format)."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="ksvqe: patch encoder, conv (from scratch) or lite0 (frozen packaged EfficientNet-Lite0; the cpu preset's default)."),
    ema: Optional[float] = typer.Option(None, "--ema", min=0.0, max=0.99999, help="ksvqe: decay of the weight moving average kept as the model (0 = off; cpu preset 0.998)."),
    folds: Optional[int] = typer.Option(None, "--folds", help="With --split-by source: K groups of sources instead of leave-one-source-out."),
    no_cv: bool = typer.Option(False, "--no-cv", help="Skip cross-validation; fit on everything."),
    trained_on: Optional[str] = typer.Option(None, "--trained-on", help="Text recorded in model.json: what the labels are."),
) -> None:
    """Train a quality model on processed-set labels; writes a model directory for `reelscore predict`.

    \b
    Examples:
      reelscore extract processed/manifest.csv --out store/ --extractors technical,semantic,motion
      reelscore train quality --labels processed/labels.csv --features store/ --out models/quality
    """
    from reelscore.models.registry import ModelError
    from reelscore.workflows.quality_train import TrainQualityError, train_quality

    try:
        res = train_quality(
            labels=labels, out=out, features=features, model=model, learner=learner,
            extractors=[e.strip() for e in extractors.split(",") if e.strip()], target=target,
            split_by=split_by, pairs=pairs, videos_dir=videos_dir, config=config, preset=preset,
            epochs=epochs, clip=clip, cv=not no_cv, trained_on=trained_on, folds=folds, columns=columns,
            ridge_alpha=ridge_alpha, encoder=encoder, ema=ema,
        )
    except (TrainQualityError, ModelError, FileNotFoundError) as exc:
        _fail(str(exc))
    m = res.get("val_metrics") or {}
    if m:
        typer.echo("cross-validated (" + m.get("split", "") + "): " + ", ".join(
            f"{k} {v:.4f}" for k, v in m.items() if isinstance(v, float)))
    typer.echo(f"model ({model}) → {out}")


def _examples(fn) -> str:
    """The Examples block of a verb's docstring, appended to its one-line help (help= hides the docstring)."""
    doc = fn.__doc__ or ""
    i = doc.find("\b")
    if i < 0:
        return ""
    lines = [ln.strip() for ln in doc[i:].splitlines()]
    return "\n\n" + "\n".join(("  " + ln) if ln.startswith("reelscore") else ln for ln in lines)


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `degrade`, `mos` and `train quality`."""
    app.command("degrade", help="KVQ-style processed set from source videos (+ VMAF-proxy labels and rank pairs)." + _examples(degrade_cmd))(degrade_cmd)
    app.command("mos", help="Ratings (rater,video,score) → MOS with BT.500 screening and a report." + _examples(mos_cmd))(mos_cmd)
    train_app.command("quality", help="Train a quality model (light or ksvqe) → model directory." + _examples(train_quality_cmd))(train_quality_cmd)
