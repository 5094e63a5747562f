"""EngagementNet: masked loss, early-clip ECR head, training round trip on a simulated store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from reelscore.models.engagement_net import EngagementNetModel, build_network, collate, tiny_config
from reelscore.models.losses import masked_mse, plcc_loss, rank_loss
from reelscore.models.registry import ModelError, load_model

from engagement_fixtures import sim_store, tiny_yaml  # noqa: F401


def test_masked_mse_ignores_missing_targets():
    pred = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    target = torch.tensor([1.0, float("nan"), 5.0])
    loss = masked_mse(pred, target)
    assert loss.item() == pytest.approx(2.0)  # (0 + 4) / 2: the NaN row is skipped
    loss.backward()
    assert pred.grad[1].item() == 0.0
    none = masked_mse(pred, torch.full((3,), float("nan")))
    assert none.item() == 0.0 and none.requires_grad
    assert masked_mse(pred, torch.tensor([0.0, 0.0, 0.0]), torch.tensor([True, False, False])).item() == pytest.approx(1.0)


def test_plcc_and_rank_losses():
    t = torch.tensor([0.1, 0.5, 0.2, 0.9])
    assert plcc_loss(2 * t + 1, t).item() == pytest.approx(0.0, abs=1e-6)
    assert plcc_loss(-t, t).item() == pytest.approx(1.0, abs=1e-6)
    assert rank_loss(t, t, margin=0.0).item() == 0.0
    assert rank_loss(-t, t, margin=0.0).item() > 0.0


def _batch(cfg, starts, seed=0):
    rng = np.random.default_rng(seed)
    s = {
        "starts": np.asarray(starts, np.float32),
        "clips": {"visual": rng.normal(size=(len(starts), 6)).astype(np.float32)},
        "text": rng.normal(size=(2, 12)).astype(np.float32),
        "text_field": np.array([0, 1]),
    }
    return s


def test_ecr_head_depends_only_on_clips_of_first_5s():
    torch.manual_seed(0)
    cfg = tiny_config(clip_extractors=["visual"])
    net = build_network(cfg, {"clip:visual": 6, "text": 12}).eval()
    a = _batch(cfg, [0.0, 4.0, 8.0, 12.0])
    b = {**a, "clips": {"visual": a["clips"]["visual"].copy()}}
    b["clips"]["visual"][2:] += np.random.default_rng(5).normal(size=(2, 6)) * 3  # clips starting at 8 s and 12 s
    with torch.no_grad():
        oa, ob = net(collate([a], cfg)), net(collate([b], cfg))
    assert torch.allclose(oa["ECR"], ob["ECR"], atol=1e-6)
    assert not torch.allclose(oa["NAWP"], ob["NAWP"], atol=1e-4)
    c = {**a, "clips": {"visual": a["clips"]["visual"].copy()}}
    c["clips"]["visual"][1] += np.random.default_rng(6).normal(size=6) * 3  # the clip starting at 4 s is early
    with torch.no_grad():
        oc = net(collate([c], cfg))
    assert not torch.allclose(oa["ECR"], oc["ECR"], atol=1e-4)


def test_padding_does_not_change_predictions():
    torch.manual_seed(0)
    cfg = tiny_config(clip_extractors=["visual"])
    net = build_network(cfg, {"clip:visual": 6, "text": 12}).eval()
    short = _batch(cfg, [0.0, 4.0], seed=1)
    long = _batch(cfg, [0.0, 4.0, 8.0, 12.0, 16.0], seed=2)
    with torch.no_grad():
        alone = net(collate([short], cfg))
        padded = net(collate([short, long], cfg))
    assert torch.allclose(alone["NAWP"], padded["NAWP"][:1], atol=1e-5)
    assert torch.allclose(alone["ECR"], padded["ECR"][:1], atol=1e-5)


def test_net_train_save_load_predict(sim_store, tiny_yaml, tmp_path):  # noqa: F811
    from reelscore.training.predict import predict
    from reelscore.training.train import train_engagement

    store, labels = sim_store
    out = tmp_path / "net"
    summary = train_engagement("net", labels, out, features=store, config=tiny_yaml, val_split=0.25, seed=1)
    assert summary["targets"] == ["NAWP", "ECR"]
    assert (out / "weights.pt").is_file() and (out / "learning_curve.png").stat().st_size > 1000
    meta = __import__("json").loads((out / "model.json").read_text())
    assert meta["task"] == "engagement" and meta["kind"] == "net"
    assert set(meta["feature_spec"]) == {"visual", "motion", "text"}
    assert meta["config"]["net"]["d_model"] == 32 and meta["config"]["train"]["epochs"] == 2
    assert set(meta["label_norm"]) == {"NAWP", "ECR"} and "srcc" in meta["val_metrics"]["ECR"]
    pred = predict(out, features=store, out=tmp_path / "p.csv")
    assert list(pred.columns) == ["Id", "NAWP", "ECR"] and len(pred) == 48
    again = pd.read_csv(tmp_path / "p.csv")
    assert np.allclose(again["ECR"], pred["ECR"], atol=1e-6)
    assert pred["NAWP"].std() > 0
    model = load_model(out)
    assert isinstance(model, EngagementNetModel) and model.targets == ["NAWP", "ECR"]
    # the same model on a store without one of its extractors: a clear error naming it
    from reelscore.training.simulate import simulate_store

    simulate_store(tmp_path / "no_motion", n_videos=2, seed=0, text_dim=32, extractors=("visual", "audio", "text"))
    with pytest.raises(ModelError, match="lacks extractor 'motion'"):
        predict(out, features=tmp_path / "no_motion")


def test_net_trains_one_target_when_other_missing(sim_store, tiny_yaml, tmp_path):  # noqa: F811
    from reelscore.training.train import train_engagement

    store, labels = sim_store
    df = pd.read_csv(labels)
    df.loc[df.index % 2 == 0, "nawp"] = np.nan  # half the rows lack NAWP: masked in the loss
    df.to_csv(tmp_path / "half.csv", index=False)
    summary = train_engagement("net", tmp_path / "half.csv", tmp_path / "m", features=store, config=tiny_yaml, seed=0,
                               curve=False)
    assert set(summary["targets"]) == {"NAWP", "ECR"}
    meta = __import__("json").loads((tmp_path / "m" / "model.json").read_text())
    assert meta["label_norm"]["NAWP"]["n"] < meta["label_norm"]["ECR"]["n"]
