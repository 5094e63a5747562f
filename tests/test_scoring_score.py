"""`reelscore score` and reelscore.scoring: real decoding, real extractors, real (tiny) models.

The pooled-feature path is tested with small models trained here through the
real pipeline (extract → store → fit → save), so the check that scoring gives
the same number as `predict` over a feature store cannot pass by accident.
"""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.timeout(300)

FEATS = ["technical", "motion"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Clips at five encoder qualities, their features in a store, and tiny quality + engagement models."""
    import pandas as pd

    from reelscore.features.pipeline import extract
    from reelscore.features.store import FeatureStore
    from reelscore.media.synth import make_clip
    from reelscore.models.light import RidgeModel
    from reelscore.models.quality_light import QualityLightModel

    d = tmp_path_factory.mktemp("scoring_models")
    crfs = [14, 24, 32, 40, 48]
    clips = [make_clip(d / f"crf{c}.mp4", 3.0, 96, 160, 12, crf=c, seed=60 + i) for i, c in enumerate(crfs)]
    manifest = pd.DataFrame({"video_id": [p.stem for p in clips], "path": [str(p) for p in clips],
                             "title": None, "description": None, "caption": None})
    extract(manifest, d / "store", extractors=FEATS, progress=False)
    store = FeatureStore(d / "store")
    pooled = store.pooled(FEATS)
    spec = {n: store.extractors()[n]["version"] for n in FEATS}
    # Labels made from the encoder setting: plumbing for the test, not a claim about real quality.
    mos = pd.Series({f"crf{c}": 5.0 - 4.0 * (c - 14) / 34 for c in crfs})
    q = QualityLightModel().fit_mos(pooled, mos, feature_spec=spec)
    q.save(d / "quality")
    labels = pd.DataFrame({"ECR": mos / 5.0, "NAWP": mos / 6.0})
    e = RidgeModel().fit(pooled, labels, feature_spec=spec)
    e.save(d / "engagement")
    return {"dir": d, "clips": clips, "pooled": pooled, "quality": q, "engagement": e}


@pytest.fixture(scope="module")
def scorer(trained):
    from reelscore.scoring import ScoreConfig, Scorer

    return Scorer(ScoreConfig(engagement_model=str(trained["dir"] / "engagement"),
                              quality_model=str(trained["dir"] / "quality"))).load()


def test_pooled_models_give_the_pipeline_numbers_with_provenance(trained, scorer):
    clip = trained["clips"][1]
    res = scorer.score(clip, title="ignored by a pooled model")
    assert res["ok"] is True and res["info"]["width"] == 96
    want_mos = float(trained["quality"].predict(trained["pooled"].loc[[clip.stem]])["MOS"].iloc[0])
    want = trained["engagement"].predict(trained["pooled"].loc[[clip.stem]])
    mos = res["scores"]["mos"]
    assert mos["value"] == pytest.approx(want_mos, abs=1e-4)
    assert res["scores"]["ecr"]["value"] == pytest.approx(float(want["ECR"].iloc[0]), abs=1e-4)
    assert res["scores"]["nawp"]["value"] == pytest.approx(float(want["NAWP"].iloc[0]), abs=1e-4)
    assert mos["model"] == str(trained["dir"] / "quality") and mos["kind"] == "light"
    assert set(mos["features"]) == set(FEATS) and any(i.startswith("technical") for i in mos["inputs"])
    assert "mos" not in res["unavailable"] and "ecr" not in res["unavailable"]


def test_timeline_is_the_model_on_each_second(trained, scorer):
    res = scorer.score(trained["clips"][0])
    tl = res["timeline"]
    assert tl["t"] == [0.0, 1.0, 2.0]
    q = tl["quality"]["values"]
    assert len(q) == 3 and all(v is not None and 0.9 <= v <= 5.1 for v in q)
    assert tl["quality"]["model"] == str(trained["dir"] / "quality")
    e = tl["engagement_first5s"]
    assert e["t"] == [0.0, 1.0, 2.0] and e["target"] == "ECR" and all(v is not None for v in e["values"])
    # Seconds are scored on their own features: a one-second window is not the whole clip.
    assert len({round(v, 6) for v in q}) > 1 or q[0] != res["scores"]["mos"]["value"]


def test_tags_classes_and_silent_clip(tmp_path, scorer):
    from reelscore.media.synth import make_clip

    res = scorer.score(make_clip(tmp_path / "tones.mp4", 2.0, 64, 112, 15, seed=3))
    tags = res["audio_tags"]["values"]
    assert 1 <= len(tags) <= 5 and all(isinstance(t["label"], str) and 0 <= t["score"] <= 1 for t in tags)
    assert res["audio_tags"]["model"].startswith("YAMNet")
    classes = res["semantic_classes"]["values"]
    assert len(classes) == 5 and classes == sorted(classes, key=lambda c: -c["score"])
    silent = scorer.score(make_clip(tmp_path / "silent.mp4", 2.0, 64, 112, 15, audio=False, seed=4))
    assert silent["ok"] and silent["audio_tags"]["values"] == []
    assert "no audio" in silent["unavailable"]["audio_tags"]
    assert silent["scores"]["mos"]["value"] is not None  # the picture is still scored


def test_result_is_plain_json(trained, scorer):
    res = scorer.score(trained["clips"][2])
    again = json.loads(json.dumps(res, allow_nan=False))
    assert again == res


def test_shipped_defaults_report_numbers_or_reasons(test_media):
    """Whatever the install ships, every number has provenance and every gap a reason; text needs text."""
    from reelscore.scoring import Scorer

    s = Scorer().load()
    clip = test_media["portrait_h264"]
    with_text = s.score(clip, title="Skills for midfielders  football", description="drag to heel")
    bare = s.score(clip)
    for res in (with_text, bare):
        assert res["ok"]
        for key, entry in res["scores"].items():
            if entry["value"] is None:
                assert entry["unavailable"] and res["unavailable"][key] == entry["unavailable"]
            else:
                assert math.isfinite(entry["value"]) and entry["model"] and entry["inputs"]
    eng = s.model_info.get("engagement")
    if eng is not None and eng["kind"] == "text":
        assert with_text["scores"]["ecr"]["value"] is not None
        assert with_text["scores"]["ecr"]["inputs"] == ["text:title", "text:description"]
        assert bare["scores"]["ecr"]["value"] is None and "none was given" in bare["unavailable"]["ecr"]
        assert "no per-second signal" in bare["timeline"]["engagement_first5s"]["unavailable"]


def test_shipped_quality_default_scores_a_clip_whose_decoder_exports_no_qp(tmp_path):
    """HEVC: FFmpeg exports no QP, so the bitstream QP columns are empty; the default still gives a MOS
    (the missing values are imputed) and a timeline, as its model card says."""
    from reelscore.media.synth import make_clip
    from reelscore.scoring import Scorer

    clip = make_clip(tmp_path / "hevc.mp4", seconds=2.0, width=160, height=96, fps=15, codec="libx265", audio=False)
    s = Scorer().load()
    if "quality" not in s.predictors:
        pytest.skip(f"no quality model here: {s.problems.get('quality')}")
    res = s.score(clip)
    assert res["ok"], res
    assert res["info"]["video_codec"] == "hevc"
    mos = res["scores"]["mos"]
    assert mos["value"] is not None and 1.0 <= mos["value"] <= 5.0, mos
    assert all(v is not None for v in res["timeline"]["quality"]["values"])


def test_cli_json_lines_errors_and_exit_code(test_media, tmp_path):
    from reelscore.cli import app
    from reelscore.media.synth import EXPECTED_ERRORS

    names = ["portrait_h264", "video_only", "truncated", "text_file", "audio_only"]
    paths = [str(test_media[n]) for n in names] + [str(tmp_path / "missing.mp4")]
    r = CliRunner().invoke(app, ["score", *paths, "--title", "t", "--json", "--no-timeline"])
    assert r.exit_code == 1, r.output
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [x["video_id"] for x in lines] == [*(test_media[n].stem for n in names), "missing"]
    got = {x["video_id"]: x for x in lines}
    assert got["portrait_h264"]["ok"] and got["video_only"]["ok"]
    for n in ("truncated", "text_file", "audio_only"):
        err = got[test_media[n].stem]["error"]
        assert err["code"] == EXPECTED_ERRORS[n] and err["message"] and err["path"] == str(test_media[n])
    assert got["missing"]["error"]["code"] == "not_found"
    assert "failed" in r.stderr and "scored 2/6" in r.stderr


def test_cli_directory_and_csv(good_videos, tmp_path):
    import pandas as pd

    from reelscore.cli import app

    src = tmp_path / "clips"
    src.mkdir()
    for n in ("portrait_h264", "vp9_webm"):
        (src / good_videos[n].name).write_bytes(good_videos[n].read_bytes())
    (src / "notes.txt").write_text("not a video, and not picked up from a directory")
    out = tmp_path / "scores.csv"
    r = CliRunner().invoke(app, ["score", str(src), "--csv", str(out), "--no-timeline"])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert sorted(df["Id"]) == ["portrait_h264", "vp9_webm"] and df["ok"].all()
    assert {"ECR", "NAWP", "MOS", "top_audio_tags", "unavailable"} <= set(df.columns)
    assert "portrait_h264" in r.stdout and "--csv is deprecated" in r.output  # old spelling still works


def test_csv_keeps_integer_sizes_beside_a_failed_row(tmp_path):
    from reelscore.commands.scoring import csv_frame

    ok = {"video_id": "a", "path": "a.mp4", "ok": True, "info": {"duration_s": 2.0, "width": 64, "height": 112},
          "scores": {"mos": {"value": 3.1}}}
    bad = {"video_id": "b", "path": "b.mp4", "ok": False, "error": {"code": "truncated", "message": "cut short"}}
    out = tmp_path / "s.csv"
    csv_frame([bad, ok]).to_csv(out, index=False)
    lines = out.read_text().splitlines()
    assert lines[1].startswith("b,b.mp4,False,,,,,,,") and ",truncated,cut short" in lines[1]
    assert ",2.0,64,112," in lines[2]


@pytest.mark.parametrize("args, needle", [
    (["--engagement-model", "nosuch"], "--engagement-model: --model nosuch: no such model directory"),
    (["--quality-model", "default"], "is a engagement model, not a quality model (the quality alias is quality-default)"),
    (["--top-k", "-1"], "greater than or equal to 1"),
])
def test_bad_options_are_one_line_and_exit_2(test_media, args, needle):
    from reelscore.cli import app

    r = CliRunner().invoke(app, ["score", str(test_media["portrait_h264"]), *args])
    assert r.exit_code == 2 and needle in r.output


def test_missing_files_are_reported_before_any_model_loads(tmp_path, monkeypatch):
    from reelscore import scoring
    from reelscore.cli import app

    def boom(self):
        raise AssertionError("models were loaded for inputs that cannot be scored")

    monkeypatch.setattr(scoring.Scorer, "load", boom)
    r = CliRunner().invoke(app, ["score", str(tmp_path / "missing.mp4")])
    assert r.exit_code == 1 and "not_found" in r.output and "no model was loaded" in r.output


def test_manifest_with_wrong_columns_is_one_line(tmp_path):
    from reelscore.cli import app

    m = tmp_path / "m.csv"
    m.write_text("name,file\na,b.mp4\n")
    r = CliRunner().invoke(app, ["score", "--manifest", str(m)])
    assert r.exit_code == 2 and "manifest needs an `Id`" in r.output and "Traceback" not in r.output


def test_score_csv_feeds_evaluate_as_is(trained, tmp_path):
    import pandas as pd

    from reelscore.cli import app

    out = tmp_path / "s.csv"
    clips = trained["clips"]
    r = CliRunner().invoke(app, ["score", *map(str, clips), "-o", str(out), "--no-timeline",
                                 "--engagement-model", str(trained["dir"] / "engagement")])
    assert r.exit_code == 0, r.output
    truth = tmp_path / "t.csv"
    pd.DataFrame({"Id": [p.stem for p in clips], "ECR": [0.9, 0.7, 0.5, 0.3, 0.1]}).to_csv(truth, index=False)
    r = CliRunner().invoke(app, ["evaluate", "--protocol", "evqa", "--pred", str(out), "--truth", str(truth), "--bootstrap", "0"])
    assert r.exit_code == 0, r.output


def test_auto_workers_take_a_process_per_core_for_batches_memory_permitting(monkeypatch):
    import reelscore.common.process as sc

    monkeypatch.setattr(sc.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(sc, "_available_memory", lambda: 8 * 2**30)
    assert [sc.auto_workers(n) for n in (1, 3, 4, 6, 100)] == [1, 1, 2, 2, 2]
    assert sc.auto_workers(100, device="cuda") == 1  # one process shares the GPU
    monkeypatch.setattr(sc.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert sc.auto_workers(10) == 5 and sc.auto_workers(100) == 8  # two videos per worker; 8 GiB for 8
    monkeypatch.setattr(sc, "_available_memory", lambda: 2**29)
    assert sc.auto_workers(100) == 1
    monkeypatch.setattr(sc, "_available_memory", lambda: None)
    assert sc.auto_workers(100) == 16
