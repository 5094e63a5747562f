"""clip_mean3: a tiny randomly initialised CLIP in Hugging Face layout, against a direct computation of the recipe."""

from __future__ import annotations

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> str:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    d = tmp_path_factory.mktemp("tinyclip")
    cfg = CLIPConfig(
        text_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                         vocab_size=64, max_position_embeddings=16, bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=16),
        projection_dim=8)
    torch.manual_seed(0)
    CLIPModel(cfg).eval().save_pretrained(d)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(d)
    return str(d)


@pytest.fixture(scope="module")
def clip_video(tmp_path_factory):
    from reelscore.media.synth import make_clip

    return make_clip(tmp_path_factory.mktemp("cv") / "c.mp4", seconds=2.0, width=64, height=112, fps=15, seed=2)


def _direct(path, model_dir: str) -> np.ndarray:
    """Every frame decoded with PyAV in order, frames int(linspace(0, n-1, 3)), the HF processor and model."""
    import av
    import torch
    from transformers import CLIPImageProcessor, CLIPModel

    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    idx = np.linspace(0, len(frames) - 1, 3).astype(int)
    proc = CLIPImageProcessor.from_pretrained(model_dir)
    model = CLIPModel.from_pretrained(model_dir).eval()
    with torch.no_grad():
        px = proc(images=[frames[i] for i in idx], return_tensors="pt")["pixel_values"]
        emb = model.visual_projection(model.vision_model(pixel_values=px).pooler_output)
    return emb.mean(0).numpy()


def test_reproduces_the_recipe(tiny_clip, clip_video):
    from reelscore.features.analysis import Analyzer

    an = Analyzer.from_names(["clip_mean3", "semantic"], options={"clip_mean3": {"checkpoint": tiny_clip, "dim": 8}})
    res = an.analyze(str(clip_video))
    assert res.errors == {}
    out = res.outputs["clip_mean3"]
    assert out.pooled.shape == (8,) and out.meta["frames"] == 3
    np.testing.assert_allclose(out.pooled, _direct(clip_video, tiny_clip), rtol=1e-4, atol=1e-5)
    assert an.extractors["clip_mean3"].feature_names()[:2] == ["clip_000", "clip_001"]


def test_without_weights_it_names_the_option(clip_video):
    from reelscore.features.analysis import Analyzer

    res = Analyzer.from_names(["clip_mean3", "coldsignal"]).analyze(str(clip_video))
    assert "clip_mean3" not in res.outputs and "coldsignal" in res.outputs  # the others still answer
    assert "--clip-checkpoint" in res.errors["clip_mean3"]


def test_wrong_dim_is_a_clear_error(tiny_clip, clip_video):
    from reelscore.features.analysis import Analyzer

    res = Analyzer.from_names(["clip_mean3"], options={"clip_mean3": {"checkpoint": tiny_clip}}).analyze(str(clip_video))
    assert "projection size 8" in res.errors["clip_mean3"]
