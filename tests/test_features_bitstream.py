"""bitstream extractor: QP and bits per pixel against what the encoder was told and what ffprobe counts."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest

from reelscore.features.analysis import Analyzer
from reelscore.features.bitstream import NAMES
from reelscore.media.synth import make_clip


def _x264_at_qp(src, dest, qp: int) -> None:
    # ipratio/pbratio 1 and no adaptive quantisation: every block of every frame is coded at exactly `qp`.
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-c:v", "libx264", "-qp", str(qp),
                    "-x264-params", "ipratio=1:pbratio=1:aq-mode=0", "-an", str(dest)], check=True)


def _ffprobe_packet_sizes(path) -> np.ndarray:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout
    return np.array([int(x) for x in out.split() if x.strip()], dtype=np.float64)


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    d = tmp_path_factory.mktemp("bits")
    src = make_clip(d / "src.mp4", seconds=2.0, width=96, height=64, fps=15, audio=False, crf=0)
    return {qp: _x264_at_qp(src, d / f"qp{qp}.mp4", qp) or d / f"qp{qp}.mp4" for qp in (22, 38)}


def _features(path):
    a = Analyzer.from_names(["bitstream"])
    res = a.analyze(str(path))
    assert not res.errors, res.errors
    return dict(zip(NAMES, res.outputs["bitstream"].pooled.astype(float)))


def test_qp_is_the_encoders_and_bpp_matches_ffprobe(coded):
    for qp, path in coded.items():
        f = _features(path)
        assert f["qp_available"] == 1.0
        assert f["qp_mean"] == pytest.approx(qp, abs=1e-6)
        assert f["qp_std"] == pytest.approx(0.0, abs=1e-6)
        assert f["qp_key"] == pytest.approx(qp, abs=1e-6)
        sizes = _ffprobe_packet_sizes(path)
        assert f["log2_bpp"] == pytest.approx(math.log2(8 * sizes.mean() / (96 * 64)), abs=1e-4)
        assert f["codec_h264"] == 1.0 and f["codec_other"] == 0.0
        assert f["log2_pixels"] == pytest.approx(math.log2(96 * 64))
    assert _features(coded[22])["log2_bpp"] > _features(coded[38])["log2_bpp"] + 1.0


def test_codec_without_qp_export_gives_nan_not_zero(good_videos):
    f = _features(good_videos["hevc"])
    assert f["qp_available"] == 0.0 and math.isnan(f["qp_mean"])
    assert f["codec_hevc"] == 1.0 and np.isfinite(f["log2_bpp"])


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="reads the resident set from /proc")
def test_reading_qp_hands_the_decoded_pictures_back(tmp_path):
    """PyAV keeps a frame whose side data was read in a reference cycle: read_bitstream collects it and trims
    the heap, so 60 decoded 720p pictures (~80 MB) are not held after it returns (RSS grows < 25 MB)."""
    import os
    import subprocess
    import sys

    clip = make_clip(tmp_path / "hd.mp4", seconds=2.0, width=1280, height=720, fps=30, audio=False)
    code = (
        "import os, sys\n"
        "from reelscore.media.bitstream import read_bitstream\n"
        "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20\n"
        f"read_bitstream({str(clip)!r}, 2)\n"  # codec set-up and imports out of the way
        "before = rss()\n"
        f"info = read_bitstream({str(clip)!r}, 60)\n"
        "print(len(info.frames), rss() - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, OMP_NUM_THREADS="1")).stdout.split()
    assert int(out[0]) == 60
    assert float(out[1]) < 25.0, out


def test_one_thread_reads_the_qp_from_the_grids_own_decode_with_the_same_values(tmp_path):
    """With one decoding thread (a --workers process) the QP comes from the frame grid's decode (no second
    pass); the per-frame QPs, picture types, packet sizes and features equal the separate pass's, for a clip
    with B frames and adaptive quantisation (QP varies per block) and alongside the coldsignal taps."""
    clip = make_clip(tmp_path / "b.mp4", seconds=3.0, width=128, height=96, fps=15, audio=True, crf=30)
    got = {}
    for threads in (1, 2):
        a = Analyzer.from_names(["bitstream", "coldsignal", "technical"], threads=threads)
        inputs = a.decode(str(clip), "b")
        req = next(r for r in inputs.extra if type(r).__name__ == "Bitstream")
        outs, errs = a.run(inputs)
        assert not errs, errs
        got[threads] = (inputs.extra[req], outs, inputs)
    (b1, o1, i1), (b2, o2, i2) = got[1], got[2]
    assert len(b1.frames) == len(b2.frames) == 45
    assert [t for t, _ in b1.frames] == [t for t, _ in b2.frames] and "B" in {t for t, _ in b1.frames}
    np.testing.assert_array_equal(np.array([q for _, q in b1.frames], float), np.array([q for _, q in b2.frames], float))
    np.testing.assert_array_equal(b1.packets.sizes, b2.packets.sizes)
    for name in ("bitstream", "coldsignal", "technical"):
        np.testing.assert_allclose(o1[name].pooled, o2[name].pooled, rtol=1e-6, atol=1e-9, equal_nan=True, err_msg=name)
    np.testing.assert_array_equal(i1.frames, i2.frames)
