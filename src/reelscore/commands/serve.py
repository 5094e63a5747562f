"""`reelscore serve`: the scoring service over HTTP, with a web page."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add the `serve` verb."""

    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on (keep loopback unless behind a proxy)."),
        port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
        data_dir: Path = typer.Option(Path("reelscore-data"), "--data-dir", help="Jobs database, uploads, thumbnails."),
        workers: int = typer.Option(1, min=0, help="Scoring worker processes (each loads the models once; 0 = accept only)."),
        token: Optional[str] = typer.Option(None, envvar="REELSCORE_TOKEN",
                                            help="Require `Authorization: Bearer TOKEN` on /v1 (env REELSCORE_TOKEN)."),
        max_upload_mb: float = typer.Option(200.0, "--max-upload-mb", min=0.001, help="Largest upload accepted (413 above)."),
        max_duration_s: float = typer.Option(180.0, "--max-duration-s", min=0.001, help="Longest clip accepted (422 above)."),
        max_queue: int = typer.Option(200, "--max-queue", min=1, help="Most waiting jobs (503 above)."),
        frames: int = typer.Option(4, min=0, max=32, help="Thumbnails kept per job for the web page."),
        engagement_model: str = typer.Option("default", help="Engagement model directory or shipped alias."),
        quality_model: str = typer.Option("quality-default", help="Quality model directory or shipped alias."),
        keep_days: float = typer.Option(30.0, "--keep-days", min=0, help="Delete uploads and thumbnails of jobs finished more than this many days ago (results stay); 0 = at once."),
        max_store_gb: float = typer.Option(20.0, "--max-store-gb", min=0.001, help="Above this many GB of uploads + thumbnails, the oldest finished jobs' files go first."),
        clip_checkpoint: Optional[Path] = typer.Option(None, "--clip-checkpoint", help="Local CLIP ViT-B/32 (Hugging Face layout) for the engagement model's CLIP member."),
        log_level: str = typer.Option("info", help="uvicorn log level."),
    ) -> None:
        """Serve POST /v1/score, GET /v1/jobs/{id}, GET /v1/health and a web page at /.

        \b
        Examples:
          reelscore serve --port 8000 --data-dir /var/lib/reelscore --workers 2
          curl -F file=@clip.mp4 -F title='My title' http://127.0.0.1:8000/v1/score
        """
        from reelscore.serve.app import ServeSettings, run

        if workers < 0:
            raise typer.BadParameter("--workers must be 0 or more (0 = accept and queue only)")
        settings = ServeSettings(data_dir=data_dir, workers=workers, token=token, max_upload_mb=max_upload_mb,
                                 max_duration_s=max_duration_s, max_queue=max_queue, frames=frames,
                                 engagement_model=engagement_model, quality_model=quality_model,
                                 clip_checkpoint=str(clip_checkpoint) if clip_checkpoint else None,
                                 keep_days=keep_days, max_store_gb=max_store_gb)
        typer.echo(f"reelscore serve: http://{host}:{port}/  data dir {data_dir.resolve()}  workers {workers}", err=True)
        run(settings, host=host, port=port, log_level=log_level)
