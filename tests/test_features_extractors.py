"""Each default extractor on real inputs: output shapes match the declared spec, values are sane."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from reelscore.features.base import FramePlan, VideoInputs
from reelscore.features.registry import DEFAULT_EXTRACTORS, get_extractor, list_extractors, resolve_order


def _photo(name: str = "astronaut", side: int = 360) -> np.ndarray:
    import cv2
    from skimage import data

    img = getattr(data, name)()
    h, w = img.shape[:2]
    s = side / min(h, w)
    return cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def _inputs(frames: np.ndarray, fps: float = 4.0, **kw) -> VideoInputs:
    plan = FramePlan(fps=fps, short_side=frames.shape[1], clip_len=16)
    ts = np.arange(len(frames)) / fps
    return VideoInputs(video_id="v", frames=frames, timestamps=ts, duration_s=len(frames) / fps, plan=plan, **kw)


def _check_shapes(ext, out, n_clips: int | None) -> None:
    assert out.pooled.shape == (ext.dim,)
    assert out.pooled.dtype == np.float32
    if n_clips is not None:
        assert out.clips.shape == (n_clips, ext.clip_dim)
        assert out.clip_starts.shape == (n_clips,)
        np.testing.assert_allclose(out.clip_starts, np.arange(n_clips) * 4.0)


def test_registry_lists_defaults_and_rejects_unknown():
    assert DEFAULT_EXTRACTORS == ["semantic", "technical", "motion", "audio", "text"]
    assert set(DEFAULT_EXTRACTORS) | {"clip", "r3d18", "dover", "t5", "caption"} <= set(list_extractors())
    with pytest.raises(KeyError, match="unknown extractor 'nope'"):
        get_extractor("nope")
    with pytest.raises(ValueError, match="unknown config keys"):
        get_extractor("technical", bogus=1)
    # text reads the audio tags, so asking for text alone runs audio first
    assert resolve_order(["text"]) == ["audio", "text"]


@pytest.mark.parametrize("name", DEFAULT_EXTRACTORS)
def test_spec_declares_everything(name):
    spec = get_extractor(name).spec()
    for key in ("name", "version", "modality", "sampler", "preprocessing", "config", "dim", "feature_names", "spec_id"):
        assert spec[key] not in (None, ""), key
    assert len(spec["feature_names"]) == spec["dim"] == len(set(spec["feature_names"]))


def test_technical_per_frame_in_chunks_equals_one_frame_after_another():
    """per_frame runs frames in threaded chunks; TI across chunk borders included, values equal a plain loop."""
    import cv2

    from reelscore.features.technical import frame_descriptors

    ext = get_extractor("technical")
    base = _photo("astronaut", 96)
    frames = np.stack([np.roll(base, 2 * i, axis=1) for i in range(37)])  # more than two chunks of 16
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        got = ext.per_frame(frames)
    finally:
        cv2.setNumThreads(before)
    prev, want = None, []
    for i, f in enumerate(frames):
        v, y = frame_descriptors(f, prev, with_brisque=(i % ext.cfg.brisque_stride == 0))
        want.append(v)
        prev = y
    np.testing.assert_allclose(got, np.stack(want), rtol=1e-12, atol=1e-12, equal_nan=True)


def test_technical_blur_lowers_sharpness_noise_raises_sigma():
    import cv2

    ext = get_extractor("technical")
    img = _photo()
    rng = np.random.default_rng(0)
    blurred = cv2.GaussianBlur(img, (0, 0), 3)
    noisy = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    names = ext.clip_feature_names()
    vals = ext.per_frame(np.stack([img, blurred, noisy]))
    col = {n: vals[:, i] for i, n in enumerate(names)}
    assert col["sharpness"][1] < 0.1 * col["sharpness"][0]
    assert col["blur"][1] > col["blur"][0] + 0.2
    assert col["noise_sigma"][2] > 2 * col["noise_sigma"][0]
    assert col["si"][1] < col["si"][0]
    assert np.isnan(col["ti"][0]) and col["ti"][1] > 0  # TI needs a previous frame
    # JPEG at quality 5 is blocky
    ok, enc = cv2.imencode(".jpg", img[..., ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, 5])
    jpg = cv2.imdecode(enc, 1)[..., ::-1].copy()
    from reelscore.features.technical import blockiness, brisque_model_files, luma

    assert blockiness(luma(jpg)) > 1.5 > blockiness(luma(img))
    if brisque_model_files() is not None:  # BRISQUE: lower is better
        from reelscore.features.technical import brisque

        assert brisque(img) < brisque(blurred)
        assert np.isnan(col["brisque"][1])  # only every brisque_stride-th frame (default 4) is scored
    out = ext.extract(_inputs(np.stack([img] * 6 + [blurred] * 6)))
    _check_shapes(ext, out, 1)
    assert not np.isnan(out.pooled[names.index("sharpness") * 2])


def test_semantic_recognises_a_cat_and_pools_per_clip():
    ext = get_extractor("semantic", stride=1)
    ext.setup()
    cat = _photo("chelsea", 300)
    out = ext.extract(_inputs(np.stack([cat] * 3)))
    _check_shapes(ext, out, 1)
    assert {"Egyptian cat", "tabby", "tiger cat"} & set(out.meta["top_classes"][:2])
    from reelscore.features.semantic import embed_frames

    feats, probs = embed_frames(np.stack([_photo("coffee", 300)]))
    assert feats.shape == (1, 1280) and probs.shape == (1, 1000)
    from reelscore.features.semantic import top_classes

    assert top_classes(probs[0])[0][0] in ("espresso", "cup", "coffee mug")


def test_semantic_onnx_runtime_matches_the_torch_network():
    """The default ONNX Runtime path (no torch imported) gives the torch model's features and probabilities:
    features within 2e-4 absolute (float32 kernels differ in summation order), probabilities within 1e-5,
    the same top class on every photo."""
    import subprocess
    import sys

    from reelscore.features.semantic import embed_frames, softmax

    frames = np.stack([_photo(n, 300)[:300, :300] for n in ("chelsea", "coffee", "astronaut", "rocket")])
    f_onnx, p_onnx = embed_frames(frames, backend="onnx", threads=1)
    f_torch, p_torch = embed_frames(frames, backend="torch")
    assert np.abs(f_onnx - f_torch).max() < 2e-4
    assert np.abs(p_onnx - p_torch).max() < 1e-5
    assert (p_onnx.argmax(1) == p_torch.argmax(1)).all()
    import torch

    lg = torch.randn(3, 1000) * 8
    np.testing.assert_allclose(softmax(lg.numpy()), torch.softmax(lg, -1).numpy(), rtol=1e-5, atol=1e-8)
    # the scoring path's extractors run without importing torch at all
    code = ("import sys, numpy as np; from reelscore.features.registry import get_extractor; "
            "e = get_extractor('semantic'); e.setup('cpu'); "
            "from reelscore.features.semantic import embed_frames; embed_frames(np.zeros((1, 64, 64, 3), np.uint8), backend='onnx'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_motion_pairs_on_threads_equal_a_plain_loop():
    """pair_stats runs frames and pairs on OpenCV's thread budget: the values (cut pairs included) are the same."""
    import cv2

    from reelscore.features.motion import pair_stats

    base = _photo("astronaut", 160)
    frames = np.stack([np.roll(base, 3 * i, axis=1) for i in range(9)] + [np.full_like(base, (20, 200, 40))] * 3
                      + [np.roll(base, 2 * i, axis=0) for i in range(6)])
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        one = pair_stats(frames, 4.0, 128, 0.5)
        cv2.setNumThreads(2)
        two = pair_stats(frames, 4.0, 128, 0.5)
    finally:
        cv2.setNumThreads(before)
    assert one.shape == (17, 6) and one[:, 5].sum() == 2  # into and out of the green frames
    np.testing.assert_array_equal(one, two)


def test_motion_finds_the_cut_and_still_frames_have_no_flow():
    ext = get_extractor("motion")
    base = _photo("astronaut", 96)
    moving = [np.roll(base, 3 * i, axis=1) for i in range(10)]
    other = [np.full_like(base, (20, 200, 40))] * 10
    frames = np.stack(moving + other)
    out = ext.extract(_inputs(frames))
    _check_shapes(ext, out, 2)  # 20 frames at 4 fps = 5 s = two 4-s clips
    assert out.clips[0, -1] == 1 and out.clips[1, -1] == 0  # the cut at 2.5 s lies in clip 0 (0-4 s)
    pooled = dict(zip(ext.feature_names(), out.pooled))
    assert out.meta["cut_times"] == [2.5]
    assert pooled["n_cuts"] == 1 and pooled["first_cut_s"] == pytest.approx(2.5)
    assert pooled["flow_mean"] > 0.05
    still = ext.extract(_inputs(np.stack([base] * 8)))
    sp = dict(zip(ext.feature_names(), still.pooled))
    assert sp["flow_mean"] < 1e-3 and sp["n_cuts"] == 0 and sp["diff_mean"] == 0


def _audio_inputs(wave: np.ndarray | None, seconds: float) -> VideoInputs:
    return VideoInputs(video_id="a", audio=wave, audio_rate=16000, duration_s=seconds, plan=FramePlan(), audio_missing=None if wave is not None else "no audio stream")


def test_audio_tone_music_silence_and_no_audio():
    ext = get_extractor("audio")
    ext.setup()
    t = np.arange(16000 * 5) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = ext.extract(_audio_inputs(tone, 5.0))
    _check_shapes(ext, out, 2)
    p = dict(zip(ext.feature_names(), out.pooled))
    assert p["silent"] == 0 and p["no_audio"] == 0
    assert p["rms_dbfs"] == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.1)
    assert {"Sine wave", "Dial tone", "Telephone", "Busy signal", "Alarm"} & set(out.meta["tags"])
    chord = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t) ** 2)
    chord += 0.3 * np.sin(2 * np.pi * 110 * t) * (np.mod(t, 0.5) < 0.1)
    mus = ext.extract(_audio_inputs(chord.astype(np.float32), 5.0))
    assert mus.meta["tags"][0] == "Music"
    mp = dict(zip(ext.feature_names(), mus.pooled))
    assert mp["music_share"] > 0.5 and mp["tempo_bpm"] == pytest.approx(120, abs=3)
    quiet = ext.extract(_audio_inputs(np.zeros(16000 * 2, np.float32), 2.0))
    assert quiet.meta["tags"][0] == "Silence"
    assert dict(zip(ext.feature_names(), quiet.pooled))["silent"] == 1
    none = ext.extract(_audio_inputs(None, 3.0))
    _check_shapes(ext, none, 1)
    np_ = dict(zip(ext.feature_names(), none.pooled))
    assert np_["no_audio"] == 1 and none.meta["tag_text"] == ""


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (Debian package espeak-ng)")
def test_audio_speech_is_speech(tmp_path):
    import soundfile as sf
    from scipy.signal import resample_poly

    wav = tmp_path / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "Hello everyone, welcome back to my channel. Today we cook dinner in ten minutes."], check=True)
    x, sr = sf.read(wav, dtype="float32")
    x = resample_poly(x, 16000, sr).astype(np.float32)
    ext = get_extractor("audio")
    out = ext.extract(_audio_inputs(x, x.size / 16000))
    assert out.meta["tags"][0] == "Speech"
    assert dict(zip(ext.feature_names(), out.pooled))["speech_share"] > 0.5


def test_yamnet_front_end_matches_yamnet_parameters():
    from reelscore.features import yamnet

    m = yamnet.mel_matrix()
    assert m.shape == (257, 64) and np.all(m[0] == 0)
    hz = np.arange(257) * 8000 / 256
    active = hz[m.sum(1) > 0]
    assert active.min() > 125 and active.max() < 7500
    lm = yamnet.log_mel(np.zeros(16000, np.float32))
    assert lm.shape == (98, 64) and np.allclose(lm, np.log(0.001))
    p, centres = yamnet.patches(yamnet.log_mel(np.zeros(16000 * 3, np.float32)))
    assert p.shape[1:] == (96, 64) and np.allclose(np.diff(centres), 0.48)
    assert len(yamnet.class_names()) == 521 and yamnet.class_names()[0] == "Speech"


def test_text_embeds_fields_and_flags_empty():
    from reelscore.features.base import ExtractorOutput

    ext = get_extractor("text")
    audio = ExtractorOutput(pooled=np.zeros(0, np.float32), meta={"tag_text": "Music, Speech"})
    inp = VideoInputs(video_id="t", texts={"title": "My dog learns a trick", "description": "  ", "caption": None}, prior={"audio": audio})
    out = ext.extract(inp)
    assert out.pooled.shape == (ext.dim,)
    assert out.token_fields == ["title", "description", "audio_tags", "caption"]
    assert out.tokens.shape == (4, 384)
    assert np.linalg.norm(out.tokens[0]) == pytest.approx(1, abs=1e-4)
    assert np.all(out.tokens[1] == 0) and np.all(out.tokens[3] == 0)
    assert list(out.pooled[-4:]) == [0, 1, 0, 1]
    assert out.meta["texts"]["audio_tags"] == "Music, Speech"


def test_technical_window_pools_the_whole_video_pass(tmp_path):
    """The timeline's per-second technical features come from the whole-video per-frame rows (computed once):
    the full span equals the whole-video vector; per second, every non-temporal, non-strided descriptor
    equals running the extractor on that second alone."""
    from reelscore.features.analysis import Analyzer
    from reelscore.features.technical import DESCRIPTORS
    from reelscore.media.synth import make_clip

    clip = make_clip(tmp_path / "w.mp4", seconds=4.0, width=96, height=160, fps=12, seed=5)
    an = Analyzer.from_names(["technical"])
    an.stream_grid = False  # keep the grid: the seconds below are recomputed from its frames
    res = an.analyze(str(clip))
    ext, out = an.extractors["technical"], res.outputs["technical"]
    np.testing.assert_allclose(ext.window(out, 0.0, res.inputs.duration_s).pooled, out.pooled, rtol=1e-6)
    same = [i for i, d in enumerate(DESCRIPTORS) if d not in ("ti", "brisque", "flicker")]
    for s in (1.0, 2.0):
        w = an.window(res.inputs, s, s + 1.0)
        alone = ext.extract(w).pooled[: 2 * len(DESCRIPTORS)].reshape(-1, 2)[:, 0]
        pooled = ext.window(out, s, s + 1.0).pooled[: 2 * len(DESCRIPTORS)].reshape(-1, 2)[:, 0]
        np.testing.assert_allclose(pooled[same], alone[same], rtol=1e-5, atol=1e-6)
        assert np.isfinite(pooled).all()


def test_threaded_frames_give_the_serial_values(tmp_path):
    """technical and coldsignal spread frames over OpenCV's thread budget: bit-identical to one thread."""
    import cv2

    from reelscore.features.analysis import Analyzer
    from reelscore.media.synth import make_clip

    clip = make_clip(tmp_path / "t.mp4", seconds=3.0, width=96, height=160, fps=15, seed=8)
    an = Analyzer.from_names(["technical", "coldsignal"])
    inputs = an.decode(str(clip), "t")
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        threaded, _ = an.run(inputs)
        inputs.prior = {}
        cv2.setNumThreads(1)
        serial, _ = an.run(inputs)
    finally:
        cv2.setNumThreads(before)
    for name in ("technical", "coldsignal"):
        np.testing.assert_array_equal(threaded[name].pooled, serial[name].pooled)


def test_yamnet_quant_constants_cache_equals_the_graph_and_a_damaged_cache_is_reread(tmp_path):
    import shutil

    import onnx
    from onnx import numpy_helper

    from reelscore.features import yamnet

    src = yamnet.unpacked_model()
    model = tmp_path / "model.onnx"
    shutil.copy(src, model)  # the constants are initialisers inside the graph file itself
    graph = onnx.load(str(model), load_external_data=False).graph
    want = {i.name: float(numpy_helper.to_array(i)) for i in graph.initializer if i.name in yamnet._QUANT_NAMES}
    assert len(want) == 4
    assert yamnet.quant_constants(model) == want  # first call reads the graph and writes the cache
    assert (tmp_path / "quant_constants.json").is_file()
    assert yamnet.quant_constants(model) == want  # second call reads the cache
    (tmp_path / "quant_constants.json").write_text("{not json")
    assert yamnet.quant_constants(model) == want


def test_brisque_with_a_loaded_model_equals_opencvs_static_compute_also_on_threads():
    """brisque() lends loaded models out instead of re-reading the files per call: same values as OpenCV's
    static compute, serially and from several threads at once."""
    import cv2
    import skimage.data
    from concurrent.futures import ThreadPoolExecutor

    from reelscore.features.technical import brisque, brisque_model_files

    files = brisque_model_files()
    if files is None:
        pytest.skip("OpenCV's BRISQUE model files (Debian opencv-data) are not installed")
    base = skimage.data.astronaut()
    imgs = [base, cv2.GaussianBlur(base, (0, 0), 2.0), cv2.resize(base, (320, 180)), base[:200, :300].copy(),
            np.clip(base + np.random.default_rng(0).normal(0, 20, base.shape), 0, 255).astype(np.uint8)]
    want = [float(cv2.quality.QualityBRISQUE_compute(np.ascontiguousarray(i[..., ::-1]), *files)[0]) for i in imgs]
    assert [brisque(i) for i in imgs] == want
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(brisque, imgs * 4)) == want * 4
