"""The `bitstream` extractor: what the encoder spent and which quantiser it used (no pixels read).

A platform re-encodes every upload, and bitstream quality models (ITU-T P.1203 mode 1,
P.1204.3) predict perceived quality largely from these numbers: bits per pixel per
frame (all packets, key frames, the others) and the encoder's quantiser. Packet sizes
come from a demux-only pass; the QP of every frame the shared decode passes comes
from FFmpeg's exported encoder parameters (H.264, VP9, MPEG-2). Where the codec
exports no QP the QP features are NaN (missing, never 0) and `qp_available` is 0;
models must impute them. QP scales differ between codecs, so the codec is a feature too.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from reelscore.features.base import Bitstream, Extractor, ExtractorOutput, VideoInputs

CODECS = ("h264", "hevc", "vp9", "av1")
NAMES = [
    "log2_bpp", "log2_bpp_key", "log2_bpp_nonkey", "key_fraction", "size_cv",
    "qp_mean", "qp_std", "qp_p10", "qp_p90", "qp_key", "qp_nonkey", "qp_available",
    "log2_pixels", "fps",
] + [f"codec_{c}" for c in CODECS] + ["codec_other"]


def _log2_bpp(sizes: np.ndarray, pixels: float) -> float:
    if sizes.size == 0 or pixels <= 0:
        return float("nan")
    return float(math.log2(max(8.0 * float(sizes.mean()) / pixels, 1e-6)))


class BitstreamExtractor(Extractor):
    """Bits per pixel per frame and the encoder's QP, from the demuxed packets and the shared decode."""

    name = "bitstream"
    version = "1"
    modality = "visual"
    needs = frozenset({"frames"})
    per_video = True  # a timeline window reuses the video's values (see `window`)
    sampler = "every video packet (demux only); QP of the first `qp_frames` frames"
    preprocessing = "none: packet sizes in bytes, QP from AVVideoEncParams (qp + area-weighted block delta)"

    @dataclass
    class Config:
        """How many frames (from the start) the QP statistics read."""

        qp_frames: int = 60

    def feature_names(self) -> list[str]:
        """Rates, quantiser statistics, size and codec flags."""
        return list(NAMES)

    grid_stride = 0  # reads its own samplings, not the shared grid

    def requests(self) -> tuple:
        """Packet sizes and per-frame QP from the one decode."""
        return (Bitstream(self.cfg.qp_frames),)

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Packets and QPs → the feature vector."""
        got = inputs.require(Bitstream(self.cfg.qp_frames), "the bitstream was not read")
        info = inputs.info or {}
        pixels = float(info.get("width", 0)) * float(info.get("height", 0))
        pk = got.packets
        sizes, keys = pk.sizes.astype(np.float64), pk.keys
        qp = np.array([q for _, q in got.frames if q is not None], dtype=np.float64)
        kinds = [k for k, q in got.frames if q is not None]
        is_key = np.array([k == "I" for k in kinds], dtype=bool)
        nan = float("nan")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q = {
                "qp_mean": float(qp.mean()) if qp.size else nan,
                "qp_std": float(qp.std()) if qp.size else nan,
                "qp_p10": float(np.percentile(qp, 10)) if qp.size else nan,
                "qp_p90": float(np.percentile(qp, 90)) if qp.size else nan,
                "qp_key": float(qp[is_key].mean()) if is_key.any() else nan,
                "qp_nonkey": float(qp[~is_key].mean()) if (~is_key).any() else nan,
            }
        codec = str(info.get("video_codec") or info.get("codec") or "").lower()
        vals = {
            "log2_bpp": _log2_bpp(sizes, pixels),
            "log2_bpp_key": _log2_bpp(sizes[keys], pixels),
            "log2_bpp_nonkey": _log2_bpp(sizes[~keys], pixels),
            "key_fraction": float(keys.mean()) if keys.size else nan,
            "size_cv": float(sizes.std() / sizes.mean()) if sizes.size and sizes.mean() > 0 else nan,
            **q,
            "qp_available": 1.0 if qp.size else 0.0,
            "log2_pixels": float(math.log2(pixels)) if pixels > 0 else nan,
            "fps": float(info.get("fps") or nan),
            **{f"codec_{c}": float(codec == c) for c in CODECS},
            "codec_other": float(codec not in CODECS),
        }
        return ExtractorOutput(
            pooled=np.array([vals[n] for n in NAMES], dtype=np.float32),
            meta={"codec": codec, "packets": int(sizes.size), "frames_with_qp": int(qp.size)},
        )
