"""The GPU path: --device / --precision checked before anything loads; on a GPU (skipped without one) the
networks give the CPU's numbers within a stated tolerance, fp32 and fp16."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from reelscore.cli import app
from reelscore.common.devices import check_device, gpu_available

GPU = gpu_available()


def test_cpu_needs_nothing_and_fp16_is_a_gpu_setting():
    check_device("cpu")
    check_device("cpu", "fp32")
    with pytest.raises(ValueError, match="--precision fp16 needs --device cuda"):
        check_device("cpu", "fp16")
    with pytest.raises(ValueError, match="--precision 'bf8'"):
        check_device("cpu", "bf8")
    with pytest.raises(ValueError, match="expected cpu, cuda or cuda:N"):
        check_device("tpu")
    with pytest.raises(ValueError, match="expected cpu, cuda or cuda:N"):
        check_device("cuda:x")


@pytest.mark.skipif(GPU, reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line_before_any_model_loads(tmp_path, monkeypatch):
    from reelscore.media.synth import make_clip
    import reelscore.scoring as scoring

    def boom(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(scoring.Scorer, "load", boom)
    clip = make_clip(tmp_path / "a.mp4", seconds=1.0, width=64, height=112, fps=8, audio=False)
    for args, needle in ((["--device", "cuda"], "no CUDA GPU"), (["--device", "cuda:3"], "no CUDA GPU"),
                         (["--precision", "fp16"], "needs --device cuda")):
        r = CliRunner().invoke(app, ["score", str(clip), *args])
        assert r.exit_code == 2, r.output
        line = r.output.strip().splitlines()[-1]
        assert needle in line and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["extract", str(tmp_path / "m.csv"), "--out", str(tmp_path / "s"), "--device", "cuda"])
    assert r.exit_code == 2


def test_fp16_is_keyed_in_the_store_and_fp32_is_not():
    from reelscore.features.registry import get_extractor

    e = get_extractor("semantic")
    fp32 = e.spec()["spec_id"]
    e.precision = "fp16"
    assert e.spec()["spec_id"] != fp32  # half-precision features never mix with full-precision ones
    e.precision = "fp32"
    assert e.spec()["spec_id"] == fp32


@pytest.mark.skipif(not GPU, reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision, feat_tol, prob_tol", [("fp32", 2e-3, 1e-4), ("fp16", 5e-2, 5e-3)])
def test_semantic_on_the_gpu_matches_the_cpu(precision, feat_tol, prob_tol):
    from skimage import data

    from reelscore.features.semantic import embed_frames

    frames = np.stack([np.ascontiguousarray(getattr(data, n)()[:256, :256, :3]) for n in ("chelsea", "coffee", "astronaut", "rocket")])
    f_cpu, p_cpu = embed_frames(frames, backend="onnx")
    f_gpu, p_gpu = embed_frames(frames, device="cuda", backend="torch", precision=precision, batch_size=2)
    assert f_gpu.dtype == np.float32 and p_gpu.dtype == np.float32
    assert np.abs(f_gpu - f_cpu).max() < feat_tol
    assert np.abs(p_gpu - p_cpu).max() < prob_tol
    assert (p_gpu.argmax(1) == p_cpu.argmax(1)).all()


@pytest.mark.skipif(not GPU, reason="needs a CUDA GPU")
def test_score_on_the_gpu_gives_the_cpu_numbers(tmp_path):
    import json

    from reelscore.media.synth import make_clip

    clip = make_clip(tmp_path / "a.mp4", seconds=2.0, width=96, height=160, fps=10)
    rows = {}
    for args in ([], ["--device", "cuda"], ["--device", "cuda", "--precision", "fp16", "--batch-size", "4"]):
        r = CliRunner().invoke(app, ["score", str(clip), "--json", "--no-timeline", *args])
        assert r.exit_code == 0, r.output
        rows[" ".join(args)] = json.loads(next(ln for ln in r.stdout.splitlines() if ln.startswith("{")))
    cpu = rows[""]
    for k, row in rows.items():
        for t in ("ecr", "mos"):
            assert row["scores"][t]["value"] == pytest.approx(cpu["scores"][t]["value"], abs=0.02), (k, t)
