"""Text-only engagement models through the CLI, and the shipped default model."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from reelscore.cli import app
from reelscore.common.stats import srcc

from engagement_fixtures import text_rows

runner = CliRunner()


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REELSCORE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REELSCORE_NO_PROGRESS", "1")


def test_text_model_cli_round_trip(tmp_path):
    rows = text_rows(80, seed=0)
    rows.to_csv(tmp_path / "train.csv", index=False)
    r = runner.invoke(app, ["train", "engagement", "--model", "text", "--labels", str(tmp_path / "train.csv"),
                            "--out", str(tmp_path / "m"), "--folds", "3", "--seed", "1"])
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["kind"] == "text" and meta["targets"] == ["ECR"]
    assert meta["val_metrics"]["ECR"]["srcc_mean"] > 0.5  # topic words decide ECR in these rows
    test = text_rows(40, seed=7)
    test.drop(columns="ECR").to_csv(tmp_path / "man.csv", index=False)
    r = runner.invoke(app, ["predict", "--model", str(tmp_path / "m"), "--manifest", str(tmp_path / "man.csv"),
                            "--out", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    pred = pd.read_csv(tmp_path / "p.csv", dtype={"Id": str})
    assert list(pred.columns) == ["Id", "ECR"] and list(pred["Id"]) == list(test["Id"])
    assert srcc(pred["ECR"], test["ECR"]) > 0.5


def test_text_model_errors(tmp_path):
    rows = text_rows(20, seed=0)
    rows.to_csv(tmp_path / "train.csv", index=False)
    r = runner.invoke(app, ["train", "engagement", "--model", "text", "--labels", str(tmp_path / "train.csv"),
                            "--out", str(tmp_path / "m"), "--target", "NAWP"])
    assert r.exit_code == 2 and "no target column" in r.output
    rows[["Id", "ECR"]].to_csv(tmp_path / "notext.csv", index=False)
    r = runner.invoke(app, ["train", "engagement", "--model", "text", "--labels", str(tmp_path / "notext.csv"),
                            "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "Title/Description/Caption" in r.output
    assert not (tmp_path / "m").exists()


def test_default_model_predicts_from_text_only_manifest(tmp_path):
    from reelscore.models.registry import read_model_json, resolve_model_dir

    meta = read_model_json(resolve_model_dir("default"))
    assert meta["task"] == "engagement" and meta["targets"] == ["ECR"] and meta["kind"] == "fused"
    assert meta["val_metrics"]["ECR"]["subsets"]["text+signals"]["n"] == 3711
    manifest = pd.DataFrame({
        "Id": ["a1", "b2", "c3", "d4"],
        "Title": ["crazy backflip fail face with tears of joy  fyp  viral", None, "my cat", "Quarterly earnings call"],
        "Description": ["wait for it", "new recipe tutorial", None, None],
    })
    manifest.to_csv(tmp_path / "m.csv", index=False)
    r = runner.invoke(app, ["predict", "--model", "default", "--manifest", str(tmp_path / "m.csv"), "--out", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    pred = pd.read_csv(tmp_path / "p.csv")
    assert list(pred.columns) == ["Id", "ECR", "ECR_text", "ECR_signals", "ECR_clip"]
    assert list(pred["Id"]) == ["a1", "b2", "c3", "d4"]
    assert pred["ECR"].between(0, 1).all() and pred["ECR"].nunique() == 4
    # no videos and no table: only the text member answers
    assert pred["ECR_text"].notna().all() and pred[["ECR_signals", "ECR_clip"]].isna().all().all()


def test_text_manifest_not_utf8_names_the_file(tmp_path):
    from reelscore.models.registry import ModelError
    from reelscore.training.predict import read_text_manifest

    bad = tmp_path / "latin.csv"
    bad.write_bytes(b"Id,Title,Description\na,caf\xe9,x\n")
    with pytest.raises(ModelError, match=r"latin\.csv: manifest is not UTF-8 text \(invalid byte 0xe9\)"):
        read_text_manifest(bad)
    r = CliRunner().invoke(app, ["predict", "--model", "default", "--manifest", str(bad), "--out", str(tmp_path / "p.csv")])
    assert r.exit_code == 2 and "latin.csv: manifest is not UTF-8" in r.output
    assert not (tmp_path / "p.csv").exists()


def test_missing_and_out_of_range_labels_are_reported(tmp_path):
    rows = text_rows(40, seed=3)
    rows["ECR"] = rows["ECR"].astype(object)
    rows.loc[0, "ECR"], rows.loc[1, "ECR"], rows.loc[2, "ECR"], rows.loc[3, "ECR"] = "NaN", "", "inf", 7.0
    rows.to_csv(tmp_path / "train.csv", index=False)
    r = runner.invoke(app, ["train", "engagement", "--model", "text", "--labels", str(tmp_path / "train.csv"),
                            "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    assert "ECR: 3 of 40 rows have no finite value" in r.output
    assert f"first: {rows.loc[0, 'Id']!r}" in r.output
    assert "ECR: 1 value(s) outside [0, 1]" in r.output and f"{rows.loc[3, 'Id']!r}=7" in r.output
    assert "refitting on all 37 labelled rows" in r.output
