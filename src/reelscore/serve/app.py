"""The scoring service: FastAPI app over the SQLite job queue and the worker pool.

POST /v1/score stores the upload under a server-chosen name, probes it, and
queues a job (202); GET /v1/jobs/{id} gives status and, when done, the same
result object as `reelscore score --json`. Uploads are checked before they are
queued: size (413), content type and container (415), duration and damage (422).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import logging
import os
import re
import secrets
import threading
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from reelscore import __version__
from reelscore.common.jsonsafe import json_safe
from reelscore.serve.jobs import Job, JobStore, QueueFull
from reelscore.serve.retention import RetentionPolicy, apply_retention
from reelscore.serve.worker import WorkerPool, frames_dir

log = logging.getLogger("reelscore.serve")

STATIC_DIR = Path(__file__).resolve().parent / "static"
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
# What browsers and curl send for video files; anything else is refused before we read the bytes twice.
ACCEPTED_TYPES = {"application/octet-stream", "application/mp4", "application/x-matroska", ""}
# Text fields are metadata for the text model, not documents.
MAX_TEXT_CHARS = 5000
# Probe codes that mean "this is not a video we can read" vs "a video, but damaged or out of limits".
UNSUPPORTED_CODES = {"not_a_video", "no_video_stream", "unsupported_codec"}
UPLOAD_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".3gp", ".ts", ".flv", ".ogv", ".mpg", ".mpeg"}
CONTAINER_EXT = {"mp4": ".mp4", "mov": ".mp4", "webm": ".webm", "matroska": ".mkv", "avi": ".avi",
                 "flv": ".flv", "mpegts": ".ts", "ogg": ".ogv", "3gp": ".3gp"}


@dataclasses.dataclass
class ServeSettings:
    """Settings of one server instance."""

    data_dir: Path = Path("reelscore-data")
    workers: int = 1
    token: str | None = None
    max_upload_mb: float = 200.0
    max_duration_s: float = 180.0
    max_queue: int = 200
    max_attempts: int = 3
    frames: int = 4
    engagement_model: str = "default"
    quality_model: str = "quality-default"
    clip_checkpoint: str | None = None  # local CLIP (HF layout) for the fused engagement model's CLIP member
    keep_days: float | None = 30.0  # uploads and thumbnails of jobs finished longer ago are deleted (results stay)
    max_store_gb: float | None = 20.0  # above this, the oldest finished jobs' files go first
    retention_interval_s: float = 600.0

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)


class ApiError(Exception):
    """An HTTP error with a stable code and a sentence for humans."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def _error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}, "detail": message}, status_code=status,
                        headers=headers)


class _TooLarge(Exception):
    pass


class UploadLimit:
    """ASGI middleware: refuse an upload as soon as it exceeds the limit, before it is parsed or stored."""

    def __init__(self, app, limit_bytes: int, paths: tuple[str, ...] = ("/v1/score",)):
        self.app = app
        # Form fields and multipart boundaries ride along with the file.
        self.limit = limit_bytes + 64 * 1024 + 4 * MAX_TEXT_CHARS
        self.file_limit = limit_bytes
        self.paths = paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") not in self.paths or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        msg = f"upload larger than the limit of {self.file_limit / 1048576:g} MB (--max-upload-mb)"
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await _error_response(413, "too_large", msg)(scope, receive, send)
        seen = 0
        started = exceeded = False

        async def counted_receive():
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise _TooLarge()
            return message

        async def guarded_send(message):
            nonlocal started
            if exceeded:  # the framework turns our abort into its own 400; answer 413 instead
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLarge:
            pass
        if exceeded and not started:
            await _error_response(413, "too_large", msg)(scope, receive, send)


def _copy_upload(upload: UploadFile, dest: Path, limit: int) -> tuple[str, int]:
    """Copy the upload to `dest` while hashing; 413 past `limit` bytes."""
    h = hashlib.sha256()
    size = 0
    with open(dest, "wb") as out:
        while True:
            chunk = upload.file.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "too_large", f"upload larger than the limit of {limit / 1048576:g} MB (--max-upload-mb)")
            h.update(chunk)
            out.write(chunk)
    return h.hexdigest(), size


def _container_ext(container: str | None) -> str:
    for name in (container or "").split(","):
        if name.strip() in CONTAINER_EXT:
            return CONTAINER_EXT[name.strip()]
    return ".video"


def _clean_text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_TEXT_CHARS:
        raise ApiError(422, "text_too_long", f"{field} is longer than {MAX_TEXT_CHARS} characters")
    return value


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """Build the FastAPI app; the worker pool starts and stops with the app's lifespan."""
    settings = settings or ServeSettings()
    data_dir = Path(settings.data_dir).expanduser().resolve()
    for sub in ("uploads", "frames", "tmp"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    store = JobStore(data_dir / "jobs.sqlite3")
    score_config = {"engagement_model": settings.engagement_model, "quality_model": settings.quality_model}
    if settings.clip_checkpoint:
        score_config["extractor_options"] = {"clip_mean3": {"checkpoint": str(settings.clip_checkpoint)}}
    pool = (WorkerPool(store, data_dir, settings.workers, settings.max_attempts, settings.frames, score_config)
            if settings.workers > 0 else None)
    files_lock = threading.Lock()
    policy = RetentionPolicy(keep_days=settings.keep_days, max_store_gb=settings.max_store_gb)
    stop_retention = threading.Event()

    def retention_loop() -> None:
        while True:
            try:
                freed = apply_retention(store, data_dir, policy, lock=files_lock)
                if freed["files"]:
                    log.info("retention: deleted %d upload(s) of %d finished job(s), %.1f MB",
                             freed["files"], freed["jobs"], freed["bytes"] / 1e6)
            except Exception as exc:  # retention must never take the server down
                log.warning("retention failed: %s", exc)
            if stop_retention.wait(settings.retention_interval_s):
                return

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        lock = open(data_dir / "server.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"{data_dir}: another reelscore server uses this data directory") from None
        lock.write(str(os.getpid()))
        lock.flush()
        n = store.recover()
        if n:
            log.warning("requeued %d job(s) that were running when the server last stopped", n)
        for stale in (data_dir / "tmp").iterdir():  # half-received uploads of a killed server
            stale.unlink(missing_ok=True)
        if pool is not None:
            pool.start()
        keeper = threading.Thread(target=retention_loop, daemon=True, name="retention")
        keeper.start()
        app.state.started_at = time.time()
        try:
            yield
        finally:
            stop_retention.set()
            if pool is not None:
                pool.stop()
            lock.close()

    app = FastAPI(
        title="reelscore",
        version=__version__,
        summary="Engagement (ECR, NAWP) and perceptual quality of short-form videos.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.pool = pool
    app.add_middleware(UploadLimit, limit_bytes=settings.max_upload_bytes)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc.status, exc.code, exc.message, exc.headers)

    bearer = HTTPBearer(auto_error=False, description="Needed when the server was started with --token.")

    def auth(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if settings.token is None:
            return
        if creds is None or not secrets.compare_digest(creds.credentials.encode(), settings.token.encode()):
            raise ApiError(401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)",
                           {"WWW-Authenticate": "Bearer"})

    def job_view(job: Job) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": job.id,
            "status": job.status,
            "stage": job.stage,
            "progress": round(job.progress, 3),
            "queue_position": store.queue_position(job),
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "attempts": job.attempts,
            "sha256": job.sha256,
            "size_bytes": job.size_bytes,
            "title": job.title,
            "description": job.description,
            "info": job.info,
            "links": {"self": f"/v1/jobs/{job.id}"},
        }
        if job.status in ("done", "failed"):
            view["result"] = job.result
            view["error"] = job.error
            view["frames"] = [f"/v1/jobs/{job.id}/frames/{k}.jpg" for k in range(job.frames)]
        return view

    @app.post("/v1/score", status_code=202, dependencies=[Depends(auth)], summary="Upload a clip to score",
              responses={200: {"description": "The same file and texts were submitted before: the earlier job"},
                         401: {"description": "Missing or wrong bearer token"},
                         413: {"description": "Upload too large"},
                         415: {"description": "Not a video container or codec we can read"},
                         422: {"description": "A video, but damaged, empty or too long"},
                         503: {"description": "The queue is full"}})
    def submit(
        file: UploadFile = File(..., description="The video file (mp4, mov, webm, mkv...)"),
        title: str | None = Form(None, description="The clip's title, used by the engagement model"),
        description: str | None = Form(None, description="The clip's description, used by the engagement model"),
    ) -> JSONResponse:
        """Store, check and queue a clip; 202 with the job, or 200 with the earlier job for the same content."""
        title = _clean_text(title, "title")
        description = _clean_text(description, "description")
        ctype = (file.content_type or "").split(";")[0].strip().lower()
        if not (ctype.startswith("video/") or ctype in ACCEPTED_TYPES):
            raise ApiError(415, "unsupported_media_type",
                           f"content type {ctype!r} is not a video; send the clip as video/* or application/octet-stream")
        # The client's extension, from an allow-list only, so the probe judges the upload as it would the file.
        ext = Path(file.filename or "").suffix.lower()
        tmp = data_dir / "tmp" / f"{uuid.uuid4().hex}{ext if ext in UPLOAD_SUFFIXES else '.bin'}"
        try:
            sha, size = _copy_upload(file, tmp, settings.max_upload_bytes)
            if size == 0:
                raise ApiError(422, "empty", "the uploaded file is empty")
            info = _probe_upload(tmp, settings)
            dest = data_dir / "uploads" / f"{sha}{_container_ext(info.get('container'))}"
            with files_lock:  # retention never deletes an upload between placing it and queueing its job
                os.replace(tmp, dest)  # same content: replacing also refreshes its age for retention
                try:
                    job, created = store.submit(sha, str(dest.relative_to(data_dir)), size, title, description, info,
                                                max_queued=settings.max_queue)
                except QueueFull as exc:
                    raise ApiError(503, "queue_full", str(exc), {"Retry-After": "10"}) from None
        finally:
            tmp.unlink(missing_ok=True)
        body = job_view(job)
        body["duplicate"] = not created
        return JSONResponse(body, status_code=202 if created else 200, headers={"Location": f"/v1/jobs/{job.id}"})

    def _get_job(job_id: str) -> Job:
        job = store.get(job_id) if JOB_ID.match(job_id) else None
        if job is None:
            raise ApiError(404, "not_found", f"no job {job_id!r}")
        return job

    @app.get("/v1/jobs/{job_id}", dependencies=[Depends(auth)], summary="Status and result of a job")
    def get_job(job_id: str) -> dict[str, Any]:
        """Status, stage and progress; when done, `result` is the object `reelscore score --json` prints."""
        return job_view(_get_job(job_id))

    @app.get("/v1/jobs/{job_id}/frames/{k}.jpg", dependencies=[Depends(auth)], summary="A thumbnail of the clip",
             response_class=FileResponse)
    def get_frame(job_id: str, k: int) -> FileResponse:
        """Thumbnail k (0-based) of a finished job, JPEG."""
        job = _get_job(job_id)
        path = frames_dir(data_dir, job.id) / f"{k}.jpg"
        if k < 0 or k >= job.frames or not path.is_file():
            raise ApiError(404, "not_found", f"job {job_id} has no frame {k}")
        return FileResponse(path, media_type="image/jpeg")

    @app.get("/v1/health", summary="Liveness, workers and queue")
    def health() -> dict[str, Any]:
        """Is the server up, how many workers are ready, how many jobs per status."""
        workers = pool.status() if pool is not None else {"workers": 0, "alive": 0, "ready": 0, "restarts": 0}
        ok = pool is None or workers["ready"] > 0
        # "degraded": workers run, but some model or extractor failed to load (results would lack those parts)
        status = "starting" if not ok else ("degraded" if workers.get("problems") else "ok")
        return {
            "status": status,
            "version": __version__,
            "workers": workers,
            "queue": store.counts(),
            "limits": {"max_upload_mb": settings.max_upload_mb, "max_duration_s": settings.max_duration_s,
                       "max_queue": settings.max_queue},
            "auth": settings.token is not None,
            "models": score_config,
        }

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _probe_upload(path: Path, settings: ServeSettings) -> dict[str, Any]:
    """Probe a stored upload; the container and duration checks that decide 415 / 422."""
    try:
        from reelscore.media import MediaError, probe
    except ImportError as exc:
        raise ApiError(503, "unavailable", f"media probing is not available in this install: {exc}") from None
    try:
        info = probe(path)
    except MediaError as exc:
        status = 415 if exc.code in UNSUPPORTED_CODES else 422
        raise ApiError(status, exc.code, f"upload: {exc.message}") from None
    d = info.to_dict()
    d.pop("path", None)  # the server's temp name means nothing to the client
    dur = d.get("duration_s")
    if dur is not None and dur > settings.max_duration_s:
        raise ApiError(422, "too_long",
                       f"the clip lasts {dur:.1f} s, more than the limit of {settings.max_duration_s:g} s (--max-duration-s)")
    return json_safe(d)


def run(settings: ServeSettings, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve until interrupted."""
    import uvicorn

    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)
