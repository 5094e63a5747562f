"""mos: rater consistency, BT.500 screening and CI removal on hand-computed tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from reelscore.labels.mos import MosConfig, bt500_screening, compute_mos, rater_consistency

TRUE = {"v1": 2.0, "v2": 3.0, "v3": 3.0, "v4": 4.0}
OFFSETS = [-1, -0.5, -0.5, 0, 0, 0, 0, 0.5, 0.5, 1]  # ten consistent raters r0..r9


def table(bad: dict[str, float] | None = None, name: str = "X") -> pd.DataFrame:
    rows = [(f"r{i}", v, m + o) for v, m in TRUE.items() for i, o in enumerate(OFFSETS)]
    rows += [(name, v, s) for v, s in (bad or {}).items()]
    return pd.DataFrame(rows, columns=["rater", "video", "score"])


ERRATIC = {"v1": 4.0, "v2": 1.0, "v3": 5.0, "v4": 2.0}


def test_bt500_rejects_erratic_rater_by_hand():
    # v1 ratings: 1, 1.5, 1.5, 2, 2, 2, 2, 2.5, 2.5, 3 and X's 4 → mean 24/11 = 2.1818,
    # m2 = 0.6033, m4 = 1.2531, β2 = 3.443 (normal) → range 2s = 2·0.8146; X's 4 > 3.811 → P.
    # v2: X's 1 < 2.8182 − 1.6292 = 1.189 → Q; v3: 5 > 4.811 → P; v4: 2 < 2.189 → Q.
    # P = Q = 2 of N = 4: (P+Q)/N = 1 > 0.05 and |P−Q|/(P+Q) = 0 < 0.3 → rejected.
    scr = bt500_screening(table(ERRATIC)).set_index("rater")
    assert (scr.loc["X", ["N", "P", "Q"]].tolist()) == [4, 2, 2]
    assert bool(scr.loc["X", "rejected_bt500"])
    assert not scr.drop(index="X")["rejected_bt500"].any()
    assert (scr.drop(index="X")[["P", "Q"]].to_numpy() == 0).all()


def test_bt500_keeps_consistently_biased_rater():
    # Always +2: only P counts, |P−Q|/(P+Q) = 1 ≥ 0.3, so the P/Q rule keeps this rater.
    biased = {v: m + 2 for v, m in TRUE.items()}
    scr = bt500_screening(table(biased, "B")).set_index("rater")
    assert scr.loc["B", "Q"] == 0 and not bool(scr.loc["B", "rejected_bt500"])


def test_non_normal_video_uses_sqrt20_range():
    # Ten identical ratings and one outlier: β2 > 4, range √20·s is wide → no P/Q at all.
    rows = [(f"r{i}", "v", 3.0) for i in range(10)] + [("X", "v", 5.0)]
    scr = bt500_screening(pd.DataFrame(rows, columns=["rater", "video", "score"]))
    assert scr["P"].sum() == 0 and scr["Q"].sum() == 0


def test_consistency_flags_reversed_rater():
    cons = rater_consistency(table(ERRATIC)).set_index("rater")
    # X = [4, 1, 5, 2] against the others' means [2, 3, 3, 4]: negative correlation.
    assert cons.loc["X", "srcc"] < 0 and cons.loc["X", "plcc"] < 0
    assert (cons.drop(index="X")["srcc"] > 0.9).all()


def test_compute_mos_full_pipeline_and_ci_removal():
    res = compute_mos(table(ERRATIC))
    r = res.raters.set_index("rater")
    assert bool(r.loc["X", "flagged"]) and bool(r.loc["X", "removed"])
    assert not r.drop(index="X")["removed"].any()
    mos = res.mos.set_index("video")
    # Without X: mean m, s = sqrt(3/9) = 0.577, CI half-width 1.96·0.577/√10 = 0.358,
    # so the six ratings at m±0.5 and m±1 fall outside and the MOS stays exactly m.
    for v, m in TRUE.items():
        assert mos.loc[v, "mos_raw"] == pytest.approx(m)
        assert mos.loc[v, "ci95_high"] - m == pytest.approx(1.96 * np.sqrt(3 / 9) / np.sqrt(10))
        assert mos.loc[v, "mos"] == pytest.approx(m) and mos.loc[v, "n"] == 4
    assert len(res.removed_ratings) == 24
    wide = compute_mos(table(ERRATIC), MosConfig(ci_basis="range"))
    assert len(wide.removed_ratings) == 0 and (wide.mos["n"] == 10).all()


def test_bad_rows_and_duplicates():
    df = table(ERRATIC)
    df = pd.concat([df, pd.DataFrame([["r0", "v1", "oops"], ["", "v2", 3]], columns=df.columns)])
    res = compute_mos(df)
    assert len(res.bad_rows) == 2
    with pytest.raises(ValueError, match="missing column"):
        compute_mos(pd.DataFrame({"rater": ["a"], "video": ["v"]}))


def test_mos_cli_writes_csv_and_report(tmp_path):
    from typer.testing import CliRunner

    from reelscore.cli import app

    ratings = tmp_path / "ratings.csv"
    table(ERRATIC).to_csv(ratings, index=False)
    out, rep = tmp_path / "mos.csv", tmp_path / "report"
    res = CliRunner().invoke(app, ["mos", str(ratings), "--out", str(out), "--report", str(rep)])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    assert got.columns[0] == "Id"  # the project's one id column
    assert set(got["Id"]) == set(TRUE) and {"mos", "ci95_low", "ci95_high", "n"} <= set(got.columns)
    # ratings keyed by `Id` (the project's spelling) give the same MOS
    table(ERRATIC).rename(columns={"video": "Id"}).to_csv(ratings, index=False)
    res2 = CliRunner().invoke(app, ["mos", str(ratings), "--out", str(tmp_path / "mos2.csv")])
    assert res2.exit_code == 0, res2.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "mos2.csv"), got)
    report = json.loads((rep / "report.json").read_text())
    assert report["removed_raters"] == ["X"] and report["rejected_bt500"] == ["X"]
    assert (rep / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "removed raters: X" in res.output


def test_report_is_strict_json_with_unreadable_scores():
    df = table()
    df = pd.concat([df, pd.DataFrame([("r0", "v1", np.nan), ("r1", "v2", "abc")], columns=df.columns)], ignore_index=True)
    rep = compute_mos(df, MosConfig()).report()
    text = json.dumps(rep, allow_nan=False)
    bad = json.loads(text)["bad_rows"]
    assert [(b["rater"], b["video"], b["score"]) for b in bad] == [("r0", "v1", None), ("r1", "v2", "abc")]


def test_scores_off_the_rating_scale_are_bad_rows():
    df = pd.concat([table(), pd.DataFrame([["r0", "v1", 9.0], ["r1", "v2", 0.0]], columns=["rater", "video", "score"])])
    res = compute_mos(df)
    assert sorted(res.bad_rows["score"].tolist()) == [0.0, 9.0]
    assert set(res.bad_rows["reason"]) == {"score outside the rating scale (1.0, 5.0)"}
    # the off-scale rows do not leak into the MOS of v1 (whose kept scores average 2.0)
    assert res.mos.set_index("video").loc["v1", "mos"] == pytest.approx(2.0, abs=0.3)
    # with another scale they are ratings like any other
    wide = compute_mos(df, MosConfig(scale=(0.0, 10.0)))
    assert len(wide.bad_rows) == 0
