"""Quality models: KSVQE tiny config (forward/backward, top-K, save/load, generic predict) and the light model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from reelscore.media.synth import make_clip
from reelscore.models.quality_net import KSVQEModel, KSVQENet, PerturbedTopK, hard_topk, ksvqe_config, load_sample
from reelscore.models.registry import get_kind, load_model


def test_perturbed_topk_indicators_and_gradient():
    torch.manual_seed(0)
    x = torch.tensor([[1.4, 2.0, -1.0, 1.5, 0.0]], requires_grad=True)
    ind = PerturbedTopK.apply(x, 2, 2000, 0.1)
    vals = ind.detach()
    assert vals.shape == (1, 2, 5)
    assert torch.allclose(vals.sum(-1), torch.ones(1, 2))
    # Patch 1 is always kept; patches 0 and 3 compete (scores 1.4 vs 1.5), the rest never win.
    assert float(vals[0, :, 1].sum()) == pytest.approx(1.0)
    assert 0.05 < float(vals[0, :, 0].sum()) < 0.5 < float(vals[0, :, 3].sum())
    assert float(vals[0, :, 2].sum()) == 0.0
    ind[:, :, 0].sum().backward()  # wanting patch 0 kept must raise its score
    assert x.grad[0, 0] > 0 and x.grad[0, 2] == 0
    hard = hard_topk(x.detach(), 2)
    assert hard[0, 0, 1] == 1 and hard[0, 1, 3] == 1


def test_ksvqe_tiny_forward_backward_reaches_selector():
    cfg = ksvqe_config("tiny")
    net = KSVQENet(cfg, dist_dim=6).train()
    side = cfg.grid * cfg.patch
    frags = torch.randn(3, cfg.frames, 3, side, side)
    out = net(frags, torch.rand(3, 3, side, side), torch.randn(3, 6))
    assert out.shape == (3,)
    out.pow(2).sum().backward()
    assert net.scorer.weight.grad.abs().sum() > 0  # gradient flows through the perturbed top-K
    assert net.stem[0].weight.grad.abs().sum() > 0
    mosaic, kept, scores = net.eval().select(frags, torch.randn(3, cfg.grid**2, cfg.enc_dim))
    assert mosaic.shape == (3, 3, cfg.frames, cfg.keep * cfg.patch, cfg.keep * cfg.patch)
    # Eval selection copies real patches: every kept block equals some source patch exactly.
    b0 = mosaic[0, :, :, : cfg.patch, : cfg.patch].permute(1, 0, 2, 3)
    cands = [frags[0, :, :, i * cfg.patch:(i + 1) * cfg.patch, j * cfg.patch:(j + 1) * cfg.patch]
             for i in range(cfg.grid) for j in range(cfg.grid)]
    assert any(torch.equal(b0, c) for c in cands)


@pytest.fixture(scope="module")
def tiny_videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("ksvqe")
    paths, mos = [], []
    for i, crf in enumerate([10, 30, 45, 51]):
        paths.append(make_clip(d / f"v{i}.mp4", seconds=1.0, width=64, height=112, fps=8, audio=False, seed=i, crf=crf))
        mos.append(5.0 - i)
    return d, paths, np.array(mos)


def test_ksvqe_fit_save_load_and_generic_predict(tiny_videos, tmp_path):
    d, paths, mos = tiny_videos
    cfg = ksvqe_config("tiny", epochs=2)
    s = load_sample(paths[0], cfg, train=True)
    assert s.frags.shape == (1, cfg.frames, cfg.grid * cfg.patch, cfg.grid * cfg.patch, 3)
    model = KSVQEModel(cfg).fit(paths, mos)
    assert len(model.history) == 2 and all(np.isfinite(model.history))
    pred = model.predict(paths + [d / "missing.mp4"])
    assert np.isfinite(pred[:4]).all() and pred[:4].min() >= 1 and pred[:4].max() <= 5 and np.isnan(pred[4])
    out = model.save(tmp_path / "ksvqe")
    loaded = load_model(out)
    assert isinstance(loaded, KSVQEModel) and loaded.extra["encoder"] == "conv encoder trained from scratch"
    np.testing.assert_allclose(loaded.predict(paths), pred[:4], rtol=1e-5, atol=1e-5)

    from reelscore.training.predict import predict

    man = tmp_path / "manifest.csv"
    pd.DataFrame({"video_id": [p.stem for p in paths], "path": [str(p) for p in paths]}).to_csv(man, index=False)
    got = predict(out, manifest=man, out=tmp_path / "pred.csv")
    assert list(got.columns) == ["Id", "MOS"] and len(got) == 4

    import json

    from reelscore.models.registry import ModelError

    meta = json.loads((out / "model.json").read_text())
    del meta["config"]["encoder"], meta["config"]["ema"]  # a model saved before those fields existed
    (out / "model.json").write_text(json.dumps(meta))
    old = load_model(out)
    assert old.cfg.encoder == "conv"  # not the cpu preset's lite0: its weights are a conv encoder's
    np.testing.assert_allclose(old.predict(paths), pred[:4], rtol=1e-5, atol=1e-5)
    meta["label_norm"] = {}
    (out / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="lacks label_norm.MOS"):
        load_model(out)
    np.testing.assert_allclose(got["MOS"].to_numpy(), pred[:4], rtol=1e-5, atol=1e-5)


def test_light_quality_model_round_trip(tmp_path):
    from reelscore.models.quality_light import QualityLightModel, quality_learner_config

    rng = np.random.default_rng(0)
    n = 40
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"technical:f{i}" for i in range(6)], index=[f"v{i}" for i in range(n)])
    y = pd.Series(3 + X["technical:f0"] - 0.5 * X["technical:f3"] + 0.05 * rng.normal(size=n), index=X.index)
    assert get_kind("quality", "light") is QualityLightModel
    for learner in ("ridge", "gbdt"):
        m = QualityLightModel(quality_learner_config(learner)).fit_mos(X.iloc[:30], y.iloc[:30], {"technical": "1"})
        p = m.predict_mos(X.iloc[30:])
        assert np.corrcoef(p, y.iloc[30:])[0, 1] > 0.7
        m.save(tmp_path / learner)
        back = load_model(tmp_path / learner)
        assert back.task == "quality" and back.targets == ["MOS"]
        np.testing.assert_allclose(back.predict_mos(X.iloc[30:]), p)


def test_ksvqe_clip_encoder_from_local_checkpoint(tmp_path):
    from transformers import CLIPVisionConfig, CLIPVisionModel

    ckpt = tmp_path / "clip"
    conf = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=16)
    CLIPVisionModel(conf).save_pretrained(ckpt)
    cfg = ksvqe_config("tiny", clip_path=str(ckpt))
    net = KSVQENet(cfg, dist_dim=4).train()
    side = cfg.grid * cfg.patch  # 48 px: position embeddings are interpolated from 32
    out = net(torch.randn(2, cfg.frames, 3, side, side), torch.rand(2, 3, side, side), torch.randn(2, 4))
    out.sum().backward()
    assert not any(p.grad is not None for p in net.encoder.model.parameters())  # frozen
    assert net.scorer.weight.grad.abs().sum() > 0
    with pytest.raises(Exception, match="never downloaded"):
        KSVQENet(ksvqe_config("tiny", clip_path=str(tmp_path / "nope")), dist_dim=4)


def test_ksvqe_learns_the_crf_order_on_unseen_content(tmp_path):
    """Trained on two contents at six CRFs (labels from the encoder setting), the tiny KSVQE ranks a third,
    unseen content's versions in CRF order (a test that fails if the network learns nothing)."""
    from scipy.stats import spearmanr

    crfs = [10, 22, 32, 40, 46, 51]
    mos = np.linspace(5, 1, len(crfs))

    def versions(seed):
        return [make_clip(tmp_path / f"s{seed}_{c}.mp4", seconds=1.0, width=64, height=112, fps=8, audio=False,
                          seed=seed, crf=c) for c in crfs]

    model = KSVQEModel(ksvqe_config("tiny", epochs=40, seed=0)).fit(versions(0) + versions(3), np.r_[mos, mos])
    pred = model.predict(versions(5))
    assert spearmanr(pred, mos)[0] >= 0.8, pred


def test_ksvqe_lite0_encoder_is_the_packaged_network_frozen(tiny_videos, tmp_path):
    """The lite0 encoder's tokens are EfficientNet-Lite0's block-10 and block-15 maps pooled to the grid
    (checked against an independent forward of the packaged network), no gradient reaches it, and a model
    trained with cached tokens predicts the same after save/load (the encoder is re-read from its package)."""
    import torch.nn.functional as F

    from reelscore.features.semantic import load_efficientnet_lite0

    cfg = ksvqe_config("tiny", encoder="lite0", epochs=2)
    net = KSVQENet(cfg, dist_dim=4).train()
    assert not net.encoder.model.training  # its batch norms stay in inference mode
    side = cfg.grid * cfg.patch
    img = torch.rand(2, 3, side, side)
    ref = load_efficientnet_lite0()
    with torch.no_grad():
        h = ref._swish(ref._bn0(ref._conv_stem(img * 255 / 128 - 127 / 128)))
        maps = {}
        for i, b in enumerate(ref._blocks):
            h = b(h, drop_connect_rate=None)
            maps[i] = h
    want = torch.cat([F.adaptive_avg_pool2d(maps[10], cfg.grid), F.adaptive_avg_pool2d(maps[15], cfg.grid)], 1)
    got = net.encoder(img)
    assert got.shape == (2, cfg.grid**2, 112 + 320)
    torch.testing.assert_close(got, want.flatten(2).transpose(1, 2), rtol=1e-4, atol=1e-4)
    out = net(torch.randn(2, cfg.frames, 3, side, side), img, torch.randn(2, 4))
    out.sum().backward()
    assert all(p.grad is None for p in net.encoder.parameters())
    assert net.tok_proj.weight.grad.abs().sum() > 0

    d, paths, mos = tiny_videos
    model = KSVQEModel(cfg).fit(paths, mos)
    pred = model.predict(paths)
    back = load_model(model.save(tmp_path / "lite0"))
    assert "EfficientNet-Lite0" in back.extra["encoder"] and back.config["encoder"] == "lite0"
    np.testing.assert_allclose(back.predict(paths), pred, rtol=1e-5, atol=1e-5)


def test_ksvqe_ema_keeps_the_average_of_the_weights(tiny_videos):
    """The decay warms up (a short run averages trained weights, not the random start); with ema = 0 the
    kept weights are the last step's, with ema > 0 they differ from them yet sit nearer to them than the
    random start does; the decay is recorded with the model."""
    from reelscore.models.quality_net import ema_decay

    assert ema_decay(0.998, 0) == pytest.approx(0.1) and ema_decay(0.998, 90) == pytest.approx(0.91)
    assert ema_decay(0.998, 10_000) == 0.998 and ema_decay(0.5, 20) == 0.5 and ema_decay(0.5, 3) == pytest.approx(4 / 13)
    d, paths, mos = tiny_videos
    samples = [load_sample(p, ksvqe_config("tiny"), train=True) for p in paths]

    def head_weight(ema):
        m = KSVQEModel(ksvqe_config("tiny", epochs=3, ema=ema)).fit_samples(samples, mos)
        return m.net.head[1].weight.detach().clone(), m

    torch.manual_seed(0)  # fit_samples seeds the same way before building its network
    init = KSVQENet(ksvqe_config("tiny"), dist_dim=samples[0].dist.shape[0]).head[1].weight.detach().clone()
    last, _ = head_weight(0.0)
    avg, m = head_weight(0.9)
    assert (last - init).abs().sum() > 0
    assert 0 < (avg - last).abs().sum() < (init - last).abs().sum()
    assert m.config["ema"] == 0.9 and np.isfinite(m.predict_samples(samples)).all()


def test_train_quality_ksvqe_cli_encoder_and_ema(tiny_videos, tmp_path):
    """`train quality --model ksvqe --encoder lite0 --ema` records both in the model; a wrong encoder or
    decay is one line naming the choices, before any video is decoded."""
    import json

    from typer.testing import CliRunner

    from reelscore.cli import app

    d, paths, mos = tiny_videos
    lab = tmp_path / "labels.csv"
    pd.DataFrame({"name": [p.name for p in paths], "source": ["a", "a", "b", "b"], "path": [str(p) for p in paths],
                  "mos": mos}).to_csv(lab, index=False)
    base = ["train", "quality", "--labels", str(lab), "--model", "ksvqe", "--preset", "tiny", "--epochs", "1"]
    bad = CliRunner().invoke(app, base + ["--out", str(tmp_path / "bad"), "--encoder", "resnet"])
    assert bad.exit_code != 0 and "unknown KSVQE encoder 'resnet'" in bad.output and "lite0" in bad.output
    assert "Traceback" not in bad.output and not (tmp_path / "bad").exists()
    res = CliRunner().invoke(app, base + ["--out", str(tmp_path / "m"), "--encoder", "lite0", "--ema", "0.9", "--no-cv"])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["config"]["encoder"] == "lite0" and meta["config"]["ema"] == 0.9
