"""One path from a video to its numbers: `extract` + `predict` and `score` agree, and `score --workers 2` keeps order."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    from reelscore.media.synth import make_clip

    d = tmp_path_factory.mktemp("onepath")
    # same title and description, different pictures, sound and compression
    specs = [dict(crf=18, seed=1), dict(crf=45, seed=2, fps=25), dict(crf=30, seed=3, channels=1), dict(crf=24, seed=4, audio=False)]
    return [make_clip(d / f"c{i}.mp4", seconds=3.0, width=96, height=160, **s) for i, s in enumerate(specs)]


TITLE, DESC = "Sunday skate session", "new trick at the park"


def test_extract_predict_and_score_give_the_same_numbers(clips, tmp_path):
    from reelscore.cli import app

    r = CliRunner()
    manifest = pd.DataFrame({"video_id": [p.stem for p in clips], "path": [str(p) for p in clips],
                             "title": TITLE, "description": DESC})
    mpath = tmp_path / "m.csv"
    manifest.to_csv(mpath, index=False)
    res = r.invoke(app, ["predict", "--model", "default", "--manifest", str(mpath), "--out", str(tmp_path / "e.csv")])
    assert res.exit_code == 0, res.output
    res = r.invoke(app, ["predict", "--model", "quality-default", "--manifest", str(mpath), "--out", str(tmp_path / "q.csv")])
    assert res.exit_code == 0, res.output
    eng = pd.read_csv(tmp_path / "e.csv").set_index("Id")
    mos = pd.read_csv(tmp_path / "q.csv").set_index("Id")
    res = r.invoke(app, ["score", *map(str, clips), "--title", TITLE, "--description", DESC, "--json", "--no-timeline"])
    assert res.exit_code == 0, res.output
    scored = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [s["video_id"] for s in scored] == [p.stem for p in clips]
    for s in scored:
        assert s["scores"]["ecr"]["value"] == pytest.approx(eng.at[s["video_id"], "ECR"], abs=1e-6)
        assert s["scores"]["mos"]["value"] == pytest.approx(mos.at[s["video_id"], "MOS"], abs=1e-6)


def test_score_reads_the_video_and_names_its_members(clips):
    from reelscore.scoring import Scorer

    s = Scorer().load()
    if s.model_info["engagement"]["kind"] != "fused":
        pytest.skip("the shipped engagement default is not the fused model")
    a, b = (s.score(p, title=TITLE, description=DESC) for p in clips[:2])
    ea, eb = a["scores"]["ecr"], b["scores"]["ecr"]
    assert ea["value"] != eb["value"]  # same texts, different videos
    assert set(ea["members"]) >= {"text", "signals"} and ea["members"]["text"] == eb["members"]["text"]
    assert ea["members"]["signals"] != eb["members"]["signals"]
    assert any(i.startswith("coldsignal v1") for i in ea["inputs"])
    if "clip" in ea["members"] and "unavailable" in ea["members"]["clip"]:
        assert "--clip-checkpoint" in ea["members"]["clip"]["unavailable"]
    bare = s.score(clips[0])  # no text: the video members still answer, and the text member says why not
    assert bare["scores"]["ecr"]["value"] is not None
    assert "title" in bare["scores"]["ecr"]["members"]["text"]["unavailable"]


def test_score_workers_keep_input_order(clips, tmp_path):
    from reelscore.cli import app

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clips[0].read_bytes()[:3000])
    order = [clips[2], broken, clips[0], clips[1]]
    res = CliRunner().invoke(app, ["score", *map(str, order), "--workers", "2", "--json", "--no-timeline"])
    assert res.exit_code == 1  # one input is broken; the others are scored
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [r["video_id"] for r in rows] == [p.stem for p in order]
    assert [r["ok"] for r in rows] == [True, False, True, True]
    one = CliRunner().invoke(app, ["score", str(clips[2]), "--json", "--no-timeline"])
    single = json.loads(next(line for line in one.stdout.splitlines() if line.startswith("{")))
    assert rows[0]["scores"]["ecr"]["value"] == pytest.approx(single["scores"]["ecr"]["value"], abs=1e-9)


def test_score_on_ray_gives_the_local_numbers_in_order(clips):
    pytest.importorskip("ray")
    from reelscore.scoring import ScoreConfig, ScoreItem, score_many

    items = [ScoreItem(str(p)) for p in clips[:2]]
    cfg = ScoreConfig(timeline=False)
    local = list(score_many(items, workers=1, config=cfg))
    assert local[0]["timeline"] is None  # the config is used, not the process-wide default scorer
    ray_res = list(score_many(items, workers=2, engine="ray", config=cfg))
    assert [r["video_id"] for r in ray_res] == [r["video_id"] for r in local]
    for a, b in zip(local, ray_res):
        assert a["scores"]["ecr"]["value"] == pytest.approx(b["scores"]["ecr"]["value"], abs=1e-9)


def test_decoding_ahead_gives_the_numbers_of_one_video_at_a_time(clips, tmp_path):
    """score_many decodes the next video while this one's extractors run: same results, same order, errors kept."""
    from reelscore.scoring import ScoreConfig, ScoreItem, Scorer, score_many

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00not a video" * 50)
    items = [ScoreItem(str(clips[0]), title=TITLE), ScoreItem(str(bad)), ScoreItem(str(clips[1])),
             ScoreItem(str(tmp_path / "missing.mp4")), ScoreItem(str(clips[3]), description=DESC)]
    s = Scorer(ScoreConfig()).load()
    plain = list(score_many(items, s, prefetch=False))
    ahead = list(score_many(items, s, prefetch=True))
    assert [r["video_id"] for r in ahead] == [r["video_id"] for r in plain] == ["c0", "bad", "c1", "missing", "c3"]
    assert [r["ok"] for r in ahead] == [True, False, True, False, True]
    for a, b in zip(plain, ahead):
        assert a.get("error") == b.get("error")
        if a["ok"]:
            assert a["scores"]["ecr"]["value"] == b["scores"]["ecr"]["value"]
            assert a["scores"]["mos"]["value"] == b["scores"]["mos"]["value"]
            assert a["timeline"] == b["timeline"] and a["audio_tags"] == b["audio_tags"]
            assert b["timing_s"]["total"] >= b["timing_s"]["decode"]


def test_long_videos_are_not_decoded_ahead_when_the_grid_is_kept(clips, monkeypatch):
    """Decoding ahead holds two videos at once: with a kept grid a video longer than PREFETCH_MAX_S is decoded
    in its turn; with the default streamed grid (nothing length-dependent kept) it is decoded ahead."""
    import reelscore.scoring as scoring
    from reelscore.scoring import ScoreItem, Scorer

    s = Scorer().load()
    assert scoring._decode_item(s, ScoreItem(str(clips[0]))).inputs is not None
    monkeypatch.setattr(scoring, "PREFETCH_MAX_S", 1.0)  # the clips are 3 s long
    s.analyzer.stream_grid = True
    assert not s.analyzer.keeps_grid(list(s.extractors), 3.0)
    assert scoring._decode_item(s, ScoreItem(str(clips[0]))).inputs.frames is None
    s.analyzer.stream_grid = False
    assert s.analyzer.keeps_grid(list(s.extractors), 3.0)
    assert scoring._decode_item(s, ScoreItem(str(clips[0]))) is None
    s.analyzer.stream_grid = None  # the default: streamed only when the grid would be large
    res = list(scoring.score_many([ScoreItem(str(clips[0])), ScoreItem(str(clips[1]))], s))
    assert [r["ok"] for r in res] == [True, True]
