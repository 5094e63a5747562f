"""The coldsignal extractor against a direct computation of the shared README's recipe (ffmpeg CLI + OpenCV decoding)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from reelscore.features.analysis import Analyzer
from reelscore.features.coldsignal import FEATURE_NAMES, hook_strength, rms_curve


def _reference(path) -> dict[str, float]:
    """The recipe as written, with other decoders: `ffmpeg -ac 2 -ar 22050 s16le`, librosa RMS, cv2.VideoCapture."""
    import cv2
    import librosa

    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-t", "10", "-vn", "-ac", "2", "-ar", "22050",
                          "-f", "s16le", "-"], capture_output=True).stdout  # no audio stream: empty
    out: dict[str, float] = {}
    if raw:
        x = np.frombuffer(raw, np.int16).reshape(-1, 2).astype(np.float32) / 32768.0
        rms = librosa.feature.rms(y=x.mean(axis=1)[:220500])[0].astype(np.float64)
        out |= {"audio_energy_mean": rms.mean(), "audio_energy_std": rms.std(), "audio_energy_max": rms.max(),
                "hook_strength_audio": hook_strength(rms), "audio_max_jump": np.diff(rms).max(), "has_audio": 1.0}
    cap = cv2.VideoCapture(str(path))
    grey = []
    while len(grey) < 90:
        ok, f = cap.read()
        if not ok:
            break
        grey.append(cv2.cvtColor(cv2.resize(f, (160, 90), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2GRAY))
    mags = []
    for a, b in zip(grey[:-1], grey[1:]):
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        mags.append(cv2.cartToPolar(flow[..., 0], flow[..., 1])[0].mean())
    m = np.asarray(mags)
    out |= {"hook_strength_motion": hook_strength(m), "scene_change_rate": float(np.mean(m > 2 * m.mean())),
            "motion_mean": m.mean(), "motion_std": m.std(), "motion_max": m.max(), "motion_first_5frames_mean": m[:5].mean()}
    out["_frames"] = len(grey)
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    from reelscore.media.synth import make_clip

    d = tmp_path_factory.mktemp("cold")
    return {
        "stereo": make_clip(d / "stereo.mp4", seconds=7.0, width=96, height=160, fps=15, seed=3),
        "mono": make_clip(d / "mono.mp4", seconds=4.0, width=160, height=96, fps=25, seed=4, channels=1),
        "silent_video": make_clip(d / "noaudio.mp4", seconds=3.0, width=64, height=112, fps=30, audio=False, seed=5),
        "short": make_clip(d / "short.mp4", seconds=1.0, width=64, height=112, fps=10, seed=6),
    }


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg CLI for the reference")
@pytest.mark.parametrize("name", ["stereo", "mono", "silent_video", "short"])
def test_matches_the_recipe_computed_directly(clips, name):
    """Audio within 1e-5 (same resampler, float vs int math); motion within 2 % (OpenCV's and PyAV's colour conversion differ)."""
    an = Analyzer.from_names(["coldsignal"])
    res = an.analyze(str(clips[name]))
    assert res.errors == {}
    got = dict(zip(FEATURE_NAMES, res.outputs["coldsignal"].pooled.astype(float)))
    ref = _reference(clips[name])
    assert res.outputs["coldsignal"].meta["frames_used"] == ref.pop("_frames")
    if name == "silent_video":
        assert got["has_audio"] == 0 and got["audio_energy_mean"] == 0 and got["hook_strength_audio"] == 0
    for k, v in ref.items():
        v = float(v)
        tol = 1e-5 if "audio" in k else 0.02 * abs(v) + 1e-3
        assert got[k] == pytest.approx(v, abs=tol), k


def test_rms_is_librosas():
    import librosa

    y = np.random.default_rng(0).normal(scale=0.3, size=50_000).astype(np.float32)
    for n in (100, 2048, 50_000):
        np.testing.assert_allclose(rms_curve(y[:n]), librosa.feature.rms(y=y[:n])[0], rtol=1e-6, atol=1e-7)


def test_shares_the_one_decode_with_other_extractors(clips):
    """With the grid extractors, the first 90 frames come from the same reader pass (no second decode of them)."""
    from reelscore.media import VideoReader

    counts = []
    orig = VideoReader.close

    def close(self):
        counts.append(self.decoded_frames)
        orig(self)

    an = Analyzer.from_names(["coldsignal", "technical"])
    VideoReader.close = close
    try:
        res = an.analyze(str(clips["stereo"]))
    finally:
        VideoReader.close = orig
    assert res.errors == {} and len(counts) == 1
    with VideoReader(clips["stereo"]) as r:
        total = len(r.frame_times())
    assert counts[0] <= total  # every frame decoded at most once
    alone = Analyzer.from_names(["coldsignal"]).analyze(str(clips["stereo"])).outputs["coldsignal"].pooled
    np.testing.assert_array_equal(res.outputs["coldsignal"].pooled, alone)
