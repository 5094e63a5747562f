"""decode_audio: float32 at the requested rate, the synthetic tones come back at their frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from reelscore.media import MediaError, decode_audio


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)])


@pytest.mark.parametrize("name", ["portrait_h264", "vp9_webm", "audio_only"])
def test_mono_16k_tones(test_media, name):
    a = decode_audio(test_media[name])
    assert a.sample_rate == 16000 and a.samples.dtype == np.float32 and a.samples.ndim == 1
    assert abs(a.duration_s - 2.0) < 0.06
    sr = a.sample_rate
    first, second = a.samples[int(0.2 * sr):int(0.8 * sr)], a.samples[int(1.2 * sr):int(1.8 * sr)]
    assert abs(_peak_hz(first, sr) - 440) < 5
    assert abs(_peak_hz(second, sr) - 660) < 5
    assert 0.15 < np.abs(first).max() <= 1.0


def test_stereo_and_rate(test_media):
    a = decode_audio(test_media["portrait_h264"], sample_rate=22050, mono=False)
    assert a.samples.shape[0] == 2 and a.sample_rate == 22050
    mid = slice(int(0.2 * 22050), int(0.8 * 22050))
    ratio = np.abs(a.samples[1, mid]).max() / np.abs(a.samples[0, mid]).max()
    assert ratio == pytest.approx(0.5, abs=0.05)  # right channel drawn at half level


def test_no_audio(test_media):
    with pytest.raises(MediaError) as ei:
        decode_audio(test_media["video_only"])
    assert ei.value.code == "no_audio_stream"


@pytest.mark.parametrize("name,code", [("corrupt", "corrupt"), ("truncated", "truncated"), ("empty", "zero_duration")])
def test_broken(test_media, name, code):
    with pytest.raises(MediaError) as ei:
        decode_audio(test_media[name])
    assert ei.value.code == code
