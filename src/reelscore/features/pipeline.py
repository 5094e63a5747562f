"""The extraction pipeline: manifest → feature store, on local processes or Ray.

Per video: hash the file, skip the extractors whose rows exist, probe once,
decode the shared frame grid once for every frame-based extractor and the audio
once, run the extractors in dependency order (text reads the audio tags), and
write one part file per (video, extractor) atomically. A bad file becomes an
error row (`media` for whole-file problems, with the media error code) and the
run goes on. Workers write to the store themselves; the driver only tracks
progress, so local processes and Ray produce the same files.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reelscore.features.analysis import Analyzer
from reelscore.features.base import ExtractorOutput, FramePlan, VideoInputs
from reelscore.features.registry import DEFAULT_EXTRACTORS, resolve_order
from reelscore.features.store import FeatureStore, file_hash, text_key


@dataclass
class ExtractConfig:
    """Everything that defines one extraction run (recorded in the store's specs)."""

    extractors: list[str] = field(default_factory=lambda: list(DEFAULT_EXTRACTORS))
    fps: float = 4.0
    short_side: int = 360
    clip_len: int = 16
    device: str = "cpu"
    batch_size: int = 16
    precision: str = "fp32"  # fp16: half-precision networks on a GPU (keyed in the store: values differ slightly)
    threads: int = 0  # torch / OpenCV / decoder threads per worker; 0 = cores // workers
    options: dict[str, dict] = field(default_factory=dict)  # per-extractor config, e.g. {"clip": {"checkpoint": "..."}}


class VideoProcessor:
    """Extract one video at a time into a store; one instance per worker process (the analysis, plus the store)."""

    def __init__(self, store_path: str, cfg: ExtractConfig) -> None:
        self.store = FeatureStore(store_path)
        self.cfg = cfg
        self.plan = FramePlan(fps=cfg.fps, short_side=cfg.short_side, clip_len=cfg.clip_len)
        threads = max(1, cfg.threads or 1)
        _set_threads(threads)
        self.threads = threads
        self.analyzer = Analyzer.from_names(list(cfg.extractors), plan=self.plan, options=cfg.options,
                                            device=cfg.device, threads=threads, batch_size=cfg.batch_size,
                                            precision=cfg.precision)
        self.extractors = list(self.analyzer.extractors.values())
        self.specs = {e.name: e.spec() for e in self.extractors}

    # ------------------------------------------------------------------
    def _text_hash(self, media_hash: str | None, texts: dict[str, str]) -> str:
        deps = {n: self.specs[n]["spec_id"] for n in ("audio", "caption") if n in self.specs}
        return text_key(media_hash, texts, deps)

    def _stored_prior(self, name: str, key: str | None) -> ExtractorOutput | None:
        """An earlier run's output of `name` for this key (its meta is what later extractors read)."""
        import json

        import pyarrow.parquet as pq

        if key is None or name not in self.specs:
            return None
        p = self.store.row_path(name, self.specs[name]["spec_id"], key)
        if not p.exists():
            return None
        meta = pq.read_table(p, columns=["meta"]).column("meta")[0].as_py()
        return ExtractorOutput(pooled=np.zeros(0, np.float32), meta=json.loads(meta))

    def process(self, row: dict) -> dict:
        """Extract one manifest row; never raises for bad input (errors go to the store)."""
        from reelscore.media import MediaError

        t0 = time.perf_counter()
        vid = str(row["video_id"])
        path = row.get("path")
        path = None if path is None or (isinstance(path, float) and np.isnan(path)) or str(path) == "" else str(path)
        texts = {k: _clean(row.get(k)) for k in ("title", "description", "caption")}
        result = {"video_id": vid, "status": "skipped", "errors": [], "written": [], "seconds": 0.0}

        def fail(extractor: str, code: str, message: str) -> None:
            self.store.write_errors(vid, path, extractor, code, message)
            result["errors"].append({"extractor": extractor, "code": code, "message": message})

        media_hash = None
        media_ok = path is not None
        if path is not None:
            try:
                media_hash = file_hash(path)
            except FileNotFoundError:
                media_ok = False
                fail("media", "not_found", f"{path}: not_found: file does not exist")
            except OSError as exc:
                media_ok = False
                fail("media", "not_found", f"{path}: not_found: {exc.strerror or exc}")
        text_hash = self._text_hash(media_hash, texts) if "text" in self.specs else None
        self._write_index(vid, path, media_hash, text_hash)

        keys = {e.name: (text_hash if e.key_kind == "text" else media_hash) for e in self.extractors}
        pending = [e for e in self.extractors if keys[e.name] is not None and not self.store.has_row(e.name, e.spec_id, keys[e.name])]
        if media_ok is False:
            pending = [e for e in pending if not (e.needs & {"frames", "audio", "media"})]
        if not pending:
            result["seconds"] = time.perf_counter() - t0
            if result["errors"]:
                result["status"] = "failed"
            return result

        names = [e.name for e in pending]
        skip: set[str] = set()
        media_pending = [e.name for e in pending if e.needs & {"frames", "audio", "media"}]
        inputs = VideoInputs(video_id=vid, path=path, texts=texts, plan=self.plan)
        if media_ok and media_pending:
            try:
                inputs = self.analyzer.decode(path, vid, texts, names)
                self.store.clear_errors(vid, ["media"])
            except MediaError as exc:
                fail("media", exc.code, str(exc))
                skip |= set(media_pending)
        if inputs.audio_error is not None:  # the track exists but cannot be decoded: its code, per extractor
            for e in pending:
                if "audio" in e.needs:
                    fail(e.name, inputs.audio_error.code, str(inputs.audio_error))
                    skip.add(e.name)
        for e in self.extractors:  # done extractors feed later ones from the store
            if e not in pending:
                prior = self._stored_prior(e.name, keys[e.name])
                if prior is not None:
                    inputs.prior[e.name] = prior

        def write(ext, out) -> None:
            self.store.write_row(self.specs[ext.name], keys[ext.name], out)
            self.store.clear_errors(vid, [ext.name])
            result["written"].append(ext.name)

        _outs, errs = self.analyzer.run(inputs, names, skip=skip, on_output=write)
        for name, why in errs.items():
            fail(name, "extractor_error", f"{path or vid}: extractor_error: {why}")
        result["status"] = "failed" if result["errors"] else "done"
        result["seconds"] = time.perf_counter() - t0
        return result

    def _write_index(self, vid: str, path: str | None, media_hash: str | None, text_hash: str | None) -> None:
        import pandas as pd

        from reelscore.features.store import _vid_name

        p = self.store.path / "index" / f"{_vid_name(vid)}.parquet"
        if p.exists():
            old = pd.read_parquet(p).iloc[0].to_dict()
            same = (old.get("path"), old.get("media_hash"), old.get("text_hash")) == (path, media_hash, text_hash)
            if same:
                return
        self.store.write_index(vid, path, media_hash, text_hash)


def _clean(v: Any) -> str:
    from reelscore.features.minilm import clean_text

    return clean_text(v)


def _set_threads(n: int) -> None:
    from reelscore.common.threads import set_compute_threads

    set_compute_threads(n)


# --- engines -------------------------------------------------------------
_WORKER: VideoProcessor | None = None


def _init_worker(store_path: str, cfg_dict: dict) -> None:
    global _WORKER
    from reelscore.common.process import die_with_parent

    die_with_parent()()  # a killed `extract` takes its workers with it (idle ones would wait forever)
    _WORKER = VideoProcessor(store_path, ExtractConfig(**cfg_dict))


def _work(row: dict) -> dict:
    assert _WORKER is not None
    return _WORKER.process(row)


def _rows(manifest_df) -> list[dict]:
    recs = manifest_df.to_dict("records")
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()} for r in recs]


def extract(
    manifest_df,
    store_path: str | os.PathLike,
    extractors: list[str] | None = None,
    workers: int = 1,
    engine: str = "local",
    device: str = "cpu",
    batch_size: int = 16,
    ray_address: str | None = None,
    precision: str = "fp32",
    fps: float = 4.0,
    short_side: int = 360,
    clip_len: int = 16,
    threads: int = 0,
    options: dict[str, dict] | None = None,
    progress: bool | None = None,
) -> dict:
    """Extract features for every manifest row into `store_path`; returns a summary dict."""
    from reelscore.common.progress import make_progress

    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    from reelscore.common.devices import check_device

    check_device(device, precision)  # before any worker starts: no GPU is one line, not a traceback per video
    names = list(extractors) if extractors else list(DEFAULT_EXTRACTORS)
    order = resolve_order(names)
    cores = os.cpu_count() or 1
    cfg = ExtractConfig(
        extractors=order,
        fps=fps,
        short_side=short_side,
        clip_len=clip_len,
        device=device,
        batch_size=batch_size,
        precision=precision,
        threads=threads or max(1, cores // workers),
        options=dict(options or {}),
    )
    store = FeatureStore(store_path)
    store.path.mkdir(parents=True, exist_ok=True)
    store.clean_temp()
    # Specs come from the extractor objects themselves (no weights loaded here).
    plan = FramePlan(fps=fps, short_side=short_side, clip_len=clip_len)
    specs = [e.spec() for e in Analyzer.from_names(order, plan=plan, options=cfg.options,
                                                   precision=cfg.precision).extractors.values()]
    store.register(specs)
    rows = _rows(manifest_df)
    t0 = time.perf_counter()
    results: list[dict] = []
    with make_progress(disable=None if progress is None else not progress) as prog:
        task = prog.add_task(f"extract ({engine}, {workers} worker{'s' if workers > 1 else ''})", total=len(rows), rate="")

        def tick(res: dict) -> None:
            results.append(res)
            dt = time.perf_counter() - t0
            prog.update(task, advance=1, rate=f"{len(results) / dt:.2f} videos/s" if dt > 0 else "")

        if engine == "ray":
            _run_ray(rows, str(store.path), cfg, workers, ray_address, tick)
        elif workers == 1:
            proc = VideoProcessor(str(store.path), cfg)
            for r in rows:
                tick(proc.process(r))
        else:
            _run_pool(rows, str(store.path), cfg, workers, tick)
    wall = time.perf_counter() - t0
    counts = {s: sum(r["status"] == s for r in results) for s in ("done", "skipped", "failed")}
    return {
        "store": str(store.path),
        "engine": engine,
        "workers": workers,
        "extractors": order,
        "videos": len(rows),
        **counts,
        "errors": sum(len(r["errors"]) for r in results),
        "error_rows": [dict(video_id=r["video_id"], **e) for r in results for e in r["errors"]],
        "seconds": round(wall, 3),
        "videos_per_s": round(len(rows) / wall, 3) if wall > 0 else None,
    }


def _run_pool(rows: list[dict], store_path: str, cfg: ExtractConfig, workers: int, tick) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("spawn")  # fork after torch/ONNX threads start is unsafe
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(store_path, dataclasses.asdict(cfg))) as ex:
        futs = [ex.submit(_work, r) for r in rows]
        for f in as_completed(futs):
            tick(f.result())


def _run_ray(rows: list[dict], store_path: str, cfg: ExtractConfig, workers: int, address: str | None, tick) -> None:
    try:
        import ray
        from ray.util import ActorPool
    except ImportError as exc:  # pragma: no cover - install problem
        raise RuntimeError("--engine ray needs the `ray` package (pip install 'ray[default]')") from exc

    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=max(workers, 1), include_dashboard=False, log_to_driver=False, configure_logging=False)
        started = True
    try:
        Worker = ray.remote(num_cpus=1)(_RayWorker)
        actors = [Worker.remote(store_path, dataclasses.asdict(cfg)) for _ in range(workers)]
        pool = ActorPool(actors)
        for res in pool.map_unordered(lambda a, r: a.process.remote(r), rows):
            tick(res)
    finally:
        if started:
            ray.shutdown()


class _RayWorker:
    """A Ray actor holding one VideoProcessor (weights loaded once)."""

    def __init__(self, store_path: str, cfg_dict: dict) -> None:
        self.proc = VideoProcessor(store_path, ExtractConfig(**cfg_dict))

    def process(self, row: dict) -> dict:
        return self.proc.process(row)
