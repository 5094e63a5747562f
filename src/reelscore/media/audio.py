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


@dataclass(frozen=True)
class AudioSpec:
    """One resampled view of the audio track: rate (Hz), layout ("mono", "stereo", or None = the
    file's own), sample format ("fltp" float or "s16" 16-bit, returned as float in [-1, 1]) and an
    optional cap in seconds from the start."""

    sample_rate: int = 16000
    layout: str | None = "mono"
    fmt: str = "fltp"
    max_s: float | None = None


def decode_audio(
    path: str | os.PathLike, sample_rate: int = 16000, mono: bool = True, limits: MediaLimits | None = None
) -> AudioTrack:
    """Decode the first audio stream, resampled to `sample_rate` (mono mixes all channels down)."""
    return decode_audio_tracks(path, [AudioSpec(int(sample_rate), "mono" if mono else None)], limits)[0]


def decode_audio_tracks(
    path: str | os.PathLike, specs: list[AudioSpec], limits: MediaLimits | None = None
) -> list[AudioTrack]:
    """Decode the first audio stream once and resample it to each spec (FFmpeg's own resampler and
    up/down-mix matrix, as `ffmpeg -ac -ar` would); layout "mono" gives [n], others [channels, n]."""
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
        own = stream.codec_context.layout.name if stream.codec_context.layout else "stereo"
        layouts = [s.layout or own for s in specs]
        resamplers = [av.AudioResampler(format=s.fmt, layout=lay, rate=int(s.sample_rate))
                      for s, lay in zip(specs, layouts)]
        chunks: list[list[np.ndarray]] = [[] for _ in specs]
        counts = [0] * len(specs)
        caps = [None if s.max_s is None else int(round(s.max_s * s.sample_rate)) for s in specs]

        def add(i: int, frames) -> None:
            for out in frames:
                a = out.to_ndarray()
                if specs[i].fmt == "s16":  # packed int16 [1, n*ch] → float [ch, n]
                    ch = len(av.AudioLayout(layouts[i]).channels)
                    a = a.reshape(-1, ch).T.astype(np.float32) / 32768.0
                chunks[i].append(a)
                counts[i] += a.shape[-1]

        try:
            for frame in container.decode(stream):
                for i, r in enumerate(resamplers):
                    if caps[i] is None or counts[i] < caps[i]:
                        add(i, r.resample(frame))
                if all(c is not None and n >= c for c, n in zip(caps, counts)):
                    break
            for i, r in enumerate(resamplers):
                if caps[i] is None or counts[i] < caps[i]:
                    add(i, r.resample(None))
        except av.error.FFmpegError as exc:
            raise MediaError("corrupt", p, f"audio decoding failed ({getattr(exc, 'strerror', None) or exc})") from None
        tracks = []
        for i, s in enumerate(specs):
            ch = len(av.AudioLayout(layouts[i]).channels)
            data = np.concatenate(chunks[i], axis=1) if chunks[i] else np.zeros((ch, 0), np.float32)
            data = data.astype(np.float32, copy=False)
            if caps[i] is not None:
                data = data[:, : caps[i]]
            tracks.append(AudioTrack(samples=data[0] if s.layout == "mono" else data, sample_rate=int(s.sample_rate)))
        return tracks
    finally:
        container.close()
