"""probe(path) -> VideoInfo: what a media file is, or a MediaError saying why it is unusable."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelscore.media.errors import MediaError, MediaLimits
from reelscore.media.sniff import has_media_signature, looks_like_text, truncation_reason

# Demuxers that FFmpeg uses for still images and text; a file opened by them is not a video.
_NOT_VIDEO_FORMATS = {"image2", "tty", "lavfi", "ffmetadata", "srt", "webvtt", "ass", "txt"}


@dataclass
class VideoInfo:
    """What probe() found. width/height are as displayed (rotation applied); rotation is CCW degrees."""

    path: str
    duration_s: float
    fps: float
    frames: int
    width: int
    height: int
    rotation: int
    container: str
    video_codec: str
    bit_rate: int | None
    has_audio: bool
    audio_codec: str | None
    sample_rate: int | None
    channels: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict with the keys printed by `reelscore probe --json`."""
        return dataclasses.asdict(self)

    @property
    def stored_size(self) -> tuple[int, int]:
        """(width, height) of the decoded frames before rotation."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)


def video_streams(container) -> list:
    """The container's real video streams: cover art (attached pictures, thumbnails) excluded."""
    import av

    skip = av.stream.Disposition.attached_pic | av.stream.Disposition.timed_thumbnails
    return [s for s in container.streams.video if not (int(s.disposition) & int(skip))]


def _fail_open(path: Path, exc: Exception) -> MediaError:
    reason = truncation_reason(path)
    if reason:
        return MediaError("truncated", path, reason)
    if looks_like_text(path):
        return MediaError("not_a_video", path, "a text file, not a media file")
    if has_media_signature(path):
        return MediaError("corrupt", path, f"cannot be parsed as a media container ({_ffmsg(exc)})")
    return MediaError("not_a_video", path, f"not a recognised media format ({_ffmsg(exc)})")


def _ffmsg(exc: Exception) -> str:
    msg = getattr(exc, "strerror", None) or str(exc)
    return str(msg).strip().rstrip(".")


def open_container(path: str | os.PathLike, limits: MediaLimits | None = None):
    """Open `path` with PyAV after the cheap checks (exists, size, text); raise MediaError on failure."""
    import av

    p = Path(path)
    limits = limits or MediaLimits()
    if not p.exists():
        raise MediaError("not_found", p, "no such file")
    if p.is_dir():
        raise MediaError("not_a_video", p, "a directory, not a file")
    size = p.stat().st_size
    if size == 0:
        raise MediaError("zero_duration", p, "file is empty (0 bytes)")
    if limits.max_file_bytes is not None and size > limits.max_file_bytes:
        raise MediaError("too_large", p, f"file is {size} bytes; limit is {limits.max_file_bytes}")
    if looks_like_text(p) and not has_media_signature(p):
        raise MediaError("not_a_video", p, "a text file, not a media file")
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise _fail_open(p, exc) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _fail_open(p, exc) from None
    fmt = container.format.name
    if fmt in _NOT_VIDEO_FORMATS or fmt.endswith("_pipe"):
        container.close()
        what = "an image" if (fmt == "image2" or fmt.endswith("_pipe")) else f"a '{fmt}' file"
        raise MediaError("not_a_video", p, f"{what}, not a video")
    return container


_LIB_DECODERS = {"libdav1d": "av1", "libvpx-vp9": "vp9", "libvpx": "vp8", "libaom-av1": "av1", "libopus": "opus", "libvorbis": "vorbis"}


def _codec_name(decoder: str) -> str:
    # ffprobe names the codec, not the library that decodes it.
    return _LIB_DECODERS.get(decoder, decoder)


def _rate(x) -> float:
    try:
        v = float(x) if x is not None else 0.0
    except (ZeroDivisionError, TypeError):
        return 0.0
    return v if math.isfinite(v) and v > 0 else 0.0


def _first_frame_rotation(container, stream, path: Path) -> int:
    """Decode the first frame: proves the stream decodes and reads the display matrix."""
    import av

    try:
        for frame in container.decode(stream):
            return int(round(frame.rotation / 90.0)) % 4 * 90 if frame.rotation else 0
    except av.error.FFmpegError as exc:
        reason = truncation_reason(path)
        if reason:
            raise MediaError("truncated", path, reason) from None
        raise MediaError("corrupt", path, f"first video frame does not decode ({_ffmsg(exc)})") from None
    raise MediaError("zero_duration", path, "the video stream has no decodable frames")


def _last_packet_end(container, stream) -> float | None:
    """Seconds at the end of the last video packet (demux only), for files without a duration."""
    end = None
    for pkt in container.demux(stream):
        if pkt.pts is None:
            continue
        t = float((pkt.pts + (pkt.duration or 0)) * stream.time_base)
        end = t if end is None else max(end, t)
    return end


def probe(path: str | os.PathLike, limits: MediaLimits | None = None) -> VideoInfo:
    """Describe a video file (duration, fps, frames, displayed size, codecs, audio); raise MediaError."""
    import av

    p = Path(path)
    limits = limits or MediaLimits()
    container = open_container(p, limits)
    try:
        reason = truncation_reason(p)
        if reason:
            raise MediaError("truncated", p, reason)
        vstreams = video_streams(container)
        astreams = list(container.streams.audio)
        if not vstreams:
            if not container.streams:
                raise MediaError("zero_duration", p, "the container holds no streams")
            what = "audio only" if astreams else "no video or audio stream"
            if container.streams.video:
                what += " (its only picture is cover art)"
            raise MediaError("no_video_stream", p, f"{what}: no video stream")
        vs = vstreams[0]
        cc = vs.codec_context
        if cc is None or cc.codec is None:
            raise MediaError("unsupported_codec", p, "the video codec is unknown to FFmpeg (no decoder)")
        try:
            av.codec.Codec(cc.codec.name, "r")
        except Exception:
            raise MediaError("unsupported_codec", p, f"no decoder for video codec {cc.codec.name!r}") from None
        codec_name = _codec_name(cc.codec.name)
        width, height = int(cc.width or 0), int(cc.height or 0)
        if width <= 0 or height <= 0:
            raise MediaError("corrupt", p, f"video stream has no frame size ({width}x{height})")
        if limits.max_pixels is not None and width * height > limits.max_pixels:
            raise MediaError("too_large", p, f"{width}x{height} = {width * height} pixels; limit is {limits.max_pixels}")

        duration = None
        if container.duration is not None and container.duration > 0:
            duration = container.duration / av.time_base
        elif vs.duration is not None and vs.duration > 0:
            duration = float(vs.duration * vs.time_base)
        fps = _rate(vs.average_rate) or _rate(vs.guessed_rate) or _rate(vs.base_rate)
        rotation = _first_frame_rotation(container, vs, p)
        if duration is None:
            container.seek(0, stream=vs)
            duration = _last_packet_end(container, vs)
        if not duration or duration <= 0:
            raise MediaError("zero_duration", p, "duration is zero")
        if limits.max_duration_s is not None and duration > limits.max_duration_s:
            raise MediaError("too_large", p, f"duration {duration:.1f} s; limit is {limits.max_duration_s} s")
        vdur = float(vs.duration * vs.time_base) if vs.duration else duration
        frames = int(vs.frames) if vs.frames and vs.frames > 0 else max(1, int(round(vdur * fps))) if fps else 1
        if not fps:
            fps = frames / vdur
        a = astreams[0] if astreams else None
        acc = a.codec_context if a is not None else None
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            path=str(p),
            duration_s=round(float(duration), 6),
            fps=round(float(fps), 6),
            frames=frames,
            width=width,
            height=height,
            rotation=rotation,
            container=container.format.name,
            video_codec=codec_name,
            bit_rate=int(container.bit_rate) if container.bit_rate else None,
            has_audio=a is not None,
            audio_codec=(_codec_name(acc.codec.name) if acc is not None and acc.codec is not None else None),
            sample_rate=(int(acc.sample_rate) if acc is not None and acc.sample_rate else None),
            channels=(int(acc.channels) if acc is not None and acc.channels else None),
        )
    finally:
        container.close()
