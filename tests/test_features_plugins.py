"""Plug-in extractors (clip, r3d18, dover, t5, caption) with small random weights saved to a temp path."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reelscore.features.base import FramePlan, VideoInputs  # noqa: E402
from reelscore.features.registry import get_extractor  # noqa: E402


def _frames(n: int = 10, h: int = 72, w: int = 128, seed: int = 0) -> VideoInputs:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 255, (n, h, w, 3), dtype=np.uint8)
    plan = FramePlan(fps=4.0, short_side=h, clip_len=8)
    return VideoInputs(video_id="v", frames=frames, timestamps=np.arange(n) / 4.0, duration_s=n / 4.0, plan=plan)


@pytest.mark.parametrize(
    "name,option",
    [("clip", "--clip-checkpoint"), ("r3d18", "--r3d18-checkpoint"), ("dover", "--dover-checkpoint"), ("t5", "--t5-model"), ("caption", "--caption-model")],
)
def test_plugins_without_weights_name_the_option(name, option, tmp_path):
    with pytest.raises(ValueError, match=option):
        get_extractor(name)
    key = "model_dir" if name in ("t5", "caption") else "checkpoint"
    with pytest.raises(FileNotFoundError, match=option):
        get_extractor(name, **{key: str(tmp_path / "missing")})


def test_clip_loads_an_openai_layout_state_dict(tmp_path):
    from reelscore.features.clip_vit import CLIP_MEAN, CLIP_STD, clip_visual_module
    from reelscore.features.plugin_common import resize_crop as _resize_crop

    torch.manual_seed(0)
    ref = clip_visual_module(width=64, layers=2, patch=8, grid=4, out_dim=24)
    for p in ref.parameters():
        torch.nn.init.normal_(p, std=0.05)
    ckpt = tmp_path / "clip.pt"
    torch.save({f"visual.{k}": v for k, v in ref.state_dict().items()} | {"logit_scale": torch.tensor(1.0)}, ckpt)
    ext = get_extractor("clip", checkpoint=str(ckpt), stride=2)
    inp = _frames()
    ext.plan = inp.plan
    ext.setup()
    out = ext.extract(inp)
    assert out.pooled.shape == (24,) == (ext.dim,) and out.clips.shape == (2, 24)
    # the extractor's tower is the saved one: same embedding as the reference module
    x = (_resize_crop(inp.frames[:1], 32, 32, "cubic") - CLIP_MEAN) / CLIP_STD
    with torch.inference_mode():
        e = torch.nn.functional.normalize(ref.eval()(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()), dim=-1).numpy()
    np.testing.assert_allclose(ext.embed(inp.frames[:1]), e, atol=1e-5)
    with pytest.raises(ValueError, match="CLIP"):
        torch.save({"foo": torch.zeros(2)}, tmp_path / "bad.pt")
        get_extractor("clip", checkpoint=str(tmp_path / "bad.pt"))


def test_r3d18_has_torchvision_layout_and_loads(tmp_path):
    from reelscore.features.r3d18 import build_r3d18

    full = build_r3d18(400)
    assert sum(p.numel() for p in full.parameters()) == 33_371_472  # torchvision r3d_18's parameter count
    keys = set(full.state_dict())
    for k in ("stem.0.weight", "stem.1.running_var", "layer1.0.conv1.0.weight", "layer2.0.downsample.0.weight", "layer4.1.conv2.1.bias", "fc.weight"):
        assert k in keys
    assert not any(k.startswith("layer1.0.downsample") for k in keys)
    torch.manual_seed(1)
    small = build_r3d18(5)
    ckpt = tmp_path / "r3d.pth"
    torch.save(small.state_dict(), ckpt)
    ext = get_extractor("r3d18", checkpoint=str(ckpt))
    inp = _frames(n=6)
    inp.plan = FramePlan(fps=4.0, short_side=72, clip_len=4)  # 4-frame clips keep the 3D convs cheap here
    ext.plan = inp.plan
    out = ext.extract(inp)
    assert out.pooled.shape == (513,) and out.clips.shape == (2, 512)
    assert np.isfinite(out.clips).all() and out.clip_starts.tolist() == [0.0, 1.0]
    np.testing.assert_allclose(out.pooled[:512], out.clips.mean(0), rtol=1e-5)


def test_dover_runs_a_torchscript_export(tmp_path):
    class TinyDover(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Conv3d(3, 1, 1)
            self.t = torch.nn.Conv3d(3, 1, 1)

        def forward(self, aesthetic: torch.Tensor, technical: torch.Tensor):
            return self.a(aesthetic).mean().reshape(1), self.t(technical).mean().reshape(1)

    torch.manual_seed(2)
    path = tmp_path / "dover.pt"
    torch.jit.save(torch.jit.script(TinyDover()), str(path))
    ext = get_extractor("dover", checkpoint=str(path))
    inp = _frames(n=6)
    ext.plan = inp.plan
    out = ext.extract(inp)
    assert out.clips.shape == (1, 2) and out.pooled.shape == (2,)
    from reelscore.features.dover import fragments_view

    frag = fragments_view(inp.frames[:2])
    assert frag.shape == (2, 224, 224, 3)
    # a fragment patch is an unscaled crop of the frame (72 px < 224 → upscaled first, so check a big frame)
    big = np.random.default_rng(0).integers(0, 255, (1, 448, 448, 3), dtype=np.uint8)
    np.testing.assert_array_equal(fragments_view(big)[0, :32, :32], big[0, 16:48, 16:48])


def _word_tokenizer(words: list[str], out_dir, **special):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(words)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", **special)
    fast.save_pretrained(out_dir)


def test_t5_encodes_fields_from_a_local_dir(tmp_path):
    from transformers import T5Config, T5EncoderModel

    d = tmp_path / "t5"
    torch.manual_seed(3)
    T5EncoderModel(T5Config(vocab_size=40, d_model=16, d_kv=4, d_ff=32, num_layers=1, num_heads=2)).save_pretrained(d)
    _word_tokenizer(["[PAD]", "[UNK]", "my", "dog", "music", "speech", "cat"], d, pad_token="[PAD]")
    ext = get_extractor("t5", model_dir=str(d))
    inp = VideoInputs(video_id="v", texts={"title": "my dog", "description": "", "caption": "cat", "audio_tags": "Music"})
    out = ext.extract(inp)
    assert out.tokens.shape == (4, 16) and out.pooled.shape == (ext.dim,) == (4 * 16 + 4,)
    assert np.all(out.tokens[1] == 0) and np.any(out.tokens[0] != 0)
    assert list(out.pooled[-4:]) == [0, 1, 0, 0]


def test_caption_feeds_text(tmp_path):
    from transformers import BlipConfig, BlipForConditionalGeneration

    d = tmp_path / "blip"
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [f"w{i}" for i in range(28)]
    cfg = BlipConfig(
        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
        text_config={"vocab_size": len(words), "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                     "max_position_embeddings": 40, "bos_token_id": 2, "sep_token_id": 3, "pad_token_id": 0, "eos_token_id": 3},
    )
    torch.manual_seed(4)
    BlipForConditionalGeneration(cfg).save_pretrained(d)
    _word_tokenizer(words, d, pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]")
    ext = get_extractor("caption", model_dir=str(d), stride=2, max_new_tokens=5)
    inp = _frames(n=6)
    ext.plan = inp.plan
    out = ext.extract(inp)
    assert out.pooled.shape == (16,) and out.clips.shape == (1, 16)
    cap = out.meta["caption"]
    assert isinstance(cap, str) and cap == ext.extract(inp).meta["caption"]  # deterministic (greedy)
    assert set(cap.split()) <= set(words)
    inp.prior["caption"] = out
    from reelscore.features.text import TextExtractor

    assert TextExtractor().field_texts(inp)[3] == cap
