"""decode_audio: a file's first audio stream as float32 samples at a chosen rate (YAMNet: 16 kHz mono)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelscore.media.errors import MediaError, MediaLimits
from reelscore.media.probe import open_container
from reelscore.media.sniff import truncation_reason


@dataclass
class AudioTrack:
    """Decoded audio: samples float32 [n] (mono) or [channels, n], in [-1, 1], at sample_rate Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.samples.shape[-1] / float(self.sample_rate)


def decode_audio(
    path: str | os.PathLike, sample_rate: int = 16000, mono: bool = True, limits: MediaLimits | None = None
) -> AudioTrack:
    """Decode the first audio stream, resampled to `sample_rate` (mono mixes all channels down)."""
    import av

    p = Path(path)
    container = open_container(p, limits)
    try:
        if not container.streams.audio:
            raise MediaError("no_audio_stream", p, "the file has no audio stream")
        reason = truncation_reason(p)
        if reason:
            raise MediaError("truncated", p, reason)
        stream = container.streams.audio[0]
        stream.codec_context.thread_type = "AUTO"
        layout = "mono" if mono else (stream.codec_context.layout.name if stream.codec_context.layout else "stereo")
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=int(sample_rate))
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            raise MediaError("corrupt", p, f"audio decoding failed ({getattr(exc, 'strerror', None) or exc})") from None
        channels = 1 if mono else len(av.AudioLayout(layout).channels)
        data = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), np.float32)
        data = data.astype(np.float32, copy=False)
        return AudioTrack(samples=data[0] if mono else data, sample_rate=int(sample_rate))
    finally:
        container.close()
