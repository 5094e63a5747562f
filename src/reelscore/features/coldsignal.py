"""The `coldsignal` extractor: audio-energy and optical-flow hook signals of a video's opening.

It reproduces the recipe behind `coldsignal_dev.csv` (the real SnapUGC rows the
shipped engagement model's signal member learned from), with the project's own
decoding, so a member trained on that file reads the same numbers here:

- audio: the track decoded by FFmpeg's resampler to 2 channels, 16-bit, 22,050 Hz
  (a mono track is up-mixed by FFmpeg's default matrix, -3 dB per channel), the two
  channels averaged, the first 10 s; librosa's RMS with its defaults (frame 2,048,
  hop 512, centred); mean, population std and max of that curve; hook strength =
  mean of its first third (at least 2 values) / (mean + 1e-6); largest positive step.
- motion: the first 90 decoded frames, each resized to exactly 160 x 90 (bilinear,
  aspect not kept) and made grey; Farneback optical flow between consecutive frames
  (0.5, 3, 15, 3, 5, 1.2, 0); per pair the mean flow magnitude; hook strength as for
  audio; scene-change rate = share of pairs above twice the mean; mean, std, max and
  the mean of the first five values.

Both halves come from the one decode of the analysis (`FirstFrames`, an `AudioSpec`).
A video without an audio track has `has_audio` 0 and a silent curve (zeros); one with
fewer than two frames has no motion values (NaN), which the member copes with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelscore.features.base import Extractor, ExtractorOutput, FirstFrames, VideoInputs

AUDIO_NAMES = ["audio_energy_mean", "audio_energy_std", "audio_energy_max", "has_audio",
               "hook_strength_audio", "audio_max_jump"]
MOTION_NAMES = ["hook_strength_motion", "scene_change_rate", "motion_mean", "motion_std", "motion_max",
                "motion_first_5frames_mean"]
FEATURE_NAMES = AUDIO_NAMES + MOTION_NAMES


def hook_strength(values: np.ndarray) -> float:
    """Mean of the first third (at least 2 values) over (overall mean + 1e-6)."""
    v = np.asarray(values, np.float64)
    if v.size == 0:
        return float("nan")
    n = max(2, v.size // 3)
    return float(v[:n].mean() / (v.mean() + 1e-6))


def rms_curve(y: np.ndarray, frame: int = 2048, hop: int = 512) -> np.ndarray:
    """librosa.feature.rms with its defaults (centred frames, zero padding, float32), without librosa's start-up cost."""
    y = np.pad(np.asarray(y, np.float32), frame // 2, mode="constant")
    n = 1 + (y.size - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    return np.sqrt(np.mean(np.abs(y[idx]) ** 2, axis=1, dtype=np.float32)).astype(np.float32)


def audio_signals(stereo: np.ndarray | None, rate: int = 22050, seconds: float = 10.0) -> dict[str, float]:
    """The audio half of the recipe on a [2, n] (or [n]) float track in [-1, 1]; None = no audio track."""
    if stereo is None:
        rms = np.zeros(1, np.float32)
        has = 0.0
    else:
        x = np.asarray(stereo, np.float32)
        y = x.mean(axis=0) if x.ndim == 2 else x
        y = y[: int(round(seconds * rate))]
        rms = rms_curve(y) if y.size else np.zeros(1, np.float32)
        has = 1.0
    rms = rms.astype(np.float64)
    jump = float(np.max(np.diff(rms))) if rms.size > 1 else 0.0
    return {"audio_energy_mean": float(rms.mean()), "audio_energy_std": float(rms.std()),
            "audio_energy_max": float(rms.max()), "has_audio": has,
            "hook_strength_audio": hook_strength(rms), "audio_max_jump": max(jump, 0.0) if rms.size > 1 else 0.0}


def flow_magnitudes(grey: np.ndarray) -> np.ndarray:
    """Mean Farneback flow magnitude between consecutive grey frames [N, H, W] → [N - 1].

    Pairs are independent and OpenCV releases the GIL, so they run on OpenCV's thread budget
    (`cv2.getNumThreads()`, which a `--workers N` process sets to its share of the cores); the values
    are the same as one after another.
    """
    import cv2

    def one(a: np.ndarray, b: np.ndarray) -> float:
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        mag, _ = cv2.cartToPolar(flow[..., 0], flow[..., 1])
        return float(mag.mean())

    from reelscore.common.threads import opencv_map

    with opencv_map() as run:
        return np.asarray(list(run(one, grey[:-1], grey[1:])), np.float64)


def motion_signals(grey: np.ndarray | None) -> dict[str, float]:
    """The motion half of the recipe on the first frames (grey uint8 [N, 90, 160])."""
    if grey is None or len(grey) < 2:
        return {k: float("nan") for k in MOTION_NAMES}
    m = flow_magnitudes(grey)
    mean = m.mean()
    return {"hook_strength_motion": hook_strength(m), "scene_change_rate": float(np.mean(m > 2 * mean)),
            "motion_mean": float(mean), "motion_std": float(m.std()), "motion_max": float(m.max()),
            "motion_first_5frames_mean": float(m[:5].mean())}


class ColdSignalExtractor(Extractor):
    """Audio-energy and optical-flow hook signals of the opening seconds (the coldsignal recipe)."""

    name = "coldsignal"
    version = "1"
    modality = "audiovisual"
    needs = frozenset({"frames", "audio"})
    sampler = "first 90 decoded frames at 160x90 grey; first 10 s of audio at 22,050 Hz stereo s16"
    preprocessing = "frames: OpenCV bilinear to exactly 160x90, RGB→grey; audio: FFmpeg resampler, channel mean"

    @dataclass
    class Config:
        """The recipe's constants (changing them changes the values, so the store keys on them)."""

        frames: int = 90
        width: int = 160
        height: int = 90
        audio_rate: int = 22050
        audio_seconds: float = 10.0

    def feature_names(self) -> list[str]:
        """The shared coldsignal file's column names."""
        return list(FEATURE_NAMES)

    def _audio_spec(self):
        from reelscore.media import AudioSpec

        return AudioSpec(self.cfg.audio_rate, "stereo", "s16", self.cfg.audio_seconds)

    def _frames_req(self) -> FirstFrames:
        return FirstFrames(self.cfg.frames, self.cfg.width, self.cfg.height, True)

    grid_stride = 0  # reads its own samplings, not the shared grid

    def requests(self) -> tuple:
        """The first frames at 160x90 grey and the 22,050-Hz stereo audio."""
        return (self._frames_req(), self._audio_spec())

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Both halves of the recipe from the analysis's decode."""
        spec = self._audio_spec()
        stereo = inputs.extra.get(spec)
        a = audio_signals(stereo, spec.sample_rate, spec.max_s)
        grey = inputs.extra.get(self._frames_req())
        m = motion_signals(grey)
        vals = {**a, **m}
        meta = {"no_audio": stereo is None, "frames_used": 0 if grey is None else int(len(grey))}
        return ExtractorOutput(pooled=np.array([vals[k] for k in FEATURE_NAMES], np.float32), meta=meta)
