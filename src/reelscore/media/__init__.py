"""Media layer: probe files, decode frames exactly (PyAV), sample them, decode audio.

Public API (see docs/media.md): MediaError, MediaLimits, VideoInfo, probe,
VideoReader, FrameSample, decode_audio, AudioTrack; samplers in
reelscore.media.samplers (per_second, clips, window, fragments); synthetic clips
in reelscore.media.synth (make_clip, make_test_media).
"""

from reelscore.media.audio import (
    AudioSpec,
    AudioTrack,
    decode_audio,
    decode_audio_tracks,
)
from reelscore.media.discover import find_videos
from reelscore.media.errors import CODES, MediaError, MediaLimits
from reelscore.media.probe import VideoInfo, probe
from reelscore.media.reader import FrameSample, VideoReader

__all__ = [
    "CODES",
    "AudioSpec",
    "AudioTrack",
    "decode_audio_tracks",
    "FrameSample",
    "MediaError",
    "MediaLimits",
    "VideoInfo",
    "VideoReader",
    "decode_audio",
    "find_videos",
    "probe",
]
