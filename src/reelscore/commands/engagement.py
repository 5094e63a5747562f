"""Engagement verbs: `reelscore train engagement` and the generic `reelscore predict`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(2)


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `train engagement` and `predict` to the CLI."""

    @train_app.command("engagement")
    def train_engagement_cmd(
        labels: list[Path] = typer.Option(..., "--labels", help="Labels: `reelscore labels` output (video_id,nawp,ecr,...) or a SnapUGC/EVQA CSV (Id,...,ECR[,NAWP]); repeat to join files (shared ids must agree)."),
        out: Path = typer.Option(..., "--out", "-o", help="Model directory to write."),
        model: str = typer.Option("text", "--model", help="net | gbdt | ridge | text | fused."),
        features_table: Optional[list[Path]] = typer.Option(None, "--features-table", help="fused: CSV/Parquet keyed by Id with coldsignal signal columns and/or clip_000..clip_511 (repeat to join several on Id)."),
        exclude_ids: Optional[Path] = typer.Option(None, "--exclude-ids", help="File of ids (one per line) to drop from the labels before training, e.g. evaluation_ids.txt."),
        features: Optional[Path] = typer.Option(None, "--features", help="Feature store (needed by net, gbdt, ridge)."),
        manifest: Optional[Path] = typer.Option(None, "--manifest", help="Text model: take Title/Description/Caption from this manifest instead of the labels CSV."),
        config: Optional[Path] = typer.Option(None, "--config", help="YAML config of the model kind."),
        device: str = typer.Option("cpu", "--device", help="cpu | cuda (net only)."),
        val_split: Optional[float] = typer.Option(None, "--val-split", help="Hold-out fraction for validation (default 0.1)."),
        folds: Optional[int] = typer.Option(None, "--folds", help="K-fold cross-validation instead of one hold-out (light/text models)."),
        seed: int = typer.Option(0, "--seed", help="Random seed (splits, learners)."),
        target: Optional[list[str]] = typer.Option(None, "--target", help="ECR | NAWP | engagement_class (repeatable; default: all the labels have)."),
        no_curve: bool = typer.Option(False, "--no-curve", help="Skip the learning-curve PNG."),
    ) -> None:
        """Train an engagement model (ECR, NAWP) and write a model directory.

        \b
        Examples:
          reelscore train engagement --model text --labels text_ecr_dev.csv --out models/text --folds 5
          reelscore train engagement --model ridge --features store/ --labels labels.parquet --out models/ridge
          reelscore train engagement --model net --features store/ --labels labels.parquet --out models/net
          reelscore train engagement --model fused --labels coldsignal_dev.csv --labels text_ecr_dev.csv \\
              --features-table coldsignal_dev.csv --features-table coldsignal_clip_vitb32_dev.parquet --out models/fused
        """
        from reelscore.models.registry import ModelError
        from reelscore.training.labels import LabelError
        from reelscore.training.train import train_engagement

        try:
            summary = train_engagement(
                model, labels if len(labels) > 1 else labels[0], out, features=features, manifest=manifest,
                config=config, device=device, val_split=val_split, folds=folds, seed=seed, targets=target or None,
                curve=not no_curve, features_table=features_table or None, exclude_ids=exclude_ids,
            )
        except (ModelError, LabelError, ValueError, FileNotFoundError) as exc:
            _fail(str(exc))
        if summary:  # empty on non-zero DDP ranks
            typer.echo(json.dumps(summary, indent=1, default=float))

    @app.command("predict")
    def predict_cmd(
        model: str = typer.Option(..., "--model", help="Model directory, or `default` (shipped engagement model) / `quality-default`."),
        out: Path = typer.Option(..., "--out", "-o", help="Predictions CSV to write (Id,<targets>)."),
        features: Optional[Path] = typer.Option(None, "--features", help="Feature store."),
        manifest: Optional[Path] = typer.Option(None, "--manifest", help="Manifest (Id,path,... or SnapUGC Id,Title,Description,...); missing features are extracted first."),
        videos_dir: Optional[Path] = typer.Option(None, "--videos-dir", help="Folder of <Id>.mp4 for SnapUGC-style manifests."),
        device: str = typer.Option("cpu", "--device", help="cpu | cuda."),
        workers: int = typer.Option(1, "--workers", help="Extraction workers when a manifest needs features."),
        features_table: Optional[list[Path]] = typer.Option(None, "--features-table", help="Bring-your-own features (CSV/Parquet keyed by Id; coldsignal signal columns and/or clip_000..clip_511; repeat to join several) for the fused model's members."),
        clip_checkpoint: Optional[Path] = typer.Option(None, "--clip-checkpoint", help="Local CLIP ViT-B/32 (Hugging Face layout) so the fused model's CLIP member reads the videos."),
    ) -> None:
        """Predict with any model directory (engagement or quality) → CSV ready for `reelscore evaluate`.

        \b
        Examples:
          reelscore predict --model default --manifest test.csv --out pred.csv
          reelscore predict --model models/ridge --features store/ --out pred.csv
          reelscore predict --model quality-default --manifest processed/manifest.csv --out mos.csv
          reelscore predict --model default --manifest M.csv --features-table warehouse.parquet --out pred.csv
        """
        from reelscore.models.registry import ModelError
        from reelscore.training.predict import predict

        if features is None and manifest is None and features_table is None:
            _fail("give --features STORE, --manifest M or --features-table T")
        try:
            pred = predict(model, features=features, manifest=manifest, out=out, videos_dir=videos_dir, device=device,
                           workers=workers, features_table=features_table or None, clip_checkpoint=clip_checkpoint)
        except (ModelError, ValueError, FileNotFoundError) as exc:
            _fail(str(exc))
        cols = [c for c in pred.columns if c != "Id"]
        desc = ", ".join(f"{c} mean {pred[c].mean():.4f}" for c in cols)
        typer.echo(f"wrote {out}: {len(pred)} rows ({desc})")
        if pred.attrs.get("not_predicted"):
            # exit 1: some inputs failed (each named on stderr above), the others are written
            raise typer.Exit(code=1)
