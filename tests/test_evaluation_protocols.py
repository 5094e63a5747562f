"""Protocol finals on tiny files, computed by hand and by an independent reading of the official conventions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from reelscore.evaluation import evaluate, get_protocol
from evaluation_fixtures import run_cli, write, write_xlsx

QUIET = dict(n_boot=40, seed=1)


def test_evqa_final_by_hand(tmp_path):
    truth = write(tmp_path / "truth.csv", """
        Id,ECR,Title
        a,0.1,x
        b,0.2,y
        c,0.3,z
        d,0.4,w
        e,0.5,v
    """)
    # prediction rows in another order; ranks of pred are 2,1,4,3,5 in truth order
    pred = write(tmp_path / "pred.csv", """
        Id,ECR
        e,0.9
        c,0.4
        a,0.2
        b,0.1
        d,0.3
    """)
    r = evaluate("evqa", pred, truth, **QUIET)
    srocc = 1 - 6 * 4 / (5 * (25 - 1))  # sum d^2 = 4
    plcc = 0.16 / math.sqrt(0.388 * 0.1)
    assert r["targets"]["ECR"]["metrics"]["SRCC"]["value"] == pytest.approx(srocc)
    assert r["targets"]["ECR"]["metrics"]["PLCC"]["value"] == pytest.approx(plcc)
    assert r["final"]["value"] == pytest.approx(0.6 * srocc + 0.4 * plcc)
    assert r["final"]["formula"] == "0.6*SRCC + 0.4*PLCC"
    assert r["id_matching"] == "exact"
    lo, hi = r["final"]["ci"]
    assert lo <= hi


def _kvq_files(tmp_path):
    names = [f"v{i}" for i in range(8)]
    mos = [1.5, 2.0, 4.5, 3.0, 3.5, 1.0, 4.0, 2.5]
    pred = [1.7, 2.2, 4.1, 3.6, 3.1, 1.2, 4.4, 2.2]  # v1 and v7 tie at 2.2
    truth = write(tmp_path / "truth.csv", "filename,score\n" + "\n".join(f"{n}.mp4,{m}" for n, m in zip(names, mos)))
    # no header, no extension: both official-compatible variants the checker accepts
    predf = write(tmp_path / "prediction.csv", "\n".join(f"{n},{p}" for n, p in zip(names, pred)))
    source = [["video1", "video2", "rank"], ["v0.mp4", "v1.mp4", 2], ["v2.mp4", "v3.mp4", 1], ["v1.mp4", "v7.mp4", 2]]
    nonsource = [["v4.mp4", "v5.mp4", 1], ["v6.mp4", "v3.mp4", 2], ["v7.mp4", "v1.mp4", 1], ["v0.mp4", "v5.mp4", 1]]
    xlsx = write_xlsx(tmp_path / "rank-pair-val.xlsx", {"source": source, "nonsource": nonsource})
    return names, mos, pred, truth, predf, xlsx, source, nonsource


def test_kvq_final_by_hand_with_xlsx_pairs(tmp_path):
    names, mos, pred, truth, predf, xlsx, source, nonsource = _kvq_files(tmp_path)
    r = evaluate("ntire2024", predf, truth, pairs=xlsx, **QUIET)
    assert r["protocol"] == "kvq" and r["id_matching"] == "normalized"
    # Rank1 (source sheet, header row skipped): v0<v1 right(2); v2>v3 right(1); v1==v7 tie -> 1, gt 2 wrong
    assert r["pairs"]["Rank1"]["value"] == pytest.approx(2 / 3)
    assert r["pairs"]["Rank1"]["n_tied_predictions"] == 1
    # Rank2 (no header row): v4>v5 right; v6>v3 -> 1, gt 2 wrong; v7==v1 tie -> 1 right; v0>v5 right
    assert r["pairs"]["Rank2"]["value"] == pytest.approx(3 / 4)
    s = spearmanr(mos, pred)[0]
    p = pearsonr(mos, pred)[0]
    assert r["final"]["value"] == pytest.approx(0.45 * s + 0.45 * p + 0.05 * (2 / 3) + 0.05 * (3 / 4))


def test_kvq_matches_independent_official_reading(tmp_path):
    """Re-derive the score the way the official script does: dict lookup, ties -> rank 1, per-sheet accuracy."""
    import openpyxl

    names, mos, pred, truth, predf, xlsx, source, nonsource = _kvq_files(tmp_path)
    score_of = {f"{n}.mp4": p for n, p in zip(names, pred)}
    wb = openpyxl.load_workbook(xlsx)
    acc = {}
    for sheet in ("source", "nonsource"):
        rows = [r for r in wb[sheet].iter_rows(values_only=True)]
        rows = [r for r in rows if r[2] in (1, 2)]
        hits = [(1 if score_of[a] >= score_of[b] else 2) == g for a, b, g in rows]
        acc[sheet] = sum(hits) / len(hits)
    official = 0.45 * spearmanr(mos, pred)[0] + 0.45 * pearsonr(mos, pred)[0] + 0.05 * acc["source"] + 0.05 * acc["nonsource"]
    r = evaluate("kvq", predf, truth, pairs=xlsx, **QUIET)
    assert r["final"]["value"] == pytest.approx(official, abs=1e-12)


def test_kvq_pairs_from_csv_equal_xlsx(tmp_path):
    names, mos, pred, truth, predf, xlsx, source, nonsource = _kvq_files(tmp_path)
    lines = ["video1,video2,better,homologous"]
    lines += [f"{a},{b},{g},1" for a, b, g in source[1:]]
    lines += [f"{a},{b},{g},0" for a, b, g in nonsource]
    csvp = write(tmp_path / "pairs.csv", "\n".join(lines))
    a = evaluate("kvq", predf, truth, pairs=xlsx, **QUIET)
    b = evaluate("kvq", predf, truth, pairs=csvp, **QUIET)
    assert a["final"]["value"] == b["final"]["value"]
    assert a["pairs"]["Rank1"] == b["pairs"]["Rank1"]


def test_kvq_header_optional_and_without_pairs_final_is_nan(tmp_path):
    names, mos, pred, truth, *_ = _kvq_files(tmp_path)
    predh = write(tmp_path / "p.csv", "filename,score\n" + "\n".join(f"{n}.mp4,{p}" for n, p in zip(names, pred)))
    with pytest.warns(RuntimeWarning, match="--pairs"):
        r = evaluate("kvq", predh, truth, **QUIET)
    assert r["id_matching"] == "exact"
    assert math.isnan(r["final"]["value"])
    assert r["targets"]["score"]["metrics"]["SRCC"]["value"] == pytest.approx(spearmanr(mos, pred)[0])


def test_snapugc_all_metrics_and_durations(tmp_path):
    rng = np.random.default_rng(4)
    n = 60
    ids = [f"{i:032x}" for i in range(n)]
    nawp, ecr = rng.uniform(size=n), rng.uniform(size=n)
    pn = np.clip(nawp + rng.normal(scale=0.2, size=n), 0, 1)
    pe = np.clip(ecr + rng.normal(scale=0.2, size=n), 0, 1)
    dur = rng.uniform(8, 62, n)
    truth = write(tmp_path / "t.csv", "Id,NAWP,ECR\n" + "\n".join(f"{i},{a},{b}" for i, a, b in zip(ids, nawp, ecr)))
    pred = write(tmp_path / "p.csv", "Id,ECR,NAWP\n" + "\n".join(f"{i},{b},{a}" for i, a, b in zip(ids, pn, pe)))
    durs = write(tmp_path / "d.csv", "Id,duration_s\n" + "\n".join(f"{i}.mp4,{d}" for i, d in zip(ids, dur)))
    r = evaluate("snapugc", pred, truth, durations=durs, **QUIET)
    assert r["final"] is None
    m = r["targets"]["ECR"]["metrics"]
    assert set(m) == {"SRCC", "KRCC", "PLCC", "PLCC_logistic4", "RMSE", "RMSE_top10%", "SRCC_duration_grouped"}
    assert m["SRCC"]["value"] == pytest.approx(spearmanr(pe, ecr)[0])
    top = np.argsort(-nawp)[:6]
    assert r["targets"]["NAWP"]["metrics"]["RMSE_top10%"]["value"] == pytest.approx(np.sqrt(np.mean((pn[top] - nawp[top]) ** 2)))
    groups = r["targets"]["NAWP"]["duration_groups"]
    assert sum(g["n"] for g in groups) == n
    want = np.mean([spearmanr(pn[(dur >= g["lo"]) & (dur < g["hi"])], nawp[(dur >= g["lo"]) & (dur < g["hi"])])[0] for g in groups])
    assert r["targets"]["NAWP"]["metrics"]["SRCC_duration_grouped"]["value"] == pytest.approx(want)
    for entry in r["targets"].values():
        for mm in entry["metrics"].values():
            lo, hi = mm["ci"]
            assert lo <= mm["value"] + 1e-9 or mm is entry["metrics"].get("SRCC_duration_grouped")
            assert lo <= hi


def test_snapugc_one_target_and_truth_video_len(tmp_path):
    truth = write(tmp_path / "t.csv", """
        id,video_len,ECR,NAWP,Title
        a,12,0.1,0.2,t
        b,15,0.5,0.3,t
        c,17,0.4,0.6,t
        d,33,0.9,0.7,t
        e,35,0.3,0.1,t
        f,38,0.6,0.5,t
    """)
    pred = write(tmp_path / "p.csv", "Id,ECR\na,0.2\nb,0.4\nc,0.5\nd,0.8\ne,0.1\nf,0.7")
    r = evaluate("snapugc", pred, truth, duration_edges=(20,), **QUIET)
    assert list(r["targets"]) == ["ECR"]
    g = r["targets"]["ECR"]["duration_groups"]
    assert [x["n"] for x in g] == [3, 3]
    want = (spearmanr([0.2, 0.4, 0.5], [0.1, 0.5, 0.4])[0] + spearmanr([0.8, 0.1, 0.7], [0.9, 0.3, 0.6])[0]) / 2
    assert r["targets"]["ECR"]["metrics"]["SRCC_duration_grouped"]["value"] == pytest.approx(want)


def test_bootstrap_seed_reproducible_and_plcc_mapping_selectable(tmp_path):
    names, mos, pred, truth, predf, xlsx, *_ = _kvq_files(tmp_path)
    a = evaluate("kvq", predf, truth, pairs=xlsx, n_boot=50, seed=3)
    b = evaluate("kvq", predf, truth, pairs=xlsx, n_boot=50, seed=3, plcc_mapping="none")
    assert a["final"] == b["final"]
    assert "PLCC_logistic4" in a["targets"]["score"]["metrics"]
    assert "PLCC_logistic4" not in b["targets"]["score"]["metrics"]
    assert b["settings"]["plcc_mapping"] == "none"


def test_protocol_aliases():
    assert get_protocol("NTIRE2024").name == "kvq"
    with pytest.raises(ValueError, match="unknown protocol"):
        get_protocol("nope")


def test_cli_json_and_table(tmp_path):
    names, mos, pred, truth, predf, xlsx, *_ = _kvq_files(tmp_path)
    res = run_cli("--protocol", "kvq", "--pred", str(predf), "--truth", str(truth), "--pairs", str(xlsx),
                  "--json", "--bootstrap", "30", "--seed", "2")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["final"]["value"] == pytest.approx(evaluate("kvq", predf, truth, pairs=xlsx, n_boot=30, seed=2)["final"]["value"])
    res = run_cli("-p", "kvq", "--pred", str(predf), "--truth", str(truth), "--pairs", str(xlsx), "--bootstrap", "20")
    assert res.exit_code == 0
    assert "final" in res.stdout and "Rank1" in res.stdout and "95 % interval" in res.stdout


def test_id_matching_prefix_extension_and_collision(tmp_path):
    truth = write(tmp_path / "t.csv", "Id,ECR\nvids/a.mp4,0.1\nb.mp4,0.5\nc,0.3\nd.MOV,0.9")
    pred = write(tmp_path / "p.csv", "Id,ECR\na,0.2\n/data/b.mp4,0.4\nc.mp4,0.1\nd,0.8")
    r = evaluate("evqa", pred, truth, n_boot=0, plcc_mapping="none")
    assert r["id_matching"] == "normalized"
    assert r["targets"]["ECR"]["metrics"]["SRCC"]["value"] == pytest.approx(spearmanr([0.2, 0.4, 0.1, 0.8], [0.1, 0.5, 0.3, 0.9])[0])
    # two truth files that only differ by extension: no normalisation, exact ids required
    truth2 = write(tmp_path / "t2.csv", "Id,ECR\nx.mp4,0.1\nx.mov,0.5\ny.mp4,0.3")
    pred2 = write(tmp_path / "p2.csv", "Id,ECR\nx,0.1\nx.mov,0.5\ny.mp4,0.3")
    from reelscore.evaluation import SubmissionError

    with pytest.raises(SubmissionError, match=r"1 truth id missing from the prediction \(first: 'x.mp4'\); 1 id not in the truth \(first: 'x'\)"):
        evaluate("evqa", pred2, truth2, n_boot=0, plcc_mapping="none")


def test_final_interval_is_the_weighted_sum_of_shared_resamples(tmp_path):
    """Recompute the EVQA final's interval by hand: same resample indices for SRCC and PLCC, weighted, percentiles."""
    rng = np.random.default_rng(12)
    n = 40
    y = rng.uniform(size=n)
    p = np.clip(y + rng.normal(scale=0.3, size=n), 0, 1)
    ids = [f"v{i}" for i in range(n)]
    truth = write(tmp_path / "t.csv", "Id,ECR\n" + "\n".join(f"{i},{float(v)!r}" for i, v in zip(ids, y)))
    pred = write(tmp_path / "p.csv", "Id,ECR\n" + "\n".join(f"{i},{float(v)!r}" for i, v in zip(ids, p)))
    r = evaluate("evqa", pred, truth, n_boot=200, seed=7, plcc_mapping="none")
    gen = np.random.default_rng([7, 10])  # seed, stream of the first target
    finals = []
    for _ in range(200):
        idx = gen.integers(0, n, n)
        finals.append(0.6 * spearmanr(p[idx], y[idx])[0] + 0.4 * pearsonr(p[idx], y[idx])[0])
    lo, hi = np.quantile(finals, [0.025, 0.975])
    assert r["final"]["ci"] == pytest.approx([lo, hi], abs=1e-12)


def test_kvq_accepts_reelscore_file_layouts(tmp_path):
    """`predict` writes Id,MOS and `degrade` writes name,...,mos: kvq scores them without renaming."""
    from reelscore.evaluation import evaluate

    names = [f"v{i}.mp4" for i in range(6)]
    truth = tmp_path / "labels.csv"
    truth.write_text("name,source,workflow,mos\n" + "".join(
        f"{n},src{i % 2},transcode,{1 + 0.5 * i}\n" for i, n in enumerate(names)))
    pred = tmp_path / "pred.csv"
    pred.write_text("Id,MOS\n" + "".join(f"{n},{[1, 2, 3, 5, 4, 6][i] * 0.8}\n" for i, n in enumerate(names)))
    with pytest.warns(RuntimeWarning, match="needs Rank1"):
        r = evaluate("kvq", pred, truth, n_boot=0)
    srcc = r["targets"]["score"]["metrics"]["SRCC"]["value"]
    assert srcc == pytest.approx(1 - 6 * 2 / (6 * 35))
