"""VideoReader: exact, threaded PyAV decoding to uint8 RGB frames as displayed.

Time is measured in seconds from the video stream's start time (its first frame
is at t = 0 in nearly every file). "The frame at t" is the frame on screen at t: the last frame
whose presentation time is <= t (the first frame for t before it, the last frame
for t after the end). Frames are selected by presentation timestamps, never by
counting, so variable-frame-rate input is exact.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from reelscore.media.errors import MediaError, MediaLimits
from reelscore.media.probe import VideoInfo, open_container, probe, video_streams
from reelscore.media.sniff import truncation_reason

# Presentation times are compared with this slack so that t = i/fps, computed in
# floating point, still selects frame i.
EPS = 1e-6


@dataclass
class FrameSample:
    """Frames and the times (s) they were requested at: timestamps float64 [N], frames uint8 [N,H,W,3]."""

    timestamps: np.ndarray
    frames: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])


class VideoReader:
    """Decode a video with PyAV (threaded); `with VideoReader(path, short_side=224) as r: r.frames_at([0, 1])`.

    `short_side` resizes on decode (aspect kept, the displayed short side becomes N);
    rotation metadata is applied after decode, so frames are as displayed.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        short_side: int | None = None,
        threads: int = 2,
        limits: MediaLimits | None = None,
        interpolation: str = "AREA",
        *,
        info: VideoInfo | None = None,
        export_qp: bool = False,
    ) -> None:
        self.path = Path(path)
        # Encoder parameters (per-block QP) exported on decoded frames; only on one decoding thread,
        # because FFmpeg's frame threads race with the export (media/bitstream.py).
        self._export_qp = bool(export_qp)
        # A caller that has just probed the file may pass the VideoInfo to skip a second probe.
        self.info: VideoInfo = info if info is not None else probe(self.path, limits)
        self._limits = limits
        self._threads = max(1, int(threads))
        self._container = open_container(self.path, limits)
        try:
            self._setup(short_side, threads, interpolation)
        except BaseException:
            self.close()
            raise

    def _setup(self, short_side: int | None, threads: int, interpolation: str) -> None:
        import av

        self._open_stream()
        self._tb = self._stream.time_base or Fraction(1, 90000)
        # Origin: the video stream's first timestamp (container starts differ between FFmpeg versions).
        if self._stream.start_time is not None:
            self._origin = float(self._stream.start_time * self._tb)
        elif self._container.start_time is not None:
            self._origin = float(self._container.start_time / av.time_base)
        else:
            self._origin = 0.0
        self.rotation = self.info.rotation
        sw, sh = self.info.stored_size
        if short_side is not None:
            if short_side <= 0:
                raise ValueError(f"short_side must be positive, got {short_side}")
            scale = short_side / min(sw, sh)
            sw, sh = (short_side, max(1, round(sh * scale))) if sw <= sh else (max(1, round(sw * scale)), short_side)
        self._out_w, self._out_h = int(sw), int(sh)
        self._interp = interpolation
        self.short_side = short_side
        self.video_duration_s = self._video_duration()
        self._keyframes = self._keyframe_times()
        self._gen: Iterator | None = None
        self._prev: tuple[float, object] | None = None  # last frame at or before the target
        self._ahead: tuple[float, object] | None = None  # first decoded frame after it
        self._eof = False
        self._fallback_t = 0.0
        self.decoded_frames = 0  # frames decoded so far (for benchmarks and tests)
        self.seeks = 0
        # Taps: callbacks that see every decoded frame (t, av.VideoFrame, ordinal from the start or None
        # after a seek), so one decode pass can serve several samplings (see `tap_first`).
        self._taps: list = []
        self._ordinal: int | None = None
        self._hold_until = 0  # no seeking until this many frames from the start were decoded
        self._pending: list = []  # (kind, spec, collected) of each tap, for finish_taps
        self._needed: set[int] | None = None  # pts of the pictures some caller reads (skip_unread); None: all
        self._frame_pts: np.ndarray | None = None  # every frame's pts, sorted (packet_table; None: some untimed)
        self._frame_times: np.ndarray | None = None  # the same frames' times (s), as packet_table returns them

    # -- context manager -------------------------------------------------
    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the decoder and file."""
        if self._container is not None:
            self._container.close()
            self._container = None

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """(H, W, 3) of the frames this reader returns (displayed orientation, after resize)."""
        w, h = self._out_w, self._out_h
        return (w, h, 3) if self.rotation in (90, 270) else (h, w, 3)

    # -- decoding --------------------------------------------------------
    def _open_stream(self) -> None:
        self._stream = video_streams(self._container)[0]
        self._skip_mode = "DEFAULT"  # a fresh decoder decodes every frame
        cc = self._stream.codec_context
        if self._export_qp:
            cc.thread_type = "NONE"
            cc.options = {**dict(cc.options or {}), "export_side_data": "venc_params"}
        else:
            cc.thread_type = "AUTO"
            cc.thread_count = self._threads

    def _rewind(self) -> None:
        """Reopen the file: the only start-of-stream position every demuxer (MPEG-TS too) gets exactly right."""
        self._container.close()
        self._container = open_container(self.path, self._limits)
        self._open_stream()

    def _video_duration(self) -> float:
        """The video stream's own length: its duration field, else the end of its last packet."""
        import av

        if self._stream.duration:
            return float(self._stream.duration * self._tb)
        # WebM/Matroska keep no per-stream duration, and the container's may include
        # longer audio; a demux-only pass (no decoding) finds the end of the video.
        period = 1.0 / (self.info.fps or 25.0)
        end = None
        try:
            for pkt in self._container.demux(self._stream):
                if pkt.pts is None or not pkt.size:
                    continue
                dur = float(pkt.duration * self._tb) if pkt.duration else period
                t = float(pkt.pts * self._tb) - self._origin + dur
                end = t if end is None else max(end, t)
        except av.error.FFmpegError as exc:
            raise self._wrap(exc) from None
        self._container.seek(0, stream=self._stream, backward=True)
        return end if end is not None else self.info.duration_s

    def _keyframe_times(self) -> list[float]:
        try:
            entries = self._stream.index_entries
            times = sorted(
                float(e.timestamp * self._tb) - self._origin for e in entries if e.is_keyframe and not e.is_discard
            )
        except Exception:  # not every demuxer keeps an index
            return []
        return times

    def _time_of(self, frame) -> float:
        if frame.pts is None:
            # No timestamps (raw streams): one nominal frame period after the last one.
            self._fallback_t += 1.0 / (self.info.fps or 25.0)
            return self._fallback_t
        t = float(frame.pts * self._tb) - self._origin
        self._fallback_t = t
        return t

    def _wrap(self, exc: Exception) -> MediaError:
        reason = truncation_reason(self.path)
        if reason:
            return MediaError("truncated", self.path, reason)
        return MediaError("corrupt", self.path, f"decoding failed ({getattr(exc, 'strerror', None) or exc})")

    def _decode(self, from_key: bool = False) -> Iterator[tuple[float, object]]:
        import av

        try:
            for packet in self._container.demux(self._stream):
                if self._needed is not None:
                    mode = "DEFAULT" if packet.pts is None or packet.pts in self._needed else "NONREF"
                    if mode != self._skip_mode:
                        self._stream.codec_context.skip_frame = mode
                        self._skip_mode = mode
                for frame in packet.decode():
                    self.decoded_frames += 1
                    if from_key and not frame.key_frame:
                        # After a seek, frames before the first key frame may reference
                        # pictures that were never decoded (inexact seeks, open GOPs).
                        continue
                    from_key = False
                    t = self._time_of(frame)
                    for tap in self._taps:
                        tap(t, frame, self._ordinal)
                    if self._ordinal is not None:
                        self._ordinal += 1
                    yield t, frame
        except av.error.FFmpegError as exc:
            raise self._wrap(exc) from None

    def _start(self, t: float | None) -> None:
        """Restart decoding: from the beginning (t None) or from the key frame at or before t."""
        if t is None or t <= 0:
            self._rewind()
        else:
            target = int(np.floor((t + self._origin) / self._tb))
            self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        self.seeks += 1
        self._ordinal = 0 if t is None or t <= 0 else None  # ordinals count from the file's start only
        self._gen = self._decode(from_key=t is not None and t > 0)
        self._prev, self._ahead, self._eof = None, None, False
        self._pull()

    def _pull(self) -> None:
        """Move the one-frame look-ahead forward."""
        try:
            self._ahead = next(self._gen)
        except StopIteration:
            self._ahead, self._eof = None, True

    def _seek_to(self, t: float) -> None:
        """Seek so that the first decoded frame is at or before t (retrying earlier on overshoot)."""
        back = 0.0
        while True:
            self._start(t - back if t - back > 0 else None)
            if t - back <= 0 or (self._ahead is not None and self._ahead[0] <= t + EPS):
                return
            # Landed after t (key frame pts > dts, inexact demuxer seek) or past the last
            # key frame: try further back; the start of the file always works.
            back = max(1.0, back * 2)

    def _worth_seeking(self, t: float) -> bool:
        """Seek when a key frame lies between the decode position and t; otherwise decode forward."""
        cur = self._ahead[0] if self._ahead is not None else (self._prev[0] if self._prev else None)
        if self._gen is None or cur is None:
            return True
        if self._prev is not None and t < self._prev[0] - EPS:
            return True  # going backwards
        if self._ordinal is not None and self._ordinal < self._hold_until:
            return False  # a tap still wants the first frames in order
        if t <= cur + EPS:
            return False
        if self._keyframes:
            i = bisect.bisect_right(self._keyframes, t + EPS) - 1
            period = 1.0 / (self.info.fps or 25.0)
            return i >= 0 and self._keyframes[i] > cur + 2 * period
        return t - cur > 2.0

    def _advance(self, t: float) -> None:
        while self._ahead is not None and self._ahead[0] <= t + EPS:
            self._prev = self._ahead
            self._pull()

    def _frame_at(self, t: float) -> object:
        """The av.VideoFrame displayed at t."""
        if self._worth_seeking(t):
            self._seek_to(t)
        self._advance(t)
        if self._prev is None and self._ahead is None:
            # Nothing decodable from the seek point: decode from the very start.
            self._start(None)
            self._advance(t)
        if self._prev is not None:
            return self._prev[1]
        if self._ahead is not None:
            return self._ahead[1]  # t before the first frame
        raise MediaError("zero_duration", self.path, "no decodable frames")

    def visit(self, t: float) -> None:
        """Decode on to the frame displayed at t without converting it (taps see every frame on the way)."""
        self._frame_at(float(t))

    def tap_first(self, n: int, size: tuple[int, int] | None = (0, 0), transform=None) -> list:
        """Collect the first `n` decoded frames as (t, array) during the next decode from the start.

        Frames are RGB as displayed (`size` as in `to_rgb`; native by default), passed through
        `transform` when given (so a caller keeps small arrays, not native frames). They are not
        decoded twice: `frames_at` feeds the tap while it decodes (and does not seek past them);
        call `finish_taps()` afterwards.
        """
        def item(t: float, frame) -> tuple[float, np.ndarray]:
            rgb = self.to_rgb(frame, size=size)
            return t, transform(rgb) if transform is not None else rgb

        return self._tap_first(n, item)

    def tap_first_raw(self, n: int, fn) -> list:
        """Collect fn(av.VideoFrame) of the first `n` decoded frames during the next decode from the start
        (as `tap_first`, without converting the picture: e.g. the QP of a reader made with export_qp)."""
        return self._tap_first(n, lambda _t, frame: fn(frame))

    def _tap_first(self, n: int, item) -> list:
        got: list = []
        self._hold_until = max(self._hold_until, int(n))

        def tap(t: float, frame, ordinal: int | None) -> None:
            if ordinal is not None and ordinal < n and len(got) == ordinal:
                got.append(item(t, frame))

        self._taps.append(tap)
        self._pending.append(("first", n, got))
        return got

    def tap_at(self, times: Sequence[float], size: tuple[int, int] | None = (0, 0)) -> dict[float, np.ndarray]:
        """Catch the frames whose presentation time is one of `times` (exact frame times, e.g. from
        `frame_times()`) at `size` (native by default) while `frames_at` decodes; include the times in
        the `frames_at` call so they are decoded. `finish_taps()` fetches any that a seek skipped."""
        want = {float(t) for t in times}
        got: dict[float, np.ndarray] = {}

        def tap(t: float, frame, _ordinal: int | None) -> None:
            for w in want:
                if w not in got and abs(t - w) < EPS:
                    got[w] = self.to_rgb(frame, size=size)

        self._taps.append(tap)
        self._pending.append(("at", (want, size), got))
        return got

    def finish_taps(self) -> None:
        """Complete and remove every tap: decode on until `tap_first` lists are full (or the video
        ends), then decode any `tap_at` frame not caught yet."""
        firsts = [(n, got) for kind, n, got in self._pending if kind == "first"]
        ats = [(spec, got) for kind, spec, got in self._pending if kind == "at"]
        if firsts and any(len(g) < n for n, g in firsts):
            if self._ordinal is None or self._gen is None:
                self._start(None)
            while not self._eof and any(len(g) < n for n, g in firsts):
                self._prev = self._ahead
                self._pull()
        self._taps, self._pending, self._hold_until = [], [], 0
        for (want, size), got in ats:
            for w in sorted(want - set(got)):
                got[w] = self.to_rgb(self._frame_at(w), size=size)

    def to_rgb(self, frame, size: tuple[int, int] | None = None) -> np.ndarray:
        """Convert a decoded av.VideoFrame to uint8 RGB as displayed (resized, rotation applied).

        `size` = (width, height) of the displayed output overrides the reader's size; (0, 0) = native.
        """
        if size is None:
            w, h = self._out_w, self._out_h
        elif tuple(size) == (0, 0):
            w, h = frame.width, frame.height
        else:  # the displayed size is asked for; the stored picture is rotated after scaling
            w, h = (size[1], size[0]) if self.rotation in (90, 270) else (size[0], size[1])
        # swscale's own slice threads follow the reader's budget: a 1-thread worker converts on its one thread
        # (FFmpeg's default spreads each conversion over every core: ~20 % more CPU for the same pixels)
        arr = frame.to_ndarray(width=w, height=h, format="rgb24", interpolation=self._interp, threads=self._threads)
        if self.rotation:
            arr = np.rot90(arr, k=self.rotation // 90)
        return np.ascontiguousarray(arr)

    def frames_at(self, timestamps: Sequence[float] | np.ndarray) -> FrameSample:
        """The frames displayed at each time (s); seeks for sparse times, decodes through dense ones."""
        ts = np.asarray(timestamps, dtype=np.float64).ravel()
        if ts.size and not np.all(np.isfinite(ts)):
            raise ValueError("timestamps must be finite")
        out = np.empty((ts.size, *self.frame_shape), np.uint8)
        cache: tuple[object, np.ndarray] | None = None  # holds the frame so `is` stays meaningful
        for idx in np.argsort(ts, kind="stable"):
            frame = self._frame_at(float(ts[idx]))
            if cache is None or cache[0] is not frame:
                cache = (frame, self.to_rgb(frame))
            out[idx] = cache[1]
        return FrameSample(timestamps=ts, frames=out)

    def iter_frames(self, start_s: float = 0.0, end_s: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
        """Every frame with start_s <= t < end_s, in order, as (t, uint8 RGB HxWx3)."""
        if start_s > 0:
            self._seek_to(start_s)
        else:
            self._start(None)
        while self._ahead is not None:
            t, frame = self._ahead
            if end_s is not None and t >= end_s - EPS:
                break
            self._prev = self._ahead
            if t >= start_s - EPS:
                yield t, self.to_rgb(frame)
            self._pull()
        # The decode position is now arbitrary; frames_at starts afresh.
        self._gen = None

    def frame_times(self) -> np.ndarray:
        """Presentation times (s) of every frame, from a demux-only pass (no decoding)."""
        return self.packet_table()[0]

    SKIPPABLE_CODECS = frozenset({"h264", "hevc"})  # mark non-reference pictures in the bitstream

    @property
    def can_skip(self) -> bool:
        """Whether `skip_unread` can work here: one decoding thread and a codec that marks non-reference
        pictures (with frame threads the decoder would see the switch packets late)."""
        return (self._export_qp or self._threads == 1) and self._stream.codec_context.name in self.SKIPPABLE_CODECS

    def skip_unread(self, read_at: np.ndarray, first: int = 0) -> bool:
        """Decode only the pictures some caller reads or others depend on: a non-reference picture (nothing
        is predicted from it) that is neither displayed at one of `read_at` (s) nor among the first `first`
        frames is not decoded at all. Every frame that is returned is bit-identical to a full decode
        (tested); frames in between are simply never produced. Needs `packet_table()` first (every frame's
        time) and every packet timed; returns whether skipping is on (see `can_skip`)."""
        pts, times = self._frame_pts, self._frame_times
        if not self.can_skip or pts is None or pts.size == 0:
            return False
        at = np.asarray(read_at, np.float64).ravel()
        idx = np.clip(np.searchsorted(times, at + EPS, side="right") - 1, 0, times.size - 1)
        self._needed = set(pts[idx].tolist()) | set(pts[: max(0, int(first))].tolist())
        return True

    def packet_table(self):
        """One demux-only pass (no decoding): the presentation times (s, sorted) of every frame, and every
        packet's size and key flag in decode order (media.bitstream.PacketStats)."""
        import av

        from reelscore.media.bitstream import PacketStats

        pts, sizes, keys = [], [], []
        self._rewind()  # from the very first packet, in every container (a seek to 0 is not exact in MPEG-TS)
        try:
            for pkt in self._container.demux(self._stream):
                if pkt.size:
                    sizes.append(int(pkt.size))
                    keys.append(bool(pkt.is_keyframe))
                    if pkt.pts is not None:
                        pts.append(int(pkt.pts))
        except av.error.FFmpegError as exc:
            raise self._wrap(exc) from None
        self._gen = None
        pts.sort()
        times = np.array([float(p * self._tb) - self._origin for p in pts], dtype=np.float64)  # as _time_of reads them
        self._frame_pts = np.array(pts, dtype=np.int64) if len(pts) == len(sizes) else None
        self._frame_times = times if self._frame_pts is not None else None
        return times, PacketStats(np.asarray(sizes, dtype=np.int64), np.asarray(keys, dtype=bool))
