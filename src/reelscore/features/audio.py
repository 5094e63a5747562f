"""Audio features: YAMNet AudioSet scores (pooled and per clip), top-5 tags as text, loudness, onsets, tempo, speech share.

Input: the video's audio track decoded once to 16-kHz mono float32. A video
without an audio track is not an error: its features are the "no audio" vector
(scores 0, levels at the -100 dBFS floor, `no_audio` = 1, `silent` = 1) and its
tag text is empty.

Loudness is RMS in dBFS (full scale sine = -3 dBFS) over the whole track and
over 400-ms windows every 100 ms (p10, p95, range as in EBU R128's LRA idea,
without K-weighting). Onset strength is the positive log-mel spectral flux at
100 frames/s; tempo is the autocorrelation peak of that envelope within 40–240
BPM under a log-normal prior centred at 120 BPM (librosa's convention).
Speech / music share: fraction of 0.96-s patches whose largest speech (music)
class score exceeds 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelscore.features import yamnet
from reelscore.features.base import (
    Extractor,
    ExtractorOutput,
    VideoInputs,
    clip_starts,
    n_clips,
    window_blocks,
)

FLOOR_DB = -100.0
SILENCE_DB = -60.0
LEVEL_NAMES = [
    "rms_dbfs",
    "peak_dbfs",
    "st_dbfs_p10",
    "st_dbfs_p95",
    "loudness_range_db",
    "onset_mean",
    "onset_std",
    "tempo_bpm",
    "tempo_confidence",
    "speech_share",
    "music_share",
    "silence_share",
    "no_audio",
    "silent",
]


def dbfs(x: np.ndarray) -> float:
    """RMS level in dBFS, floored at -100."""
    if x.size == 0:
        return FLOOR_DB
    r = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return max(FLOOR_DB, 20.0 * np.log10(r)) if r > 0 else FLOOR_DB


def short_term_db(x: np.ndarray, rate: int, win_s: float = 0.4, hop_s: float = 0.1) -> np.ndarray:
    """RMS dBFS of `win_s` windows every `hop_s` (one window for short audio)."""
    win, hop = int(win_s * rate), int(hop_s * rate)
    if x.size <= win:
        return np.array([dbfs(x)])
    n = 1 + (x.size - win) // hop
    ms = np.empty(n)
    for a, idx in window_blocks(n, win, hop, 512):
        ms[a: a + len(idx)] = np.mean(np.square(x[idx], dtype=np.float64), axis=1)
    with np.errstate(divide="ignore"):
        return np.maximum(FLOOR_DB, 10.0 * np.log10(ms))


def onset_envelope(logmel: np.ndarray) -> np.ndarray:
    """Positive spectral flux of log-mel frames, averaged over bands (100 frames/s)."""
    if logmel.shape[0] < 2:
        return np.zeros(1)
    return np.maximum(0.0, np.diff(logmel.astype(np.float64), axis=0)).mean(1)


def tempo(env: np.ndarray, fps: float = 100.0) -> tuple[float, float]:
    """(BPM, confidence in 0..1) from an onset envelope; (0, 0) when too short or flat."""
    e = env - env.mean()
    if e.size < 3 * fps or not np.any(e):
        return 0.0, 0.0
    lags = np.arange(int(fps * 60 / 240), min(int(fps * 60 / 40) + 1, e.size))
    # only the lags read (at most 1.5 s), not np.correlate's full O(n^2) autocorrelation
    ac = np.array([float(np.dot(e[: e.size - k], e[k:])) for k in range(int(lags.max(initial=0)) + 1)])
    if lags.size == 0 or ac[0] <= 0:
        return 0.0, 0.0
    bpm = 60.0 * fps / lags
    prior = np.exp(-0.5 * (np.log2(bpm / 120.0)) ** 2)
    best = int(np.argmax(ac[lags] * prior))
    return float(bpm[best]), float(max(0.0, ac[lags[best]] / ac[0]))


class AudioExtractor(Extractor):
    """YAMNet AudioSet scores (mean/max over 0.96-s patches), tags, loudness, onsets, tempo, speech share."""

    name = "audio"
    version = "1"
    modality = "audio"
    needs = frozenset({"audio"})
    sampler = "whole audio track at 16 kHz mono; YAMNet patches 0.96 s every 0.48 s; clips by patch centre time"
    preprocessing = (
        "16 kHz mono; |STFT| 400-sample periodic Hann, hop 160, FFT 512; 64 HTK mel bands 125-7500 Hz; "
        "log(mel + 0.001); 96x64 patches, hop 48; uint8 quantised with the graph's input scale/zero point"
    )

    @dataclass
    class Config:
        """Hyper-parameters of the audio extractor."""

        top_k: int = 5
        tag_threshold: float = 0.0

    def feature_names(self) -> list[str]:
        """521 mean scores, 521 max scores, then the level / rhythm / share features."""
        return (
            [f"yamnet_mean_{i:03d}" for i in range(yamnet.N_CLASSES)]
            + [f"yamnet_max_{i:03d}" for i in range(yamnet.N_CLASSES)]
            + LEVEL_NAMES
        )

    def clip_feature_names(self) -> list[str]:
        """Per-clip mean scores, level, speech, music and onset strength."""
        return [f"yamnet_{i:03d}" for i in range(yamnet.N_CLASSES)] + ["rms_dbfs", "speech", "music", "onset_mean"]

    def setup(self, device: str = "cpu") -> None:
        """Open the ONNX session once."""
        yamnet._session()

    def tags(self, mean_scores: np.ndarray) -> list[tuple[str, float]]:
        """Top-k (AudioSet class, mean score)."""
        names = yamnet.class_names()
        idx = np.argsort(-mean_scores, kind="stable")[: self.cfg.top_k]
        return [(names[i], round(float(mean_scores[i]), 4)) for i in idx if mean_scores[i] > self.cfg.tag_threshold]

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Score the track (or return the flagged no-audio vector)."""
        plan = inputs.plan
        dur = inputs.duration_s or (inputs.audio.size / inputs.audio_rate if inputs.audio is not None else 0.0)
        count = n_clips(dur, plan)
        starts = clip_starts(count, plan)
        nk = yamnet.N_CLASSES
        wave = inputs.audio
        if wave is None or wave.size == 0:
            levels = [FLOOR_DB, FLOOR_DB, FLOOR_DB, FLOOR_DB, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
            pooled = np.concatenate([np.zeros(2 * nk), levels]).astype(np.float32)
            clips = np.zeros((count, nk + 4), np.float32)
            clips[:, nk] = FLOOR_DB
            meta = {"tags": [], "tag_scores": [], "tag_text": "", "no_audio": True, "reason": inputs.audio_missing or "no audio"}
            return ExtractorOutput(pooled=pooled, clip_starts=starts, clips=clips, meta=meta)
        if inputs.audio_rate != yamnet.SAMPLE_RATE:
            raise ValueError(f"audio must be {yamnet.SAMPLE_RATE} Hz, got {inputs.audio_rate}")
        wave = np.asarray(wave, np.float32).ravel()
        scores, centres, logmel = yamnet.scores(wave)
        scores = scores.astype(np.float64)  # float64 means: float32 sums depend on memory alignment
        st = short_term_db(wave, yamnet.SAMPLE_RATE)
        env = onset_envelope(logmel[: max(2, int(wave.size / yamnet.HOP))])
        bpm, conf = tempo(env)
        speech = scores[:, yamnet.SPEECH_IDX].max(1)
        music = scores[:, yamnet.MUSIC_IDX].max(1)
        peak = float(np.max(np.abs(wave)))
        rms = dbfs(wave)
        p10, p95 = (float(v) for v in np.percentile(st, [10, 95]))
        levels = [
            rms,
            max(FLOOR_DB, 20 * np.log10(peak)) if peak > 0 else FLOOR_DB,
            p10,
            p95,
            p95 - p10,
            float(env.mean()),
            float(env.std()),
            bpm,
            conf,
            float(np.mean(speech > 0.5)),
            float(np.mean(music > 0.5)),
            float(np.mean(st < SILENCE_DB)),
            0.0,
            1.0 if rms < SILENCE_DB else 0.0,
        ]
        pooled = np.concatenate([scores.mean(0), scores.max(0), levels]).astype(np.float32)
        # Clip rows: patches by centre time; level and onsets from the clip's own samples.
        clips = np.zeros((count, nk + 4), np.float32)
        pid = np.minimum(np.floor(centres / plan.clip_seconds + 1e-9).astype(int), count - 1)
        env_t = np.arange(env.size) * yamnet.HOP / yamnet.SAMPLE_RATE
        for c in range(count):
            sel = pid == c
            s0, s1 = int(starts[c] * yamnet.SAMPLE_RATE), int((starts[c] + plan.clip_seconds) * yamnet.SAMPLE_RATE)
            seg = wave[s0:s1]
            esel = (env_t >= starts[c]) & (env_t < starts[c] + plan.clip_seconds)
            if sel.any():
                clips[c, :nk] = scores[sel].mean(0)
                clips[c, nk + 1] = speech[sel].mean()
                clips[c, nk + 2] = music[sel].mean()
            else:  # a clip shorter than half a patch: nearest patch
                j = int(np.argmin(np.abs(centres - (starts[c] + plan.clip_seconds / 2))))
                clips[c, :nk], clips[c, nk + 1], clips[c, nk + 2] = scores[j], speech[j], music[j]
            clips[c, nk] = dbfs(seg)
            clips[c, nk + 3] = float(env[esel].mean()) if esel.any() else 0.0
        tags = self.tags(scores.mean(0))
        meta = {
            "tags": [n for n, _ in tags],
            "tag_scores": [s for _, s in tags],
            "tag_text": ", ".join(n for n, _ in tags),
            "no_audio": False,
        }
        return ExtractorOutput(pooled=pooled, clip_starts=starts, clips=clips, meta=meta)
