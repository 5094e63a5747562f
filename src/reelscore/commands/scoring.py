"""`reelscore score`: videos → engagement and quality with the shipped default models."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

# `Id`, `ECR`, `NAWP`, `MOS` as every CSV the project writes, so `evaluate --protocol evqa --pred` takes it as is
CSV_COLUMNS = ["Id", "path", "ok", "ECR", "NAWP", "MOS", "duration_s", "width", "height",
               "top_audio_tags", "top_semantic_classes", "unavailable", "error_code", "error_message"]


def _flat_row(res: dict) -> dict:
    """One CSV row of a score result (the JSON keeps everything; the CSV keeps the headline numbers)."""
    scores = res.get("scores") or {}
    info = res.get("info") or {}
    err = res.get("error") or {}

    def val(key):
        return (scores.get(key) or {}).get("value")

    def labels(key):
        vals = (res.get(key) or {}).get("values") or []
        return "; ".join(f"{v['label']} ({v['score']:.2f})" for v in vals)

    return {
        "Id": res.get("video_id"), "path": res.get("path"), "ok": bool(res.get("ok")),
        "ECR": val("ecr"), "NAWP": val("nawp"), "MOS": val("mos"),
        "duration_s": info.get("duration_s"), "width": info.get("width"), "height": info.get("height"),
        "top_audio_tags": labels("audio_tags"), "top_semantic_classes": labels("semantic_classes"),
        "unavailable": "; ".join(sorted((res.get("unavailable") or {}).keys())),
        "error_code": err.get("code"), "error_message": err.get("message"),
    }


def csv_frame(results: list[dict]):
    """The `--csv` table: one row per result; width/height stay integers when a failed row leaves them empty."""
    import pandas as pd

    df = pd.DataFrame([_flat_row(r) for r in results], columns=CSV_COLUMNS)
    return df.astype({"width": "Int64", "height": "Int64"})


def _input_error(it, exc) -> dict:
    """The result of an input that cannot be scored (`exc`: its MediaError, None for a row without a file)."""
    if exc is None:
        err = {"code": "not_found", "error": "not_found", "path": None, "message": "the manifest row has no video file"}
    else:
        err = {"code": exc.code, **exc.to_dict()}
    return {"video_id": it.video_id or Path(it.path or "").stem, "path": it.path, "ok": False, "error": err}


def _fmt(v, digits: int) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add the `score` verb."""

    @app.command("score")
    def score(
        inputs: List[Path] = typer.Argument(None, help="Video files and/or directories of videos."),
        title: Optional[str] = typer.Option(None, help="Title for the video(s) given on the command line."),
        description: Optional[str] = typer.Option(None, help="Description for the video(s) given on the command line."),
        manifest: Optional[Path] = typer.Option(None, help="CSV manifest (Id,path[,title,description] or SnapUGC Id,Title,Description)."),
        videos_dir: Optional[Path] = typer.Option(None, "--videos-dir", help="Where a SnapUGC manifest's <Id>.mp4 files are."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object per video on stdout (JSON lines)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the headline numbers as CSV (Id,path,ok,ECR,NAWP,MOS,...) to this file."),
        csv_out: Optional[Path] = typer.Option(None, "--csv", hidden=True, help="Deprecated spelling of --out (kept for one release)."),
        engagement_model: str = typer.Option("default", help="Engagement model directory or shipped alias."),
        quality_model: str = typer.Option("quality-default", help="Quality model directory or shipped alias."),
        timeline: bool = typer.Option(True, "--timeline/--no-timeline", help="Per-second quality and first-5-s engagement."),
        top_k: int = typer.Option(5, min=1, max=521, help="How many audio tags and semantic classes to report."),
        workers: int = typer.Option(0, "--workers", min=0, help="Worker processes (each loads the models once); 0 = auto: one per core once there are two videos per core and memory for ~1 GiB each, else 1. Output keeps input order."),
        engine: str = typer.Option("local", "--engine", help="local (process pool) or ray."),
        clip_checkpoint: Optional[Path] = typer.Option(None, "--clip-checkpoint", help="Local CLIP ViT-B/32 (Hugging Face layout) for the engagement model's CLIP member."),
        device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N for the networks (a GPU is used only when asked)."),
        batch_size: int = typer.Option(16, "--batch-size", min=1, help="Frames per network batch."),
        precision: str = typer.Option("fp32", "--precision", help="fp32, or fp16 for half-precision networks on a GPU (--device cuda)."),
    ) -> None:
        """Score videos: ECR, NAWP, quality MOS, a per-second timeline, audio tags, semantic classes, provenance.

        \b
        Examples:
          reelscore score clip.mp4 --title 'My title' --description 'About it'
          reelscore score videos/ --json > scores.jsonl
          reelscore score --manifest metadata.csv --videos-dir videos/ -o scores.csv
          reelscore score videos/ --workers 2 --json > scores.jsonl
        """
        import json
        import sys
        import time

        from reelscore.common.progress import make_progress
        from reelscore.common.process import auto_workers
        from reelscore.scoring import ScoreConfig, ScoreItem, Scorer, expand_inputs, score_many

        if csv_out is not None:
            typer.echo("reelscore score: --csv is deprecated, use --out/-o (same file)", err=True)
            out = out or csv_out
        csv_out = out
        if json_out and csv_out:
            raise typer.BadParameter("choose one of --json and --out")
        from reelscore.common.devices import check_device
        from reelscore.models.registry import DEFAULT_MODELS, ModelError, read_model_json, resolve_model_dir

        try:  # no GPU, or fp16 on a CPU, is one line before any model loads
            check_device(device, precision)
        except ValueError as exc:
            typer.echo(f"reelscore score: {exc}", err=True)
            raise typer.Exit(2) from None

        # named models are checked before anything is loaded: a wrong name is one line, not an empty column
        for task, spec in (("engagement", engagement_model), ("quality", quality_model)):
            try:
                meta = read_model_json(resolve_model_dir(spec))
            except ModelError as exc:
                typer.echo(f"reelscore score: --{task}-model: {exc}", err=True)
                raise typer.Exit(2) from None
            if meta.get("task") != task:
                hint = " (the quality alias is quality-default)" if task == "quality" and spec in DEFAULT_MODELS else ""
                typer.echo(f"reelscore score: --{task}-model {spec!r} is a {meta.get('task')} model, "
                           f"not a {task} model{hint}", err=True)
                raise typer.Exit(2)
        items = expand_inputs(inputs or [])
        for it in items:
            it.title, it.description = title, description
        if manifest is not None:
            from reelscore.features.manifest import read_manifest

            try:
                df = read_manifest(manifest, videos_dir=videos_dir)
            except (ValueError, FileNotFoundError) as exc:
                typer.echo(f"reelscore score: {exc}", err=True)
                raise typer.Exit(2) from None
            for row in df.itertuples(index=False):
                def text(v):
                    return v if isinstance(v, str) and v.strip() else None

                items.append(ScoreItem(path=str(row.path) if isinstance(row.path, str) else "",
                                       video_id=str(row.video_id), title=text(getattr(row, "title", None)),
                                       description=text(getattr(row, "description", None)),
                                       caption=text(getattr(row, "caption", None))))
        if not items:
            typer.echo("reelscore score: no videos given (pass files, directories or --manifest)", err=True)
            raise typer.Exit(2)

        if engine not in ("local", "ray"):
            raise typer.BadParameter(f"--engine must be local or ray, got {engine!r}")
        options = {"clip": {"checkpoint": str(clip_checkpoint)}} if clip_checkpoint else {}
        has_text = any(it.title or it.description or it.caption for it in items)
        cfg = ScoreConfig(engagement_model=engagement_model, quality_model=quality_model, timeline=timeline,
                          top_k=top_k, extractor_options=options, expect_text=has_text, device=device,
                          batch_size=batch_size, precision=precision)
        t0 = time.perf_counter()
        from reelscore.media import MediaError, probe

        # cheap checks first, up to the first usable input: nothing to score means no model is loaded
        unusable = []
        for it in items:
            try:
                if it.path:
                    probe(it.path)
                    break
                unusable.append(_input_error(it, None))
            except MediaError as exc:
                unusable.append(_input_error(it, exc))
        else:
            results = unusable
            for r in results:
                err = r["error"]
                typer.echo(f"{r.get('path') or r.get('video_id')}: {err.get('code')}: {err.get('message')}", err=True)
            if csv_out is not None:
                from reelscore.common.atomic import write_table_atomic

                write_table_atomic(csv_frame(results), csv_out)
            if json_out:
                for r in results:
                    sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
            typer.echo(f"scored 0/{len(items)} video(s); {len(items)} failed (no model was loaded)", err=True)
            raise typer.Exit(1)
        if workers == 0:
            workers = auto_workers(len(items), device)
        local = workers == 1 and engine == "local"
        scorer = Scorer(cfg).load() if local else None  # with workers, each worker loads the models itself
        for part, why in (scorer.problems if scorer is not None else {}).items():
            typer.echo(f"reelscore score: {part}: {why}", err=True)
        results: list[dict] = []
        failed = 0
        with make_progress() as prog:
            task = prog.add_task(f"scoring ({workers} worker{'s' if workers > 1 else ''})", total=len(items), rate="")
            stream = score_many(items, scorer=scorer,
                                workers=workers, engine=engine, config=cfg)
            for n, res in enumerate(stream, 1):
                results.append(res)
                if not res.get("ok"):
                    failed += 1
                    err = res.get("error") or {}
                    prog.console.print(f"[red]{res.get('path') or res.get('video_id')}: {err.get('code')}: {err.get('message')}[/red]",
                                       highlight=False, soft_wrap=True)
                if json_out:
                    sys.stdout.write(json.dumps(res, ensure_ascii=False) + "\n")
                    sys.stdout.flush()
                dt = time.perf_counter() - t0
                prog.update(task, advance=1, rate=f"{n / dt:.2f} video/s")
        if csv_out is not None:
            from reelscore.common.atomic import write_table_atomic

            write_table_atomic(csv_frame(results), csv_out)
        if not json_out:
            why: dict[str, str] = {}
            for r in results:
                row = _flat_row(r)
                if row["ok"]:
                    typer.echo(f"{row['Id']}\tECR {_fmt(row['ECR'], 3)}\tNAWP {_fmt(row['NAWP'], 3)}\t"
                               f"MOS {_fmt(row['MOS'], 2)}\t{row['top_audio_tags'] or ''}")
                    for k in ("ecr", "nawp", "mos"):
                        if (r.get("scores") or {}).get(k, {}).get("value") is None and k not in why:
                            why[k] = r["scores"][k].get("unavailable") or "not available"
                else:
                    typer.echo(f"{row['Id']}\tERROR {row['error_code']}: {row['error_message']}")
            for k, reason in why.items():  # a dash says what would give the number
                typer.echo(f"  {k.upper()} –: {reason}")
        dt = time.perf_counter() - t0
        gaps = sorted({k for r in results for k in (r.get("unavailable") or {})})
        typer.echo(f"scored {len(results) - failed}/{len(results)} video(s) in {dt:.1f} s; {failed} failed"
                   + (f"; not available: {', '.join(gaps)}" if gaps else "")
                   + (f"; CSV: {csv_out}" if csv_out else ""), err=True)
        if failed:
            raise typer.Exit(1)
