"""The path a platform with its own watch logs takes to NAWP (simulated logs over generated clips, and said so):
labels on a log → extract → train engagement (light model and EngagementNet, joint NAWP + ECR) → score --engagement-model."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.timeout(600)


def test_logs_to_nawp_in_score(tmp_path):
    from reelscore.cli import app
    from reelscore.features.store import FeatureStore
    from reelscore.media.synth import make_clip

    r = CliRunner()
    clips = [make_clip(tmp_path / f"clip{i}.mp4", seconds=6.0 + (i % 3), width=64, height=112, fps=10, seed=200 + i)
             for i in range(10)]
    manifest = pd.DataFrame({"video_id": [p.stem for p in clips], "path": [str(p) for p in clips]})
    manifest.to_csv(tmp_path / "m.csv", index=False)
    res = r.invoke(app, ["extract", str(tmp_path / "m.csv"), "--out", str(tmp_path / "store"), "--extractors", "technical,motion"])
    assert res.exit_code == 0, res.output

    # SIMULATED appeal: driven by a picture feature, so the light model has something real to find
    pooled = FeatureStore(tmp_path / "store").pooled(["technical"])
    col = next(c for c in pooled.columns if "sharp" in c or "lap" in c or "si" in c.split(":")[1])
    appeal = pooled[col].rank(pct=True) * 0.8 + 0.1
    from reelscore.media import probe

    table = pd.DataFrame({"Id": manifest.video_id, "duration_s": [probe(p).duration_s for p in clips],
                          "appeal": appeal.reindex(manifest.video_id).to_numpy()})
    table.to_csv(tmp_path / "videos.csv", index=False)
    res = r.invoke(app, ["simulate-views", "--video-table", str(tmp_path / "videos.csv"), "--views-per-video", "500",
                         "--out", str(tmp_path / "log.parquet")])
    assert res.exit_code == 0 and "SIMULATED" in res.output, res.output
    res = r.invoke(app, ["labels", str(tmp_path / "log.parquet"), "--out", str(tmp_path / "labels.parquet"), "--min-views", "1"])
    assert res.exit_code == 0, res.output
    labels = pd.read_parquet(tmp_path / "labels.parquet")
    assert set(labels.video_id) == set(manifest.video_id) and labels[["nawp", "ecr"]].notna().all().all()

    res = r.invoke(app, ["train", "engagement", "--model", "ridge", "--features", str(tmp_path / "store"),
                         "--labels", str(tmp_path / "labels.parquet"), "--out", str(tmp_path / "light"), "--folds", "2"])
    assert res.exit_code == 0, res.output
    cfg = tmp_path / "net.yaml"
    cfg.write_text("preset: tiny\nnet:\n  text_extractor: null\ntrain:\n  epochs: 1\n")
    res = r.invoke(app, ["train", "engagement", "--model", "net", "--features", str(tmp_path / "store"),
                         "--labels", str(tmp_path / "labels.parquet"), "--config", str(cfg), "--out", str(tmp_path / "net")])
    assert res.exit_code == 0, res.output
    res = r.invoke(app, ["predict", "--model", str(tmp_path / "net"), "--features", str(tmp_path / "store"), "--out", str(tmp_path / "net.csv")])
    assert res.exit_code == 0, res.output
    assert {"NAWP", "ECR"} <= set(pd.read_csv(tmp_path / "net.csv").columns)

    res = r.invoke(app, ["score", str(clips[0]), "--engagement-model", str(tmp_path / "light"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(next(line for line in res.stdout.splitlines() if line.startswith("{")))
    assert 0 <= out["scores"]["nawp"]["value"] <= 1 and 0 <= out["scores"]["ecr"]["value"] <= 1
    tl = out["timeline"]["engagement_first5s"]
    assert tl["t"] == [0.0, 1.0, 2.0, 3.0, 4.0] and all(v is not None for v in tl["values"])
