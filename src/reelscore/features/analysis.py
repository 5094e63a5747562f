"""One analysis: a video (and its texts) → its features, for every entry point.

`extract` (store), `score` (in memory), the per-second timeline (windows of the
same decode), the service and `predict --manifest` all go through `Analyzer`:
probe → decode once (the shared frame grid at the plan's size, the extra
samplings extractors ask for, the audio in every rate/layout asked for) →
extractors in dependency order → outputs plus a reason for each extractor that
could not answer. Outside `media/`, this is the only module that opens a video.
"""

from __future__ import annotations

import dataclasses
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from reelscore.features.base import (
    Bitstream,
    Extractor,
    ExtractorOutput,
    FirstFrames,
    FramePlan,
    IndexFrames,
    VideoInputs,
)

OutputHook = Callable[[Extractor, ExtractorOutput], None]


@dataclass
class Analysis:
    """The result of analysing one video: its inputs, each extractor's output, and what failed and why."""

    video_id: str
    path: str | None
    inputs: VideoInputs | None = None
    outputs: dict[str, ExtractorOutput] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # extractor → reason
    media_error: Any = None  # a MediaError for the whole file (probe or frame decode failed)
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The file could be read (individual extractors may still have failed)."""
        return self.media_error is None


def _media_needs(extractors: Iterable[Extractor]) -> set[str]:
    return set().union(*(e.needs for e in extractors)) if extractors else set()


def _grey_small(req: FirstFrames):
    import cv2

    def f(rgb: np.ndarray) -> np.ndarray:
        if req.short_side > 0:
            # grey before the area resize: one channel to average instead of three (4x less work)
            src = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if req.grey else rgb
            h, w = src.shape[:2]
            s = req.short_side / min(h, w)
            return src if s >= 1 else cv2.resize(src, (max(1, round(w * s)), max(1, round(h * s))),
                                                 interpolation=cv2.INTER_AREA)
        else:
            small = cv2.resize(rgb, (req.width, req.height), interpolation=cv2.INTER_LINEAR)
        return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) if req.grey else small

    return f


def _tap_first_frames(reader, first: list[FirstFrames]) -> dict[FirstFrames, "_FirstView"]:
    """One tap for every FirstFrames request: each frame is converted to native RGB once, and requests that
    differ only in `n` share their small frames (a shorter one is a prefix of the longest)."""
    if not first:
        return {}
    shape = lambda r: dataclasses.replace(r, n=0)  # noqa: E731
    longest: dict[FirstFrames, int] = {}
    for r in first:
        longest[shape(r)] = max(longest.get(shape(r), 0), r.n)
    kinds = [(k, n, _grey_small(k)) for k, n in longest.items()]
    seen = [0]

    def convert(rgb: np.ndarray) -> dict:
        i, seen[0] = seen[0], seen[0] + 1  # the tap hands frames over in order, once each
        return {k: f(rgb) for k, n, f in kinds if i < n}

    got = reader.tap_first(max(longest.values()), transform=convert)
    return {r: _FirstView(got, shape(r), r.n) for r in first}


class _FirstView:
    """The first `n` frames of one shape from a shared first-frames tap, as the (t, array) list a tap gives."""

    def __init__(self, got: list, kind: FirstFrames, n: int) -> None:
        self._got, self._kind, self._n = got, kind, n

    def items(self) -> list[tuple[float, np.ndarray]]:
        """(t, array) of the frames collected for this request."""
        return [(t, d[self._kind]) for t, d in self._got[: self._n] if self._kind in d]


def _qp_of(frame) -> tuple[str, float | None]:
    from reelscore.media.bitstream import frame_qp, picture_type

    return picture_type(frame), frame_qp(frame)


class Analyzer:
    """The extractors of one run (set up once) and the one way to take a video to their outputs."""

    concurrent_qp_pass = True  # False = the QP pass after the grid decode (bench/qp_pass_ab.py compares)
    # True: extractors with a grid pass are fed during the decode and the grid is not kept (bounded memory);
    # False: the whole grid is kept in inputs.frames and extractors read it there (same values);
    # None (default): stream when the kept grid would exceed stream_above_bytes. Streaming costs ~4 % more
    # CPU (chunked conversion, a feeder thread; bench/stream_grid_ab.py), so short videos keep theirs.
    stream_grid: bool | None = None
    stream_above_bytes = 256 * 2**20  # ~3 min at 2 frames/s and 360x640; a 10-min video's grid is ~0.8 GB
    # True: on one decoding thread, H.264/HEVC pictures no extractor reads and nothing references are not
    # decoded (the frames read are bit-identical; bench/skip_unread_ab.py measures the saving)
    skip_unread = True

    def __init__(self, extractors: list[Extractor], plan: FramePlan | None = None, device: str = "cpu",
                 threads: int = 2, batch_size: int | None = None, precision: str = "fp32") -> None:
        self.extractors = {e.name: e for e in extractors}  # dependency order
        self.plan = plan or FramePlan()
        for e in extractors:
            e.plan = self.plan
            # the networks' batch and precision (fp16 changes values, so it is in their store key)
            if batch_size is not None and hasattr(e, "batch_size"):
                e.batch_size = int(batch_size)
            if hasattr(e, "precision"):
                e.precision = precision
        self.device = device
        self.threads = max(1, int(threads))
        self._ready: set[str] = set()
        self.setup_errors: dict[str, str] = {}

    @classmethod
    def from_names(cls, names: list[str], plan: FramePlan | None = None, options: dict[str, dict] | None = None,
                   device: str = "cpu", threads: int = 2, batch_size: int | None = None,
                   precision: str = "fp32") -> "Analyzer":
        """Build the named extractors (plus what they read), in dependency order; no weights are loaded."""
        from reelscore.features.registry import get_extractor, resolve_order

        exts = [get_extractor(n, **(options or {}).get(n, {})) for n in resolve_order(list(names))]
        return cls(exts, plan=plan, device=device, threads=threads, batch_size=batch_size, precision=precision)

    def setup(self, names: Iterable[str] | None = None) -> dict[str, str]:
        """Load weights of the named extractors now (idempotent); returns {name: why it cannot load}."""
        for n in names if names is not None else list(self.extractors):
            if n in self._ready or n in self.setup_errors:
                continue
            try:
                self.extractors[n].setup(self.device)
                self._ready.add(n)
            except Exception as exc:  # a missing weight is that extractor's gap, not the run's end
                self.setup_errors[n] = f"extractor {n!r} unavailable: {type(exc).__name__}: {exc}"
        return dict(self.setup_errors)

    # ---- decode ---------------------------------------------------------------
    def decode(self, path: str, video_id: str, texts: dict[str, str] | None = None,
               names: Iterable[str] | None = None, info=None) -> VideoInputs:
        """Probe (unless `info` is given) and decode once what the named extractors read.

        Raises MediaError when the file cannot be used at all; a failed audio decode is recorded in
        `inputs.audio_error` (extractors that need audio then fail with that reason).
        """
        from reelscore.media import (
            AudioSpec,
            MediaError,
            decode_audio_tracks,
            probe,
        )

        exts = [self.extractors[n] for n in (names if names is not None else self.extractors)]
        needs = _media_needs(exts)
        inputs = VideoInputs(video_id=video_id, path=path, texts=dict(texts or {}), plan=self.plan)
        if not needs & {"frames", "audio", "media"}:
            return inputs
        if info is None:
            info = probe(path)
        inputs.info = info.to_dict()
        inputs.duration_s = float(info.duration_s)
        requests = [r for e in exts for r in e.requests()]
        if "frames" in needs:
            inputs.grid_step = self.grid_step(exts)
            self._decode_frames(path, info, inputs, requests, self._grid_passes(exts, inputs, info))
        if "audio" in needs:
            specs = [AudioSpec(16000, "mono")] + [r for r in requests if isinstance(r, AudioSpec)]
            specs = list(dict.fromkeys(specs))
            try:
                tracks = decode_audio_tracks(path, specs)
                inputs.audio, inputs.audio_rate = tracks[0].samples, tracks[0].sample_rate
                for s, tr in zip(specs[1:], tracks[1:]):
                    inputs.extra[s] = tr.samples
            except MediaError as exc:
                if exc.code != "no_audio_stream":
                    inputs.audio_error = exc
                inputs.audio_missing = exc.message if exc.code == "no_audio_stream" else str(exc)
        return inputs

    def grid_step(self, exts: Iterable[Extractor]) -> int:
        """Every how many grid frames the decode converts: the gcd of what the extractors read, at least one
        frame per second (a 1-s timeline window always holds a frame, and starts on a converted one)."""
        import math

        fps = self.plan.fps
        if not float(fps).is_integer() or fps < 1:
            return 1
        return math.gcd(int(fps), *(int(e.grid_stride) for e in exts if "frames" in e.needs))

    def grid_bytes(self, exts: Iterable[Extractor], duration_s: float, width: int, height: int) -> int:
        """Bytes of the grid a video of this length and size would keep (the frames its extractors read)."""
        s = min(1.0, self.plan.short_side / max(1, min(width, height)))
        n = self.plan.timestamps(duration_s)[:: self.grid_step(exts)].size
        return int(n * round(width * s) * round(height * s) * 3)

    @staticmethod
    def _grid_readers(exts: Iterable[Extractor]) -> list[Extractor]:
        return [e for e in exts if "frames" in e.needs and e.grid_stride > 0]

    def _streams(self, exts: list[Extractor], duration_s: float | None, size: tuple[int, int]) -> bool:
        """Whether the grid goes to grid passes during the decode instead of being kept: every grid reader has
        a pass, and streaming is on, or (auto) the kept grid would pass `stream_above_bytes`."""
        readers = self._grid_readers(exts)
        if not readers or self.stream_grid is False or any(type(e).grid_pass is Extractor.grid_pass for e in readers):
            return False
        if self.stream_grid is None:
            return duration_s is not None and self.grid_bytes(exts, duration_s, *size) > self.stream_above_bytes
        return True

    def keeps_grid(self, names: Iterable[str] | None = None, duration_s: float | None = None,
                   size: tuple[int, int] = (1920, 1080)) -> bool:
        """Whether decoding for these extractors keeps the whole grid: some grid reader has no grid pass,
        streaming is off, or (auto) the video is short enough for its grid to be kept."""
        exts = [self.extractors[n] for n in (names if names is not None else self.extractors)]
        return bool(self._grid_readers(exts)) and not self._streams(exts, duration_s, size)

    def _grid_passes(self, exts: list[Extractor], inputs: VideoInputs, info) -> dict[str, tuple[Extractor, Any]] | None:
        """The grid passes to feed during the decode (none when nothing reads the grid), or None when the grid
        is kept (see `_streams`). Extractors that cannot set up are left out (they fail with that reason)."""
        readers = self._grid_readers(exts)
        if readers and not self._streams(exts, float(info.duration_s or 0.0), (info.width, info.height)):
            return None
        self.setup([e.name for e in readers])
        passes = {}
        for e in readers:
            if e.name in self.setup_errors:
                continue
            p = e.grid_pass(inputs)
            if p is None:
                return None
            passes[e.name] = (e, p)
        return passes

    def _decode_frames(self, path: str, info, inputs: VideoInputs, requests: list,
                       passes: dict[str, tuple[Extractor, Any]] | None = None) -> None:
        """The one frame decode: the grid (fed to `passes` chunk by chunk, or kept when `passes` is None), the
        first-frame and index-frame taps, and the bitstream requests."""
        from concurrent.futures import ThreadPoolExecutor

        from reelscore.media import VideoReader
        from reelscore.media.bitstream import BitstreamInfo, read_bitstream, release_decoded_frames

        first = [r for r in requests if isinstance(r, FirstFrames)]
        index = [r for r in requests if isinstance(r, IndexFrames)]
        bits = list(dict.fromkeys(r for r in requests if isinstance(r, Bitstream)))
        side = min(self.plan.short_side, min(info.width, info.height))
        # On one decoding thread (a `--workers N` process) the grid's own decode can export the QP, so the
        # bitstream request needs no second decode; with frame threads it gets its own single-threaded
        # pass, run beside the grid decode on the core time frame threading leaves idle.
        qp_here = bool(bits) and self.threads == 1
        with ThreadPoolExecutor(1, thread_name_prefix="qp-pass") as pool:
            qp_pass = ({r: pool.submit(read_bitstream, path, r.qp_frames) for r in bits}
                       if bits and not qp_here and self.concurrent_qp_pass else {})
            with VideoReader(path, short_side=side, threads=self.threads, info=info, export_qp=qp_here) as reader:
                dur = float(reader.video_duration_s or info.duration_s)
                grid = self.plan.timestamps(dur)[:: inputs.grid_step]
                taps = _tap_first_frames(reader, first)
                qp_taps = {r: reader.tap_first_raw(r.qp_frames, _qp_of) for r in bits} if qp_here else {}
                extra_t: dict[IndexFrames, np.ndarray] = {}
                # one demux pass for every index request, the packet sizes the bitstream request reads, and
                # the frame times that let a one-thread decoder skip pictures nobody reads
                times, packets = reader.packet_table() if index or qp_taps or reader.can_skip else (None, None)
                for r in index:
                    if times.size == 0:
                        inputs.extra_missing[r] = "no frames"
                        continue
                    idx = np.linspace(0, times.size - 1, r.count).astype(int)  # floor, as numpy's int cast
                    extra_t[r] = times[idx]
                caught = {r: reader.tap_at(ts) for r, ts in extra_t.items()}
                extra_all = np.unique(np.concatenate(list(extra_t.values()))) if extra_t else np.zeros(0)
                if self.skip_unread and times is not None:
                    first_n = max([r.n for r in first] + [r.qp_frames for r in qp_taps], default=0)
                    reader.skip_unread(np.concatenate([grid, extra_all]), first=first_n)
                held = self._decode_grid(reader, grid, extra_all, inputs, passes)
                reader.finish_taps()
            for r in bits:
                if r in qp_taps:
                    inputs.extra[r] = BitstreamInfo(packets, list(qp_taps[r]))
                else:
                    inputs.extra[r] = qp_pass[r].result() if r in qp_pass else read_bitstream(path, r.qp_frames)
        if qp_taps:
            release_decoded_frames()
        inputs.frames, inputs.timestamps = held, grid
        inputs.duration_s = dur
        for r, view in taps.items():
            got = view.items()
            inputs.extra[r] = np.stack([a for _, a in got]) if got else None
            if not got:
                inputs.extra_missing[r] = "no decodable frames"
        for r, ts in extra_t.items():
            inputs.extra[r] = np.stack([caught[r][float(t)] for t in ts])

    @staticmethod
    def _decode_grid(reader, grid: np.ndarray, extra: np.ndarray, inputs: VideoInputs,
                     passes: dict[str, tuple[Extractor, Any]] | None) -> np.ndarray | None:
        """Walk the video once in time order: grid frames converted GRID_CHUNK at a time and handed to the
        passes (or kept), index-frame times visited on the way for their taps. Returns the kept grid or None."""
        from concurrent.futures import ThreadPoolExecutor

        from reelscore.features.base import GRID_CHUNK

        held = np.empty((grid.size, *reader.frame_shape), np.uint8) if passes is None else None
        live = dict(passes or {})
        if held is None and not live:  # nothing reads the grid: only the index frames are visited (seeks allowed)
            for t in extra:
                reader.visit(float(t))
            return None
        step = inputs.grid_step
        buf: list[int] = []

        def feed(frames: np.ndarray, idx: np.ndarray) -> None:
            for name, (ext, p) in list(live.items()):
                sel = (idx * step) % ext.grid_stride == 0
                if not sel.any():
                    continue
                try:
                    p.add(frames[sel], grid[idx[sel]])
                except Exception as exc:  # that extractor's failure; the decode and the others go on
                    inputs.grid_results[name] = exc
                    del live[name]

        # the passes work on one chunk in a thread while the next chunk is decoded (at most two chunks alive)
        with ThreadPoolExecutor(1, thread_name_prefix="grid-pass") as feeder:
            pending: list = []

            def flush() -> None:
                if not buf:
                    return
                idx = np.asarray(buf)
                buf.clear()
                frames = reader.frames_at(grid[idx]).frames
                if held is not None:
                    held[idx] = frames
                    return
                if pending:
                    pending.pop().result()
                pending.append(feeder.submit(feed, frames, idx))

            e = 0
            for i, t in enumerate(grid):
                while e < extra.size and extra[e] < t:
                    flush()  # grid frames before an index frame are converted before it is visited
                    reader.visit(float(extra[e]))
                    e += 1
                buf.append(i)
                if len(buf) >= GRID_CHUNK:
                    flush()
            flush()
            for t in extra[e:]:
                reader.visit(float(t))
            if pending:
                pending.pop().result()
        for name, (ext, p) in live.items():
            try:
                inputs.grid_results[name] = p.result()
            except Exception as exc:
                inputs.grid_results[name] = exc
        return held

    # ---- extractors -----------------------------------------------------------
    def run(self, inputs: VideoInputs, names: Iterable[str] | None = None, skip: Iterable[str] = (),
            on_output: OutputHook | None = None, on_stage: Callable[[str, int, int], None] | None = None
            ) -> tuple[dict[str, ExtractorOutput], dict[str, str]]:
        """Run the named extractors in dependency order on decoded inputs → (outputs, errors)."""
        names = [n for n in self.extractors if names is None or n in set(names)]
        outs: dict[str, ExtractorOutput] = {}
        errors: dict[str, str] = {}
        skip = set(skip)
        for i, name in enumerate(names):
            if on_stage is not None:
                on_stage(name, i, len(names))
            if name in skip:
                continue
            ext = self.extractors[name]
            # a dependency that failed here is an error; one not run (a text-only row) leaves the extractor to cope
            missing = [d for d in ext.requires if d in errors]
            if missing:
                errors[name] = f"needs {', '.join(missing)}, which failed"
                continue
            if "audio" in ext.needs and inputs.audio_error is not None:
                errors[name] = str(inputs.audio_error)
                continue
            self.setup([name])
            if name in self.setup_errors:
                errors[name] = self.setup_errors[name]
                continue
            try:
                out = ext.extract(inputs)
            except Exception as exc:  # one extractor failing leaves the others and says why
                errors[name] = f"{type(exc).__name__}: {exc}"
                if os.environ.get("REELSCORE_DEBUG") == "1":
                    traceback.print_exc()
                continue
            outs[name] = out
            inputs.prior[name] = out
            if on_output is not None:
                on_output(ext, out)
        return outs, errors

    def analyze(self, path: str | None, video_id: str | None = None, texts: dict[str, str] | None = None,
                names: Iterable[str] | None = None,
                on_stage: Callable[[str, int, int], None] | None = None) -> Analysis:
        """Probe, decode once and run the extractors on one video; never raises for a bad input."""
        from reelscore.media import MediaError

        names = list(self.extractors) if names is None else [n for n in self.extractors if n in set(names)]
        vid = video_id or (os.path.splitext(os.path.basename(path))[0] if path else "video")
        res = Analysis(video_id=vid, path=path)
        t0 = time.perf_counter()
        media_names = [n for n in names if self.extractors[n].needs & {"frames", "audio", "media"}]
        try:
            if path is None and media_names:
                raise MediaError("not_found", "", "no video file given")
            res.inputs = self.decode(path, vid, texts, names) if path is not None else VideoInputs(
                video_id=vid, texts=dict(texts or {}), plan=self.plan)
        except MediaError as exc:
            res.media_error = exc
            res.inputs = VideoInputs(video_id=vid, path=path, texts=dict(texts or {}), plan=self.plan)
            for n in media_names:
                res.errors[n] = str(exc)
        res.timing["decode"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        outs, errs = self.run(res.inputs, names, skip=res.errors, on_stage=on_stage)
        res.outputs, res.errors = outs, {**res.errors, **errs}
        res.timing["features"] = time.perf_counter() - t1
        return res

    # ---- windows ----------------------------------------------------------------
    @staticmethod
    def window(inputs: VideoInputs, start: float, end: float) -> VideoInputs | None:
        """The inputs of [start, end) as if it were a clip of its own (times shifted to 0); None without frames."""
        w = dataclasses.replace(inputs, video_id=f"{inputs.video_id}@{start:g}", prior={},
                                duration_s=float(end - start), extra={}, extra_missing={}, grid_results={})
        if inputs.frames is not None:
            sel = (inputs.timestamps >= start - 1e-9) & (inputs.timestamps < end - 1e-9)
            if not sel.any():
                return None
            w.frames, w.timestamps = inputs.frames[sel], inputs.timestamps[sel] - start
        if inputs.audio is not None:
            r = inputs.audio_rate
            w.audio = np.ascontiguousarray(inputs.audio[int(start * r):int(end * r)])
            if w.audio.size < r // 4:  # under 0.25 s of sound is not a window the tagger can read
                w.audio = None
                w.audio_missing = "window shorter than 0.25 s"
        return w
