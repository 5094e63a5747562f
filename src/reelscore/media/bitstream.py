"""What the encoded stream says about quality: packet sizes (bits per pixel) and the encoder's QP.

Bitstream-based quality models (ITU-T P.1203 / P.1204) read exactly this: how many
bits the encoder spent per pixel and which quantiser it used. Packet sizes come
from a demux-only pass; per-frame QP comes from FFmpeg's exported
`AVVideoEncParams` side data (H.264, VP9 and MPEG-2 decoders export it; others
do not, and the QP is then missing, not zero).

The QP frames are decoded without threads: with FFmpeg's frame threading the
exported parameters of some B frames are read before they are filled in (seen
with FFmpeg 7 in PyAV 18: QP 0 or a partial mean on about one run in five), so
this pass decodes only the first `qp_frames` frames, single-threaded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

# AVVideoEncParams layout (libavutil/video_enc_params.h): unsigned nb_blocks; size_t blocks_offset;
# size_t block_size; enum type; int32 qp; int32 delta_qp[4][2]. Each block: int src_x, src_y, w, h; int32 delta_qp.
_HEADER = struct.Struct("<I4xQQii")
_ENC_TYPES = {0: "h264", 1: "h264", 2: "vp9", 3: "mpeg2"}  # 0 is FFmpeg's legacy "none" tag seen on old builds


@dataclass
class PacketStats:
    """Sizes (bytes) and key flags of every video packet, in decode order."""

    sizes: np.ndarray  # int64 [P]
    keys: np.ndarray  # bool [P]


_PICT = {1: "I", 2: "P", 3: "B", 4: "S", 5: "SI", 6: "SP", 7: "BI"}


def picture_type(frame) -> str:
    """'I', 'P', 'B', ... of a decoded frame ('?' when the decoder does not say)."""
    try:
        return _PICT.get(int(frame.pict_type), "?")
    except (TypeError, ValueError):
        name = getattr(frame.pict_type, "name", "?")
        return str(name)


def _side_data(frame):
    # PyAV up to 18.1.0 iterates a frame's side data as the entries themselves, 18.1.1 as their types (dict-like)
    container = frame.side_data
    for item in container:
        yield item if hasattr(item, "type") else container[item]


def frame_qp(frame) -> float | None:
    """Mean quantiser of a decoded av.VideoFrame over its blocks (area-weighted), or None without encoder params."""
    for sd in _side_data(frame):
        if getattr(sd.type, "name", "") != "VIDEO_ENC_PARAMS":
            continue
        buf = bytes(memoryview(sd))
        if len(buf) < _HEADER.size:
            return None
        nb, offset, block_size, _kind, qp = _HEADER.unpack_from(buf, 0)
        if nb == 0 or block_size < 20 or offset + nb * block_size > len(buf):
            return float(qp)
        blocks = np.frombuffer(buf, dtype=np.uint8, count=nb * block_size, offset=offset).reshape(nb, block_size)
        fields = blocks[:, :20].copy().view("<i4")  # src_x, src_y, w, h, delta_qp
        area = (fields[:, 2].astype(np.float64) * fields[:, 3]).clip(min=1)
        return float(qp + np.average(fields[:, 4], weights=area))
    return None


@dataclass
class BitstreamInfo:
    """Every packet's size and key flag, and (picture type, mean QP or None) of the first decoded frames."""

    packets: PacketStats
    frames: list[tuple[str, float | None]]


def release_free_memory() -> None:
    """Return the C heap's free pages to the OS (glibc's malloc_trim); a no-op elsewhere."""
    global _TRIM
    if _TRIM is None:
        try:
            import ctypes

            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM = None


def release_decoded_frames() -> None:
    """Hand back pictures whose side data was read, once their decoder is closed.

    PyAV: a frame whose side data was read sits in a reference cycle, so its picture (3 MB at 1080p)
    waits for a collection; the decoder's buffer pool goes with the container; glibc then keeps the
    freed pages (measured on a 1080p clip: +170 MB held after 60 frames without this, none with it).
    """
    import gc

    gc.collect(1)  # generation 0 alone misses the cycle; a full collection costs ~0.3 s with models loaded
    release_free_memory()


def read_bitstream(path, qp_frames: int = 60, limits=None) -> BitstreamInfo:
    """One demux pass over the video stream: all packet sizes, and the QP of the first `qp_frames` frames."""
    info = _read_bitstream(path, qp_frames, limits)
    if info.frames:
        release_decoded_frames()  # after the container is gone
    return info


def _read_bitstream(path, qp_frames: int, limits) -> BitstreamInfo:
    import av

    from reelscore.media.errors import MediaError
    from reelscore.media.probe import open_container, video_streams

    container = open_container(path, limits)
    try:
        streams = video_streams(container)
        if not streams:
            raise MediaError("no_video_stream", path, "the file has no video stream")
        stream = streams[0]
        cc = stream.codec_context
        cc.thread_type = "NONE"  # see the module note: frame threads race with the QP export
        cc.options = {**dict(cc.options or {}), "export_side_data": "venc_params"}
        sizes, keys, frames = [], [], []
        try:
            for pkt in container.demux(stream):
                if pkt.size:
                    sizes.append(int(pkt.size))
                    keys.append(bool(pkt.is_keyframe))
                if len(frames) < qp_frames:
                    for frame in pkt.decode():
                        if len(frames) < qp_frames:
                            frames.append((picture_type(frame), frame_qp(frame)))
        except av.error.FFmpegError as exc:
            raise MediaError("corrupt", path, f"demuxing failed ({getattr(exc, 'strerror', None) or exc})") from None
        return BitstreamInfo(PacketStats(np.asarray(sizes, dtype=np.int64), np.asarray(keys, dtype=bool)), frames)
    finally:
        container.close()
