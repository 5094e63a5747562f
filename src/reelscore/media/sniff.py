"""Cheap looks at a file's first bytes: is it a media container at all, and is it cut short?

FFmpeg reports a half-written MP4 as "moov atom not found" and random bytes the
same way; the container's own length fields tell the two apart.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .mov .qt .3gp .3g2 .mkv .webm .avi .flv .ts .mts .m2ts .mpg .mpeg .wmv .ogv .gif .hevc .h264 .264 .y4m".split()
)
# First-bytes signatures of containers that can carry video.
_MAGIC = (
    (4, b"ftyp"),  # ISO BMFF (mp4, mov, 3gp)
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"free"),
    (4, b"wide"),
    (0, b"\x1a\x45\xdf\xa3"),  # EBML (mkv, webm)
    (0, b"RIFF"),  # avi
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),  # MPEG-PS
    (0, b"OggS"),
    (0, b"GIF8"),
    (0, b"\x30\x26\xb2\x75"),  # ASF/WMV
)
_ISO_CONTAINERS = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"uuid", b"meta", b"moof", b"mfra", b"sidx", b"styp", b"pdin"}


def has_media_signature(path: str | os.PathLike) -> bool:
    """True when the file starts like a known video container (or has a video file extension)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    if any(head[off : off + len(sig)] == sig for off, sig in _MAGIC):
        return True
    if len(head) >= 4 and head[0] == 0x47 and p.suffix.lower() in {".ts", ".mts", ".m2ts"}:
        return True
    return p.suffix.lower() in VIDEO_EXTENSIONS


def looks_like_text(path: str | os.PathLike, n: int = 4096) -> bool:
    """True when the first bytes decode as UTF-8 text with no NULs (a note, a CSV, a JSON...)."""
    try:
        with open(path, "rb") as f:
            head = f.read(n)
    except OSError:
        return False
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the read boundary is still text.
        return exc.start >= len(head) - 3
    return True


def iso_truncation(path: str | os.PathLike) -> str | None:
    """For an ISO-BMFF file, a reason string when top-level boxes run past the end or `moov` is missing."""
    size = os.path.getsize(path)
    pos, seen = 0, set()
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            hdr = f.read(16)
            if len(hdr) < 8:
                return f"file ends inside a box header at byte {pos} of {size}"
            box_size, kind = struct.unpack(">I4s", hdr[:8])
            if pos == 0 and kind not in _ISO_CONTAINERS:
                return None  # not ISO BMFF: nothing to say
            if box_size == 1:
                if len(hdr) < 16:
                    return f"file ends inside a box header at byte {pos} of {size}"
                box_size = struct.unpack(">Q", hdr[8:16])[0]
            elif box_size == 0:
                box_size = size - pos  # box runs to end of file by definition
            if box_size < 8:
                return None  # garbage, not a cut: let FFmpeg call it corrupt
            if pos + box_size > size:
                return f"'{kind.decode('latin-1')}' box needs {pos + box_size} bytes, file has {size}"
            seen.add(kind)
            pos += box_size
    if b"ftyp" in seen and b"moov" not in seen and b"moof" not in seen:
        return "no 'moov' index (the file was not finished)"
    return None


def _read_vint(f) -> tuple[int, int] | None:
    first = f.read(1)
    if not first:
        return None
    b0 = first[0]
    length = 1
    mask = 0x80
    while length <= 8 and not (b0 & mask):
        mask >>= 1
        length += 1
    if length > 8:
        return None
    rest = f.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = b0 & (mask - 1)
    for c in rest:
        value = (value << 8) | c
    unknown = value == (1 << (7 * length)) - 1
    return (-1 if unknown else value), length


def ebml_truncation(path: str | os.PathLike) -> str | None:
    """For a Matroska/WebM file, a reason string when the Segment is declared longer than the file."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(4) != b"\x1a\x45\xdf\xa3":
            return None
        hdr = _read_vint(f)
        if hdr is None:
            return "file ends inside the EBML header"
        f.seek(hdr[0], os.SEEK_CUR)
        if f.read(4) != b"\x18\x53\x80\x67":
            return None
        seg = _read_vint(f)
        if seg is None:
            return "file ends inside the Segment header"
        seg_size, _ = seg
        if seg_size >= 0 and f.tell() + seg_size > size:
            return f"Segment needs {f.tell() + seg_size} bytes, file has {size}"
    return None


def truncation_reason(path: str | os.PathLike) -> str | None:
    """Why the file looks cut short (ISO BMFF or Matroska length fields), or None."""
    try:
        return iso_truncation(path) or ebml_truncation(path)
    except OSError:
        return None
