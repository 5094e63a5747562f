"""Synthetic test media encoded with PyAV: moving shapes, a scene cut, tones, and broken files.

Every video frame carries its own index as an 8-bit bar code in a band at the
top (8 equal black/white blocks, most significant bit first, index mod 256),
so tests can check which frame a decoder returned (`read_frame_index`).
"""

from __future__ import annotations

import functools
import os
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

# Which error code each broken clip of make_test_media must raise in probe().
EXPECTED_ERRORS: dict[str, str] = {
    "audio_only": "no_video_stream",
    "audio_cover_art": "no_video_stream",
    "truncated": "truncated",
    "truncated_moov": "truncated",
    "truncated_webm": "truncated",
    "corrupt": "corrupt",
    "empty": "zero_duration",
    "zero_duration": "zero_duration",
    "text_file": "not_a_video",
    "image_png": "not_a_video",
    "unsupported_codec": "unsupported_codec",
}

_BITS = 8
_CONTAINER_FOR_CODEC = {"h264": "mp4", "hevc": "mp4", "vp9": "webm", "mpeg4": "mp4"}
_ENCODERS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "mpeg4": "mpeg4"}


@functools.lru_cache(maxsize=8)
def _background(width: int, height: int, seed: int, scene_b: bool) -> np.ndarray:
    rng = np.random.default_rng(seed * 1_000_003 + int(scene_b))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    base = rng.uniform(40, 200, size=3)
    if scene_b:
        img[..., 0] = base[0] * 0.3 + 60 * yy / height
        img[..., 1] = base[1] * 0.5 + 80 * xx / width + 40
        img[..., 2] = base[2] * 0.3
    else:
        img[..., 0] = base[0] * 0.3
        img[..., 1] = base[1] * 0.3 + 60 * xx / width
        img[..., 2] = base[2] * 0.5 + 80 * yy / height + 40
    out = np.clip(img, 0, 255).astype(np.uint8)
    out.flags.writeable = False
    return out


def draw_frame(index: int, t: float, width: int, height: int, cut_s: float, seed: int = 0) -> np.ndarray:
    """One RGB frame (uint8 HxWx3): background per scene, two moving shapes, index bar code on top."""
    scene_b = t >= cut_s
    img = _background(width, height, seed, scene_b).copy()
    band = max(2, width // _BITS)
    # Shapes move with time (not frame count) so VFR clips show real motion.
    span_x = max(1, width - width // 4)
    rx = int((t * 0.7 * width) % span_x)
    ry = band + (height - band) // 3
    rw, rh = max(2, width // 4), max(2, (height - band) // 6)
    img[ry : ry + rh, rx : rx + rw] = (230, 40, 40) if not scene_b else (250, 250, 60)
    cy = band + int(((t * 0.5 * height) % max(1, height - band)))
    cx = width // 2 if not scene_b else width // 3
    r = max(2, min(width, height) // 8)
    y0, y1, x0, x1 = max(0, cy - r), min(height, cy + r + 1), max(0, cx - r), min(width, cx + r + 1)
    yy, xx = np.ogrid[y0:y1, x0:x1]
    mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    img[y0:y1, x0:x1][mask] = (250, 220, 30) if not scene_b else (40, 40, 230)
    img[:band] = 0
    code = index % (1 << _BITS)
    bw = width / _BITS
    for b in range(_BITS):
        if (code >> (_BITS - 1 - b)) & 1:
            img[:band, int(round(b * bw)) : int(round((b + 1) * bw))] = 255
    return img


def read_frame_index(frame: np.ndarray) -> int:
    """Read back the bar-coded frame index (mod 256) from a decoded RGB frame of a synthetic clip."""
    h, w = frame.shape[:2]
    # The band is w/8 high (aspect is kept on resize), so its middle row is w/16.
    y = min(h - 1, int(w / _BITS / 2))
    code = 0
    for b in range(_BITS):
        x = int((b + 0.5) * w / _BITS)
        v = float(frame[y, x].mean())
        code = (code << 1) | (1 if v > 127 else 0)
    return code


def _tone(t: np.ndarray, cut_s: float, channels: int) -> np.ndarray:
    freq = np.where(t < cut_s, 440.0, 660.0)
    mono = 0.3 * np.sin(2 * np.pi * freq * t)
    chans = [mono] + [0.5 * mono] * (channels - 1)
    return np.stack(chans).astype(np.float32)


def _frame_times(seconds: float, fps: float, vfr: bool, seed: int, frames: int | None) -> list[float]:
    if frames is not None:
        return [i / fps for i in range(frames)]
    if not vfr:
        n = max(1, int(round(seconds * fps)))
        return [i / fps for i in range(n)]
    # Irregular gaps of 1, 2 or 3 nominal frame periods, seeded.
    rng = np.random.default_rng(seed + 7)
    times, t = [], 0.0
    while t < seconds - 1e-9:
        times.append(t)
        t += float(rng.choice([1, 2, 3])) / fps
    return times


def make_clip(
    path: str | os.PathLike,
    seconds: float = 2.0,
    width: int = 64,
    height: int = 112,
    fps: float = 15,
    codec: str = "h264",
    audio: bool = True,
    seed: int = 0,
    *,
    video: bool = True,
    rotation: int = 0,
    vfr: bool = False,
    frames: int | None = None,
    gop: int | None = None,
    faststart: bool = False,
    sample_rate: int | None = None,
    channels: int = 2,
    crf: int = 20,
    preset: str = "veryfast",
    frame_fn: Callable[[int, float], np.ndarray] | None = None,
) -> Path:
    """Encode a small synthetic clip (moving shapes, a cut at half time, tones) and return its path.

    `width`/`height` are the displayed size; with `rotation` (counter-clockwise degrees,
    0/90/180/270) the frames are stored turned back and a display matrix is written, as
    phones do. `gop` is the key-frame interval in frames (default: one per second).
    `frame_fn(index, t)` replaces the drawn shapes with the caller's RGB frames (displayed size).
    """
    from reelscore.common.atomic import atomic_path
    import av

    path = Path(path)
    if not video and not audio:
        raise ValueError("make_clip: need video or audio")
    if rotation % 90 or rotation % 360 not in (0, 90, 180, 270):
        raise ValueError(f"make_clip: rotation must be 0/90/180/270, got {rotation}")
    rotation %= 360
    fmt = {".mp4": "mp4", ".m4a": "mp4", ".mov": "mov", ".webm": "webm", ".mkv": "matroska", ".ts": "mpegts"}.get(
        path.suffix.lower(), _CONTAINER_FOR_CODEC.get(codec, "mp4")
    )
    times = _frame_times(seconds, fps, vfr, seed, frames) if video else []
    total_s = (len(times) / fps) if (video and frames is not None) else seconds
    cut_s = total_s / 2.0
    audio_codec = "libopus" if fmt == "webm" else "aac"
    sr = sample_rate or (48000 if audio_codec == "libopus" else 44100)
    options = {"movflags": "faststart"} if faststart else {}
    store_w, store_h = (height, width) if rotation in (90, 270) else (width, height)

    with atomic_path(path) as tmp:
        out = av.open(str(tmp), "w", format=fmt, options=options)
        try:
            vs = None
            if video:
                vs = out.add_stream(_ENCODERS.get(codec, codec), rate=Fraction(fps).limit_denominator(1001))
                vs.width, vs.height = store_w, store_h
                vs.pix_fmt = "yuv420p"
                vs.codec_context.gop_size = int(gop or max(1, round(fps)))
                tb = Fraction(1, 90000) if vfr else None
                if tb is not None:
                    vs.time_base = tb
                    vs.codec_context.time_base = tb
                if codec == "h264":
                    vs.options = {"crf": str(crf), "preset": preset}
                elif codec == "hevc":
                    vs.options = {"crf": str(crf), "preset": "ultrafast", "x265-params": "log-level=error"}
                    vs.codec_tag = "hvc1"
                elif codec == "vp9":
                    vs.options = {"crf": str(crf + 12), "b": "0", "deadline": "realtime", "cpu-used": "8"}
                if rotation:
                    vs.set_display_rotation(rotation)
            as_ = None
            if audio:
                as_ = out.add_stream(audio_codec, rate=sr)
                as_.layout = "mono" if channels == 1 else "stereo"
            audio_pos = 0
            out.start_encoding()  # write the header even when no frame follows

            def push_audio(until_s: float) -> None:
                nonlocal audio_pos
                end = int(round(until_s * sr))
                while audio_pos < end:
                    n = min(1024, end - audio_pos)
                    t = (audio_pos + np.arange(n)) / sr
                    af = av.AudioFrame.from_ndarray(
                        _tone(t, cut_s, 1 if channels == 1 else 2), format="fltp",
                        layout="mono" if channels == 1 else "stereo",
                    )
                    af.sample_rate = sr
                    af.pts = audio_pos
                    af.time_base = Fraction(1, sr)
                    for p in as_.encode(af):
                        out.mux(p)
                    audio_pos += n

            for i, t in enumerate(times):
                img = frame_fn(i, t) if frame_fn is not None else draw_frame(i, t, width, height, cut_s, seed)
                if rotation:
                    # Store the frame turned back so that the display matrix turns it upright.
                    img = np.ascontiguousarray(np.rot90(img, k=-(rotation // 90)))
                vf = av.VideoFrame.from_ndarray(img, format="rgb24")
                if vfr:
                    vf.pts = int(round(t * 90000))
                    vf.time_base = Fraction(1, 90000)
                else:
                    vf.pts = i
                    vf.time_base = Fraction(1, 1) / Fraction(fps).limit_denominator(1001)
                for p in vs.encode(vf):
                    out.mux(p)
                if as_ is not None:
                    push_audio(t)
            if vs is not None and times:
                for p in vs.encode():
                    out.mux(p)
            if as_ is not None:
                push_audio(total_s)
                for p in as_.encode():
                    out.mux(p)
        finally:
            out.close()
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    from reelscore.common.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def _make_png(path: Path) -> Path:
    import av
    from reelscore.common.atomic import atomic_path

    with atomic_path(path) as tmp:
        out = av.open(str(tmp), "w", format="image2")
        try:
            st = out.add_stream("png", rate=1)
            st.width, st.height, st.pix_fmt = 64, 112, "rgb24"
            vf = av.VideoFrame.from_ndarray(draw_frame(0, 0.0, 64, 112, 1.0), format="rgb24")
            for p in st.encode(vf):
                out.mux(p)
            for p in st.encode():
                out.mux(p)
        finally:
            out.close()
    return path


def _make_audio_with_cover(path: Path, seconds: float) -> Path:
    """An AAC .m4a whose only picture is an attached cover image (as music files carry)."""
    import av
    from reelscore.common.atomic import atomic_path

    sr = 44100
    with atomic_path(path) as tmp:
        out = av.open(str(tmp), "w", format="mp4")
        try:
            a = out.add_stream("aac", rate=sr)
            a.layout = "mono"
            v = out.add_stream("mjpeg", rate=1)
            v.width, v.height, v.pix_fmt = 64, 64, "yuvj420p"
            v.disposition = av.stream.Disposition.attached_pic
            out.start_encoding()
            img = av.VideoFrame.from_ndarray(draw_frame(0, 0.0, 64, 64, 1.0), format="rgb24").reformat(format="yuvj420p")
            for p in [*v.encode(img), *v.encode()]:
                out.mux(p)
            n = int(seconds * sr)
            for start in range(0, n, 1024):
                t = (start + np.arange(min(1024, n - start))) / sr
                af = av.AudioFrame.from_ndarray(_tone(t, seconds / 2, 1), format="fltp", layout="mono")
                af.sample_rate, af.pts = sr, start
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)
        finally:
            out.close()
    return path


def make_test_media(out_dir: str | os.PathLike, seconds: float = 2.0) -> dict[str, Path]:
    """Write the standard set of good and broken test files into `out_dir`; return name -> path.

    Good: portrait_h264, landscape_h264, hevc, vp9_webm, rotated90, vfr, video_only,
    one_frame. Broken (see EXPECTED_ERRORS): audio_only, audio_cover_art, truncated, truncated_moov, truncated_webm,
    corrupt, empty, zero_duration, text_file, image_png, unsupported_codec.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m: dict[str, Path] = {}
    m["portrait_h264"] = make_clip(out / "portrait_h264.mp4", seconds, 64, 112, 15, "h264", seed=1)
    m["landscape_h264"] = make_clip(out / "landscape_h264.mp4", seconds, 112, 64, 15, "h264", seed=2)
    m["hevc"] = make_clip(out / "hevc.mp4", seconds, 64, 112, 15, "hevc", seed=3)
    m["vp9_webm"] = make_clip(out / "vp9_webm.webm", seconds, 64, 112, 15, "vp9", seed=4)
    m["rotated90"] = make_clip(out / "rotated90.mp4", seconds, 64, 112, 15, "h264", seed=1, rotation=90)
    m["vfr"] = make_clip(out / "vfr.mp4", seconds, 64, 112, 30, "h264", seed=5, vfr=True, gop=10)
    m["video_only"] = make_clip(out / "video_only.mp4", seconds, 64, 112, 15, "h264", audio=False, seed=6)
    m["one_frame"] = make_clip(out / "one_frame.mp4", seconds, 64, 112, 15, "h264", seed=7, frames=1)
    m["audio_only"] = make_clip(out / "audio_only.m4a", seconds, audio=True, video=False, seed=8)
    m["audio_cover_art"] = _make_audio_with_cover(out / "audio_cover_art.m4a", seconds)
    # Truncated: cut a faststart file (index up front, media data missing) and a
    # moov-at-end file (index missing); both are half-finished uploads.
    full = make_clip(out / ".truncated_full.mp4", seconds, 64, 112, 15, "h264", seed=9, faststart=True)
    data = full.read_bytes()
    m["truncated"] = _write_bytes(out / "truncated.mp4", data[: int(len(data) * 0.6)])
    full.unlink()
    full = make_clip(out / ".truncated_moov_full.mp4", seconds, 64, 112, 15, "h264", seed=10)
    data = full.read_bytes()
    m["truncated_moov"] = _write_bytes(out / "truncated_moov.mp4", data[: int(len(data) * 0.6)])
    full.unlink()
    full = make_clip(out / ".truncated_webm_full.webm", seconds, 64, 112, 15, "vp9", seed=13)
    data = full.read_bytes()
    m["truncated_webm"] = _write_bytes(out / "truncated_webm.webm", data[: int(len(data) * 0.6)])
    full.unlink()
    m["corrupt"] = _write_bytes(out / "corrupt.mp4", np.random.default_rng(11).bytes(20000))
    m["empty"] = _write_bytes(out / "empty.mp4", b"")
    m["zero_duration"] = make_clip(out / "zero_duration.mp4", seconds, 64, 112, 15, "h264", audio=False, frames=0)
    m["text_file"] = _write_bytes(out / "notes.txt", b"this is a text file, not a video\n" * 20)
    m["image_png"] = _make_png(out / "image.png")
    # A Matroska file whose video CodecID FFmpeg does not know (same length, so sizes stay valid).
    full = make_clip(out / ".unsupported_full.mkv", 1.0, 64, 112, 15, "h264", audio=False, seed=12)
    data = full.read_bytes()
    m["unsupported_codec"] = _write_bytes(out / "unsupported_codec.mkv", data.replace(b"V_MPEG4/ISO/AVC", b"V_REELS/ISO/XYZ", 1))
    full.unlink()
    return m


def iter_names(media: dict[str, Path], broken: bool) -> Iterator[str]:
    """Names of the broken (or the good) files in a make_test_media result."""
    for name in media:
        if (name in EXPECTED_ERRORS) == broken:
            yield name


PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def photo_frames(image: np.ndarray, width: int, height: int, seconds: float) -> Callable[[int, float], np.ndarray]:
    """A slow pan-and-zoom over a real photo (as phone slideshows do), as a `frame_fn` for make_clip."""
    import cv2

    ih, iw = image.shape[:2]
    aspect = width / height

    def frame(_index: int, t: float) -> np.ndarray:
        u = min(max(t / max(seconds, 1e-6), 0.0), 1.0)
        zoom = 1.0 - 0.25 * u  # crop shrinks: the view zooms in over the clip
        ch = min(ih, iw / aspect) * zoom
        cw = ch * aspect
        x0 = (iw - cw) * (0.2 + 0.6 * u)
        y0 = (ih - ch) * 0.5
        crop = image[int(y0): int(y0 + ch), int(x0): int(x0 + cw)]
        return np.ascontiguousarray(cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA))

    return frame


def make_photo_clip(
    path: str | os.PathLike, photo: str = "astronaut", seconds: float = 4.0,
    width: int = 360, height: int = 640, fps: float = 25, crf: int = 23,
) -> Path:
    """Encode a pan-and-zoom clip over one of scikit-image's public-domain photos at a given CRF."""
    try:
        from skimage import data as skdata
    except ImportError as exc:  # pragma: no cover - scikit-image is in requirements
        raise RuntimeError("make_photo_clip needs scikit-image (pip install scikit-image)") from exc
    if photo not in PHOTOS:
        raise ValueError(f"make_photo_clip: photo must be one of {PHOTOS}, got {photo!r}")
    image = getattr(skdata, photo)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    fn = photo_frames(image[..., :3], width, height, seconds)
    return make_clip(path, seconds=seconds, width=width, height=height, fps=fps, crf=crf, frame_fn=fn)
