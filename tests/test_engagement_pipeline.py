"""End to end on real decoded media: synthetic clips → real feature extraction → EngagementNet → predict from a manifest."""

from __future__ import annotations

import numpy as np
import pandas as pd


def test_net_on_extracted_features_and_predict_from_manifest(tmp_path, monkeypatch):
    from reelscore.features.pipeline import extract
    from reelscore.media.synth import make_clip
    from reelscore.training.predict import predict
    from reelscore.training.train import train_engagement

    monkeypatch.setenv("REELSCORE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REELSCORE_NO_PROGRESS", "1")
    rows = []
    for i in range(6):
        p = make_clip(tmp_path / f"v{i}.mp4", seconds=2.0 + 0.5 * (i % 2), seed=i)
        rows.append({"video_id": f"v{i}", "path": str(p), "title": f"clip {i}", "description": "", "caption": np.nan})
    manifest = pd.DataFrame(rows)
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    summary = extract(manifest, tmp_path / "store", extractors=["technical", "motion"], progress=False)
    assert summary["failed"] == 0, summary
    labels = pd.DataFrame({"video_id": manifest["video_id"], "ecr": np.linspace(0.1, 0.9, 6), "nawp": np.linspace(0.2, 0.6, 6)})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("preset: tiny\nnet:\n  text_extractor: null\ntrain:\n  epochs: 1\n")
    train_engagement("net", tmp_path / "labels.csv", tmp_path / "m", features=tmp_path / "store", config=cfg,
                     val_split=0.34, seed=0, curve=False)
    pred = predict(tmp_path / "m", manifest=tmp_path / "manifest.csv", out=tmp_path / "p.csv")
    assert list(pred.columns) == ["Id", "NAWP", "ECR"] and sorted(pred["Id"]) == sorted(manifest["video_id"])
    assert np.isfinite(pred[["NAWP", "ECR"]].to_numpy()).all()
    # features were extracted afresh into the manifest's cache store, and match the training store's predictions
    again = predict(tmp_path / "m", features=tmp_path / "store")
    assert np.allclose(again.set_index("Id").loc[pred["Id"], "ECR"].to_numpy(), pred["ECR"].to_numpy(), atol=1e-5)
