"""Light engagement models (ridge, LightGBM) on pooled store features; labels loading; the model registry."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from reelscore.common.stats import srcc
from reelscore.models.registry import ModelError, get_kind, load_model, resolve_model_dir
from reelscore.training.labels import LabelError, load_labels

from engagement_fixtures import sim_store  # noqa: F401


@pytest.mark.parametrize("kind", ["ridge", "gbdt"])
def test_light_train_save_load_predict(sim_store, kind, tmp_path):  # noqa: F811
    from reelscore.features.store import FeatureStore
    from reelscore.training.predict import predict
    from reelscore.training.train import train_engagement

    store, labels = sim_store
    cfg = tmp_path / "c.yaml"
    cfg.write_text("extractors: [visual, motion, audio]\ngbdt_rounds: 40\ngbdt_min_data_in_leaf: 5\n")
    out = tmp_path / kind
    summary = train_engagement(kind, labels, out, features=store, config=cfg, folds=3, seed=0)
    assert summary["targets"] == ["ECR", "NAWP"] and summary["rows"] == 48
    meta = json.loads((out / "model.json").read_text())
    assert meta["kind"] == kind and meta["feature_spec"] == {"visual": "sim1", "motion": "sim1", "audio": "sim1"}
    assert meta["val_metrics"]["NAWP"]["folds"] == 3 and len(meta["val_metrics"]["NAWP"]["per_fold"]) == 3
    assert (out / "learning_curve.png").is_file()
    pred = predict(out, features=store, out=tmp_path / "p.csv")
    assert list(pred.columns) == ["Id", "ECR", "NAWP"] and len(pred) == 48
    model = load_model(out)
    direct = model.predict(FeatureStore(store).pooled(["visual", "motion", "audio"]))
    assert np.allclose(direct["NAWP"].to_numpy(), pred["NAWP"].to_numpy())
    truth = pd.read_csv(labels).set_index("video_id").loc[pred["Id"]]
    assert srcc(pred["NAWP"], truth["nawp"]) > 0.5  # in-sample: the simulated features carry NAWP


def test_light_model_needs_store(sim_store, tmp_path):  # noqa: F811
    from reelscore.training.train import train_engagement

    store, labels = sim_store
    with pytest.raises(ModelError, match="needs --features"):
        train_engagement("ridge", labels, tmp_path / "m", folds=2)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("extractors: [visual, nosuch]\n")
    with pytest.raises(ModelError, match="lacks extractor 'nosuch'"):
        train_engagement("ridge", labels, tmp_path / "m", features=store, config=cfg)


def test_load_labels_formats(tmp_path):
    p = tmp_path / "l.csv"
    pd.DataFrame({"video_id": ["a", "b", "c"], "nawp": [0.1, np.nan, 0.3], "ecr": [0.5, 0.6, 0.7], "views": [1, 2, 3]}).to_csv(p, index=False)
    y, texts = load_labels(p)
    assert list(y.columns) == ["ECR", "NAWP"] and list(y.index) == ["a", "b", "c"] and texts.shape[1] == 0
    q = tmp_path / "snap.csv"
    pd.DataFrame({"Id": ["x", "y", "z"], "Title": ["t", None, "u"], "Description": ["d", "e", None], "ECR": [0.2, 0.4, 0.9]}).to_csv(q, index=False)
    y, texts = load_labels(q, ["ecr"])
    assert list(y.columns) == ["ECR"] and list(texts.columns) == ["title", "description"]
    with pytest.raises(LabelError, match="no target column"):
        load_labels(q, ["NAWP"])
    d = tmp_path / "dup.csv"
    pd.DataFrame({"Id": ["x", "x"], "ECR": [0.1, 0.2]}).to_csv(d, index=False)
    with pytest.raises(LabelError, match="duplicate ids"):
        load_labels(d)


def test_registry_errors(tmp_path):
    with pytest.raises(ModelError, match="unknown model kind engagement/nosuch"):
        get_kind("engagement", "nosuch")
    assert get_kind("engagement", "text").kind == "text"
    with pytest.raises(ModelError, match="no such model directory"):
        resolve_model_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a model directory"):
        resolve_model_dir(tmp_path / "empty")


def test_videos_without_an_extractor_are_not_predicted(capsys):
    from reelscore.models.light import drop_incomplete

    pooled = pd.DataFrame(
        {"motion:a": [1.0, np.nan, 3.0], "motion:b": [1.0, np.nan, np.nan], "text:x": [0.1, 0.2, 0.3]},
        index=pd.Index(["ok", "broken", "one_nan"], name="video_id"),
    )
    kept = drop_incomplete(pooled)
    assert list(kept.index) == ["ok", "one_nan"]  # a single missing value is imputed, a missing extractor is not
    err = capsys.readouterr().err
    assert "skipped 1 of 3 videos" in err and "'broken' (no motion)" in err
    assert drop_incomplete(kept).equals(kept)
