"""Engagement labels from watch logs on DuckDB: known answers, bad input, f_max, simulator, CLI, plots."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from labels_fixtures import assert_labels_equal, independent_labels, known_log, write_parquet
from reelscore.labels import PAPER_FMAX, FMax, LogInputError, compute_labels, fit_fmax, load_fmax, simulate_views
from reelscore.labels.watchlog_stats import bimodality_coefficient

os.environ["REELSCORE_NO_PROGRESS"] = "1"


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    d = tmp_path_factory.mktemp("labels")
    log, clean, expected = known_log(seed=1)
    write_parquet(log, d / "log.parquet")
    return d, log, clean, expected


def test_every_column_matches_an_independent_computation(logs):
    d, log, clean, expected = logs
    df, s = compute_labels(d / "log.parquet", min_views=40)
    assert list(df.columns) == ["video_id", "duration_s", "views", "awt_s", "awp", "nawp", "ecr", "like_rate", "low_views"]
    assert_labels_equal(df, independent_labels(clean, min_views=40))
    assert s["rows_rejected"] == expected
    assert s["rows_read"] == len(log)
    assert s["views"] == len(clean) == int(df["views"].sum())
    assert s["rows_rejected_total"] + s["views"] == s["rows_read"]
    assert s["liked_unknown"] == int(clean["liked"].isna().sum())
    assert s["dedup"] == "view_id"
    assert s["videos_low_views"] == int((clean.groupby("video_id").size() < 40).sum())
    assert s["fmax"] == {"a": 0.556, "b": 5.64, "source": "paper"}


def test_csv_glob_gives_the_same_labels(logs, tmp_path):
    d, log, clean, expected = logs
    half = len(log) // 2
    log = log.astype({"watch_time_s": float})
    # CSV cannot tell NaN from a missing cell: both are empty -> watch_time_missing
    log.iloc[:half].to_csv(tmp_path / "part1.csv", index=False)
    log.iloc[half:].to_csv(tmp_path / "part2.csv", index=False)
    (tmp_path / "part3.csv").write_text("")  # an empty file is rejected and reported, not fatal
    df, s = compute_labels(str(tmp_path / "part*.csv"), min_views=40)
    assert_labels_equal(df, independent_labels(clean, min_views=40))
    want = dict(expected)
    want["watch_time_missing"] += want.pop("watch_time_nan")
    assert s["rows_rejected"] == want
    assert [f["reason"] for f in s["files_rejected"]] == ["empty_file"]
    assert s["files"] == 2


def test_durations_from_a_video_table(tmp_path):
    from labels_fixtures import clean_views

    clean = clean_views(3)
    log = clean.drop(columns=["duration_s"]).rename(columns={"video_id": "vid", "watch_time_s": "secs"})
    extra = pd.DataFrame({"view_id": [10_000, 10_001, 10_002], "vid": ["ghost", "ghost", "twice"], "secs": [4.0, 9.0, 6.0], "liked": pd.array([True, None, False], dtype="boolean")})
    pd.concat([log, extra]).to_parquet(tmp_path / "log.parquet", index=False)
    table = clean.groupby("video_id", as_index=False)["duration_s"].first()
    table = pd.concat([table, pd.DataFrame({"video_id": ["twice", "twice", "unseen"], "duration_s": [10.0, 11.0, 30.0]})])
    table.to_csv(tmp_path / "videos.csv", index=False)
    df, s = compute_labels(tmp_path / "log.parquet", videos=tmp_path / "videos.csv", min_views=1,
                           columns=__import__("reelscore.labels", fromlist=["LogColumns"]).LogColumns(video_id="vid", watch_time="secs"),
                           video_columns=__import__("reelscore.labels", fromlist=["LogColumns"]).LogColumns())
    assert_labels_equal(df, independent_labels(clean, min_views=1))
    assert s["rows_rejected"] == {"unknown_video": 2, "duration_inconsistent": 1}
    assert s["videos_in_table_without_views"] == 2  # "twice" (all views rejected) and "unseen"


def test_without_an_event_key_every_row_is_a_view(tmp_path):
    """Identical rows in a log without a key are two viewers with the same numbers: all kept, labels exact."""
    from labels_fixtures import clean_views

    clean = clean_views(4).drop(columns=["view_id"])
    clean["watch_time_s"] = clean["watch_time_s"].round(0)  # rounded watch times make identical rows common
    log = pd.concat([clean, clean.iloc[[2, 3, 3]]], ignore_index=True)
    log.to_parquet(tmp_path / "log.parquet", index=False)
    df, s = compute_labels(tmp_path / "log.parquet", min_views=1)
    assert s["dedup"].startswith("not checked") and s["rows_rejected"] == {}
    assert s["rows_read"] == len(log) == s["views"] + s["rows_rejected_total"]
    assert_labels_equal(df, independent_labels(log, min_views=1))


def test_user_and_timestamp_are_an_event_key(tmp_path):
    from labels_fixtures import clean_views

    clean = clean_views(4).drop(columns=["view_id"])
    clean["user_id"] = np.arange(len(clean)) % 7
    clean["timestamp"] = np.arange(len(clean)) * 10
    twins = clean.iloc[[2, 5, 5]]  # logged twice / three times: true duplicates of one event
    other_viewer = clean.iloc[[4]].assign(user_id=99)  # same numbers, another viewer: a real view
    log = pd.concat([clean, twins, other_viewer], ignore_index=True).sample(frac=1, random_state=0)
    log.to_csv(tmp_path / "log.csv", index=False)
    df, s = compute_labels(tmp_path / "log.csv", min_views=1)
    assert s["dedup"] == "key: video_id + user_id + timestamp"
    assert s["rows_rejected"] == {"duplicate": 3}
    assert_labels_equal(df, independent_labels(pd.concat([clean, other_viewer]), min_views=1))
    df2, s2 = compute_labels(tmp_path / "log.csv", min_views=1, dedup_key=["timestamp"])
    # the key the user names is the truth: the other viewer at the same timestamp now counts as a copy
    assert s2["dedup"] == "key: timestamp" and s2["rows_rejected"] == {"duplicate": 4}
    with pytest.raises(LogInputError, match="--dedup-key column"):
        compute_labels(tmp_path / "log.csv", min_views=1, dedup_key=["session"])
    df3, s3 = compute_labels(tmp_path / "log.csv", min_views=1, dedup=False)
    assert s3["dedup"] == "off" and s3["rows_rejected"] == {}
    assert_labels_equal(df3, independent_labels(log, min_views=1))


def test_missing_column_and_unusable_inputs_are_one_line_errors(tmp_path):
    pd.DataFrame({"video_id": ["a"], "watch": [3.0], "duration_s": [10.0]}).to_parquet(tmp_path / "x.parquet")
    with pytest.raises(LogInputError) as e:
        compute_labels(tmp_path / "x.parquet")
    msg = str(e.value)
    assert "\n" not in msg and "'watch_time_s'" in msg and "--watch-time-col" in msg
    pd.DataFrame({"video_id": ["a"], "watch_time_s": [3.0]}).to_parquet(tmp_path / "nodur.parquet")
    with pytest.raises(LogInputError, match="no durations"):
        compute_labels(tmp_path / "nodur.parquet")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(LogInputError, match="no usable log file"):
        compute_labels(tmp_path / "empty.csv")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(LogInputError, match="unreadable_file"):
        compute_labels(tmp_path / "junk.parquet")
    with pytest.raises(LogInputError, match="no such file"):
        compute_labels(tmp_path / "absent.parquet")
    with pytest.raises(LogInputError, match="no files match"):
        compute_labels(str(tmp_path / "nothing*.csv"))


def test_header_only_csv_gives_no_views(tmp_path):
    (tmp_path / "h.csv").write_text("video_id,watch_time_s,duration_s\n")
    df, s = compute_labels(tmp_path / "h.csv")
    assert len(df) == 0 and s["views"] == 0 and s["rows_read"] == 0


def test_low_views_flag_and_drop(logs):
    d, log, clean, expected = logs
    counts = clean.groupby("video_id").size()
    df, s = compute_labels(d / "log.parquet", min_views=30, drop_low_views=True)
    assert set(df["video_id"]) == set(counts[counts >= 30].index)
    assert not df["low_views"].any()
    assert s["videos_dropped_low_views"] == int((counts < 30).sum()) == s["videos_low_views"]


def test_fmax_fit_follows_the_documented_procedure():
    rng = np.random.default_rng(0)
    d = rng.uniform(5, 60, 4000)
    awt = rng.uniform(0, 1, 4000) * (0.5 * d + 6)
    fm = fit_fmax(d, awt)
    # independent re-implementation: 1-s bins, >= 5 videos, 97th percentile, least squares at bin centres
    frame = pd.DataFrame({"bin": np.floor(d), "awt": awt})
    g = frame.groupby("bin")["awt"]
    q = g.quantile(0.97)[g.size() >= 5]
    a, b = np.polyfit(q.index.to_numpy() + 0.5, q.to_numpy(), 1)
    assert fm.a == pytest.approx(a, abs=1e-12) and fm.b == pytest.approx(b, abs=1e-12)
    assert 0.4 < fm.a < 0.55 and fm.source == "fit" and fm.bins == 55
    with pytest.raises(ValueError, match="cannot fit f_max"):
        fit_fmax([10.0, 10.2], [3.0, 4.0])
    assert PAPER_FMAX(10.0) == pytest.approx(0.556 * 10 + 5.64)


def test_fmax_fit_is_saved_and_reused(logs, tmp_path):
    d, log, clean, expected = logs
    # a log with enough videos per duration bin to fit
    simulate_views(300, 60, tmp_path / "sim.parquet", seed=2, show_progress=False)
    df_fit, s_fit = compute_labels(tmp_path / "sim.parquet", fmax="fit", min_views=50)
    fm = FMax(**s_fit["fmax"])
    fm.save(tmp_path / "f.json")
    loaded = load_fmax(tmp_path / "f.json")
    assert (loaded.a, loaded.b) == (fm.a, fm.b)
    df_file, s_file = compute_labels(tmp_path / "sim.parquet", fmax=tmp_path / "f.json", min_views=50)
    np.testing.assert_array_equal(df_file["nawp"], df_fit["nawp"])
    want = np.minimum(df_fit["awt_s"] / (fm.a * df_fit["duration_s"] + fm.b), 1.0)
    np.testing.assert_allclose(df_fit["nawp"], want, rtol=0, atol=1e-12)
    (tmp_path / "bad.json").write_text('{"a": "x"}')
    with pytest.raises(ValueError, match="numeric 'a' and 'b'"):
        compute_labels(d / "log.parquet", fmax=tmp_path / "bad.json")


def test_bimodality_coefficient_matches_its_formula():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, 500), rng.normal(6, 1, 500)])
    n = x.size
    m = x - x.mean()
    m2, m3, m4 = (m**2).mean(), (m**3).mean(), (m**4).mean()
    g1 = m3 / m2**1.5 * np.sqrt(n * (n - 1)) / (n - 2)
    g2 = ((n + 1) * (m4 / m2**2 - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    want = (g1**2 + 1) / (g2 + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))
    assert bimodality_coefficient(x) == pytest.approx(want, rel=1e-12)
    assert bimodality_coefficient(x) > 5 / 9 > bimodality_coefficient(rng.normal(0, 1, 1000))


def test_simulator_reproduces_the_papers_findings(tmp_path):
    info = simulate_views(400, 250, tmp_path / "v.parquet", seed=5, truth=tmp_path / "t.parquet", chunk_rows=30_000, show_progress=False)
    assert info["views"] == 100_000
    meta = pq.read_schema(tmp_path / "v.parquet").metadata
    assert meta[b"reelscore.simulated"] == b"true"
    truth = pd.read_parquet(tmp_path / "t.parquet")
    assert truth["simulated"].all() and pq.read_schema(tmp_path / "t.parquet").metadata[b"reelscore.simulated"] == b"true"
    df, s = compute_labels(tmp_path / "v.parquet", min_views=100)
    assert s["simulated"] is True and s["rows_rejected"] == {}
    assert s["ecr_nawp_plcc"] > 0.85
    assert s["bimodality"]["nawp"]["bimodal"] and s["bimodality"]["ecr"]["bimodal"]
    assert 0.001 < df["like_rate"].mean() < 0.05  # likes are rare
    m = df.merge(truth, on="video_id")
    se = np.sqrt(m["expected_ecr"] * (1 - m["expected_ecr"]) / m["views"])
    assert (np.abs(m["ecr"] - m["expected_ecr"]) < 5 * se + 1e-9).all()
    assert np.corrcoef(m["awt_s"], m["expected_awt_s"])[0, 1] > 0.98
    # same seed, same log
    simulate_views(400, 250, tmp_path / "v2.parquet", seed=5, chunk_rows=30_000, show_progress=False)
    assert pq.read_table(tmp_path / "v2.parquet").equals(pq.read_table(tmp_path / "v.parquet"))


def test_cli_labels_and_simulate_views(tmp_path):
    from reelscore.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["simulate-views", "--videos", "200", "--views-per-video", "50", "--out", str(tmp_path / "v.parquet"), "--truth", str(tmp_path / "t.parquet"), "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "SIMULATED" in r.output
    out = tmp_path / "res" / "labels.csv"
    r = runner.invoke(app, ["labels", str(tmp_path / "v.parquet"), "--out", str(out), "--videos", str(tmp_path / "t.parquet"), "--fmax", "fit", "--min-views", "20", "--plots", str(tmp_path / "figs")])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert len(df) == 200 and df["views"].eq(50).all()
    summary = json.loads((tmp_path / "res" / "labels.summary.json").read_text())
    fit = json.loads((tmp_path / "res" / "labels.fmax.json").read_text())
    assert summary["fmax"]["a"] == fit["a"] and fit["source"] == "fit"
    assert summary["videos"] == 200 and summary["simulated"] is True
    pngs = sorted(p.name for p in (tmp_path / "figs").glob("*.png"))
    assert pngs == sorted(["awt_vs_duration.png", "awp_vs_duration.png", "nawp_vs_duration.png", "nawp_hist.png", "ecr_hist.png", "ecr_vs_nawp.png", "like_rate_hist.png"])
    assert all((tmp_path / "figs" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    # reuse the saved fit
    r = runner.invoke(app, ["labels", str(tmp_path / "v.parquet"), "--out", str(tmp_path / "l2.parquet"), "--fmax", str(tmp_path / "res" / "labels.fmax.json")])
    assert r.exit_code == 0, r.output
    np.testing.assert_allclose(pd.read_parquet(tmp_path / "l2.parquet")["nawp"], df["nawp"], atol=1e-9)
    # a missing required column: exit 1 with one line naming it
    r = runner.invoke(app, ["labels", str(tmp_path / "v.parquet"), "--out", str(tmp_path / "x.csv"), "--watch-time-col", "secs"])
    assert r.exit_code == 1
    assert "'secs'" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()
    # usage errors: exit 2
    r = runner.invoke(app, ["labels", str(tmp_path / "v.parquet"), "--out", str(tmp_path / "x.csv"), "--engine", "nope"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["labels", str(tmp_path / "v.parquet"), "--out", str(tmp_path / "x.txt")])
    assert r.exit_code == 2
    # a fit that cannot be made: exit 1
    r = runner.invoke(app, ["labels", str(tmp_path / "v.parquet"), "--out", str(tmp_path / "x.csv"), "--fmax", "fit"])
    assert r.exit_code == 1 and "cannot fit f_max" in r.stderr


def test_csv_with_a_byte_order_mark(tmp_path):
    # Excel's "CSV UTF-8" starts with a BOM; the header check must not see '\ufeffvideo_id'.
    p = tmp_path / "excel.csv"
    p.write_bytes(b"\xef\xbb\xbfvideo_id,watch_time_s,duration_s\na,3,10\na,7,10\nb,6,20\n")
    df, summary = compute_labels(p, min_views=1)
    df = df.set_index("video_id").sort_index()
    assert df.index.tolist() == ["a", "b"] and df.loc["a", "views"] == 2
    assert df.loc["a", "awt_s"] == pytest.approx(5.0) and df.loc["a", "ecr"] == pytest.approx(0.5)
