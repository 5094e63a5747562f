"""`train quality` end to end: real technical features of encoded clips → light model → generic predict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from reelscore.cli import app
from reelscore.media.synth import make_clip


def test_train_quality_light_cli_and_predict(tmp_path):
    from reelscore.features.pipeline import extract

    rows = []
    vids = tmp_path / "videos"
    vids.mkdir()
    # Three "sources", each encoded at three qualities; the label falls with the CRF.
    for s in range(3):
        for crf in (8, 32, 51):
            name = f"s{s}__crf{crf}.mp4"
            make_clip(vids / name, seconds=1.0, width=64, height=112, fps=8, audio=False, seed=s, crf=crf)
            rows.append({"name": name, "source": f"s{s}", "workflow": "transcode", "steps": f"crf={crf}", "qp": crf,
                         "path": f"videos/{name}", "mos": 5.0 - 4.0 * crf / 51})
    labels = pd.DataFrame(rows)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    pd.DataFrame({"video1": ["s0__crf8.mp4", "s0__crf32.mp4"], "video2": ["s0__crf32.mp4", "s1__crf32.mp4"],
                  "better": ["s0__crf8.mp4", "s0__crf32.mp4"], "homologous": [1, 0]}).to_csv(tmp_path / "pairs.csv", index=False)
    manifest = pd.DataFrame({"video_id": labels["name"].str.replace(".mp4", "", regex=False),
                             "path": [str(tmp_path / p) for p in labels["path"]]})
    store = tmp_path / "store"
    extract(manifest, store, extractors=["technical"], progress=False)

    out = tmp_path / "model"
    res = CliRunner().invoke(app, ["train", "quality", "--labels", str(tmp_path / "labels.csv"), "--features", str(store),
                                   "--model", "light", "--extractors", "technical", "--out", str(out)])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "model.json").read_text())
    assert meta["task"] == "quality" and meta["kind"] == "light" and meta["targets"] == ["MOS"]
    assert meta["val_metrics"]["split"] == "leave-one-source-out" and meta["val_metrics"]["n_sources"] == 3
    assert set(meta["feature_spec"]) == {"technical"}
    cv = pd.read_csv(out / "cv_predictions.csv")
    assert len(cv) == 9 and set(cv.columns) >= {"Id", "MOS", "truth", "source"}

    pred_csv = tmp_path / "pred.csv"
    res = CliRunner().invoke(app, ["predict", "--model", str(out), "--features", str(store), "--out", str(pred_csv)])
    assert res.exit_code == 0, res.output
    pred = pd.read_csv(pred_csv)
    assert list(pred.columns) == ["Id", "MOS"] and len(pred) == 9
    # Heavily compressed versions must score below the near-lossless ones of the same source.
    p = pred.set_index("Id")["MOS"]
    assert sum(p[f"s{s}__crf8"] > p[f"s{s}__crf51"] for s in range(3)) >= 2

    bad = CliRunner().invoke(app, ["train", "quality", "--labels", str(tmp_path / "labels.csv"), "--features", str(store),
                                   "--model", "light", "--extractors", "semantic", "--out", str(tmp_path / "m2")])
    assert bad.exit_code != 0 and "semantic" in bad.output

    # Two sources of two versions: leave-one-source-out would fit on 2 videos; say so, and --no-cv still trains.
    labels[labels["source"].isin(["s0", "s1"]) & (labels["qp"] < 51)].to_csv(tmp_path / "small.csv", index=False)
    small = ["train", "quality", "--labels", str(tmp_path / "small.csv"), "--features", str(store), "--model", "light",
             "--extractors", "technical", "--out", str(tmp_path / "m3")]
    res = CliRunner().invoke(app, small)
    assert res.exit_code != 0 and "leaves a fold with only 2 training videos of 4 (2 sources)" in res.output
    assert "--no-cv" in res.output
    res = CliRunner().invoke(app, small + ["--no-cv"])
    assert res.exit_code == 0, res.output

    # --ridge-alpha fixes the penalty (the shipped default uses one picked by leave-one-source-out).
    fixed = tmp_path / "m4"
    res = CliRunner().invoke(app, ["train", "quality", "--labels", str(tmp_path / "labels.csv"), "--features", str(store),
                                   "--model", "light", "--extractors", "technical", "--ridge-alpha", "2.5", "--out", str(fixed)])
    assert res.exit_code == 0, res.output
    assert json.loads((fixed / "model.json").read_text())["config"]["ridge_alphas"] == [2.5]
    with np.load(fixed / "MOS.ridge.npz") as z:
        assert float(z["alpha"][0]) == 2.5


def test_quality_labels_keep_text_ids(tmp_path):
    from reelscore.workflows.quality_train import read_quality_labels

    p = tmp_path / "labels.csv"
    p.write_text("video_id,source,mos\n007,001,3.5\n010,001,bad\n011,002,4.0\n", encoding="utf-8")
    lab = read_quality_labels(p)
    assert lab.index.tolist() == ["007", "011"]  # the non-numeric label row is skipped
    assert lab["source"].tolist() == ["001", "002"]
    assert lab["y"].tolist() == [3.5, 4.0]
