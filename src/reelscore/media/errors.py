"""The one media error type, its reason codes, and the configurable input limits."""

from __future__ import annotations

import os
from dataclasses import dataclass

CODES = (
    "not_found",
    "not_a_video",
    "no_video_stream",
    "no_audio_stream",
    "corrupt",
    "truncated",
    "zero_duration",
    "too_large",
    "unsupported_codec",
)


class MediaError(Exception):
    """A media file is unusable; `code` says why (one of CODES), `message` says how."""

    def __init__(self, code: str, path: str | os.PathLike, message: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown media error code {code!r}; known: {CODES}")
        self.code = code
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {code}: {message}")

    def __str__(self) -> str:
        return f"{self.path}: {self.code}: {self.message}"

    def __reduce__(self):
        # Rebuild from (code, path, message) so the error survives process pools (pickling).
        return (type(self), (self.code, self.path, self.message))

    def to_dict(self) -> dict:
        """The JSON error object printed by `reelscore probe --json`."""
        return {"path": self.path, "error": self.code, "message": self.message}


@dataclass
class MediaLimits:
    """Inputs beyond these limits are refused with MediaError("too_large"); None disables a limit."""

    max_file_bytes: int | None = 4 * 1024**3
    max_pixels: int | None = 4096 * 4096
    max_duration_s: float | None = 3600.0
