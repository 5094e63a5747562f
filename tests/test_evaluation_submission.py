"""Every bad-submission case gives a precise one-line error (ids and counts) and is never scored."""

from __future__ import annotations

import subprocess
import sys

import pytest
from evaluation_fixtures import run_cli, write, write_xlsx

from reelscore.evaluation import SubmissionError, evaluate

TRUTH = """
    Id,ECR
    a,0.1
    b,0.2
    c,0.3
    d,0.4
    e,0.5
    f,0.6
    g,0.7
"""


@pytest.fixture
def truth(tmp_path):
    return write(tmp_path / "truth.csv", TRUTH)


def _err(tmp_path, truth, pred_text: str, name="pred.csv", protocol="evqa", **kw) -> str:
    pred = write(tmp_path / name, pred_text) if pred_text is not None else tmp_path / name
    with pytest.raises(SubmissionError) as ei:
        evaluate(protocol, pred, truth, n_boot=0, **kw)
    msg = str(ei.value)
    assert "\n" not in msg
    return msg


CASES = {
    "missing_ids": (
        "Id,ECR\na,0.1\nb,0.2\nc,0.3\nd,0.4\ne,0.5",
        r"2 truth ids missing from the prediction (first: 'f', 'g') [prediction has 5 ids, truth 7]",
    ),
    "extra_ids": (
        "Id,ECR\na,0.1\nb,0.2\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7\nzz,0.1",
        "1 id not in the truth (first: 'zz') [prediction has 8 ids, truth 7]",
    ),
    "missing_and_extra": (
        "Id,ECR\na,0.1\nb,0.2\nc,0.3\nd,0.4\ne,0.5\nf,0.6\nx,0.7",
        "1 truth id missing from the prediction (first: 'g'); 1 id not in the truth (first: 'x')"
        " [prediction has 7 ids, truth 7]",
    ),
    "duplicate_ids": (
        "Id,ECR\na,0.1\nb,0.2\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7\nb,0.3\nb,0.4\nc,0.1",
        "2 duplicate ids (3 repeated rows); first: 'b', 'c'",
    ),
    "nan_values": (
        "Id,ECR\na,0.1\nb,nan\nc,0.3\nd,0.4\ne,NaN\nf,0.6\ng,0.7",
        "2 NaN or infinite ECR values; first ids: 'b', 'e'",
    ),
    "inf_values": (
        "Id,ECR\na,0.1\nb,0.2\nc,inf\nd,0.4\ne,0.5\nf,0.6\ng,-Infinity",
        "2 NaN or infinite ECR values; first ids: 'c', 'g'",
    ),
    "empty_value": (
        "Id,ECR\na,0.1\nb,\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7",
        "1 non-numeric ECR value; first ids: 'b' (e.g. '')",
    ),
    "non_numeric": (
        "Id,ECR\na,0.1\nb,high\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7",
        "1 non-numeric ECR value; first ids: 'b' (e.g. 'high')",
    ),
    "out_of_range": (
        "Id,ECR\na,0.1\nb,1.5\nc,0.3\nd,-0.2\ne,0.5\nf,0.6\ng,0.7",
        "2 ECR values outside the prediction range [0, 1]; first: 'b'=1.5, 'd'=-0.2",
    ),
    "wrong_header": (
        "Id,score\na,0.1\nb,0.2\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7",
        "wrong header: expected columns Id,ECR, found Id,score (missing ECR)",
    ),
    "no_header": (
        "a,0.1\nb,0.2\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7",
        "wrong header: expected columns Id,ECR, found a,0.1 (missing Id,ECR)",
    ),
    "header_only": ("Id,ECR", "empty file: a header but no data rows"),
    "wrong_field_count": (
        "Id,ECR\na,0.1\nb,0.2,extra\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7",
        "1 row with a wrong number of fields (expected 2); first at line 3 with 3: 'b,0.2,extra'",
    ),
    "empty_id": (
        "Id,ECR\na,0.1\n,0.2\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7",
        "1 row with an empty Id; first at lines 3",
    ),
}


# what only an organiser's format check refuses: an error with strict, a warning otherwise
STRICT_ONLY = {"extra_ids", "out_of_range"}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_prediction_message(tmp_path, truth, case):
    text, expected = CASES[case]
    msg = _err(tmp_path, truth, text, strict=case in STRICT_ONLY)
    assert msg == f"{tmp_path / 'pred.csv'}: {expected}"


@pytest.mark.parametrize("case", sorted(STRICT_ONLY))
def test_legitimate_outputs_are_scored_with_a_warning(tmp_path, truth, case):
    from scipy.stats import pearsonr, spearmanr

    text, _ = CASES[case]
    pred = write(tmp_path / "pred.csv", text)
    r = evaluate("evqa", pred, truth, n_boot=0)
    rows = dict(line.split(",") for line in text.splitlines()[1:])
    t = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    p = [float(rows[k]) for k in "abcdefg"]
    want = 0.6 * spearmanr(p, t)[0] + 0.4 * pearsonr(p, t)[0]
    assert r["final"]["value"] == pytest.approx(want, abs=1e-9)
    assert any("--strict" in w for w in r["warnings"])


def test_empty_file(tmp_path, truth):
    (tmp_path / "pred.csv").write_text("\n  \n")
    assert _err(tmp_path, truth, None).endswith("pred.csv: empty file")


def test_missing_file(tmp_path, truth):
    assert _err(tmp_path, truth, None, name="nope.csv").endswith("nope.csv: file not found")


def test_directory_is_unreadable(tmp_path, truth):
    (tmp_path / "dir.csv").mkdir()
    assert _err(tmp_path, truth, None, name="dir.csv").endswith("dir.csv: not a regular file")


def test_binary_file(tmp_path, truth):
    (tmp_path / "pred.csv").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00garbage")
    assert "not a UTF-8 text CSV" in _err(tmp_path, truth, None)


def test_range_override_and_none(tmp_path, truth):
    text = "Id,ECR\na,0.1\nb,1.5\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7"
    assert "outside the prediction range [0, 1.2]" in _err(tmp_path, truth, text, value_range=(0, 1.2), strict=True)
    r = evaluate("evqa", tmp_path / "pred.csv", truth, n_boot=0, value_range=None)
    assert r["settings"]["value_range"] is None


def test_broken_truth_is_named(tmp_path):
    truth = write(tmp_path / "truth.csv", "Id,ECR\na,0.1\na,0.2\nb,0.3")
    pred = write(tmp_path / "pred.csv", "Id,ECR\na,0.1\nb,0.3")
    with pytest.raises(SubmissionError, match=r"truth.csv: 1 duplicate id \(1 repeated rows\); first: 'a'"):
        evaluate("evqa", pred, truth, n_boot=0)


def test_kvq_wrong_header_and_mos_range(tmp_path):
    truth = write(tmp_path / "truth.csv", "filename,score\nx.mp4,1\ny.mp4,2\nz.mp4,3")
    msg = _err(tmp_path, truth, "clip,quality\nx.mp4,1\ny.mp4,2\nz.mp4,3", protocol="kvq")
    assert msg.endswith("wrong header: expected columns filename,score, found clip,quality (missing filename,score)")
    msg = _err(tmp_path, truth, "x.mp4,1\ny.mp4,7.5\nz.mp4,3", protocol="kvq", strict=True)
    assert msg.endswith("1 score value outside the prediction range [0, 5]; first: 'y.mp4'=7.5")


@pytest.mark.parametrize("protocol, truth_text, pred_text", [
    ("evqa", "Id,ECR\na,0.1\nb,0.5\nc,0.9", "Id,ECR\na,-0.1\nb,0.5\nc,1.2"),
    ("kvq", "filename,score\nx.mp4,1\ny.mp4,2\nz.mp4,3", "filename,score\nx.mp4,1\ny.mp4,2\nz.mp4,5.5"),
    ("ntire2024", "filename,score\nx.mp4,1\ny.mp4,2\nz.mp4,3", "filename,score\nx.mp4,-1\ny.mp4,2\nz.mp4,3"),
    ("snapugc", "Id,NAWP,ECR\na,0.1,0.2\nb,0.5,0.4\nc,0.9,0.8", "Id,NAWP,ECR\na,0.1,1.3\nb,0.5,0.4\nc,0.9,0.8"),
])
def test_each_protocol_warns_then_strict_refuses(tmp_path, protocol, truth_text, pred_text):
    truth = write(tmp_path / "t.csv", truth_text)
    pred = write(tmp_path / "p.csv", pred_text)
    res = run_cli("--protocol", protocol, "--pred", str(pred), "--truth", str(truth), "--bootstrap", "0")
    assert res.exit_code == 0, res.output
    assert "outside the prediction range" in res.stderr and "warning:" in res.stderr
    res = run_cli("--protocol", protocol, "--pred", str(pred), "--truth", str(truth), "--bootstrap", "0", "--strict")
    assert res.exit_code == 1 and "outside the prediction range" in res.stderr


def test_bad_pairs_and_durations(tmp_path):
    truth = write(tmp_path / "truth.csv", "filename,score\nx.mp4,1\ny.mp4,2\nz.mp4,3")
    pred = write(tmp_path / "pred.csv", "x.mp4,1\ny.mp4,2\nz.mp4,3")
    bad_rank = write_xlsx(tmp_path / "p1.xlsx", {"source": [["x.mp4", "y.mp4", 3]], "nonsource": [["x.mp4", "z.mp4", 1]]})
    with pytest.raises(SubmissionError, match=r"p1.xlsx: 1 pair row need \(video1, video2, rank 1 or 2\); first: 'source!row 1'"):
        evaluate("kvq", pred, truth, pairs=bad_rank, n_boot=0)
    no_sheet = write_xlsx(tmp_path / "p2.xlsx", {"source": [["x.mp4", "y.mp4", 1]]})
    with pytest.raises(SubmissionError, match="p2.xlsx: missing sheet\\(s\\) nonsource; found source"):
        evaluate("kvq", pred, truth, pairs=no_sheet, n_boot=0)
    unknown = write(tmp_path / "p3.csv", "video1,video2,better,homologous\nx.mp4,q.mp4,1,1\ny,z,2,0")
    with pytest.raises(SubmissionError, match=r"p3.csv: 1 pair video not in the truth; first: q.mp4 \(line 2\)"):
        evaluate("kvq", pred, truth, pairs=unknown, n_boot=0)
    corrupt = tmp_path / "p4.xlsx"
    corrupt.write_bytes(b"not a zip")
    with pytest.raises(SubmissionError, match="p4.xlsx: unreadable xlsx"):
        evaluate("kvq", pred, truth, pairs=corrupt, n_boot=0)
    snap_t = write(tmp_path / "st.csv", "Id,ECR\na,0.1\nb,0.2\nc,0.3")
    snap_p = write(tmp_path / "sp.csv", "Id,ECR\na,0.1\nb,0.2\nc,0.3")
    durs = write(tmp_path / "d.csv", "Id,duration_s\na,10\nb,0")
    with pytest.raises(SubmissionError, match=r"d.csv: 1 duration not > 0; first ids: 'b'"):
        evaluate("snapugc", snap_p, snap_t, durations=durs, n_boot=0)
    durs = write(tmp_path / "d.csv", "Id,duration_s\na,10\nb,12")
    with pytest.raises(SubmissionError, match=r"d.csv: 1 truth id without a duration \(first: 'c'\)"):
        evaluate("snapugc", snap_p, snap_t, durations=durs, n_boot=0)


def test_snapugc_needs_a_target_column(tmp_path):
    truth = write(tmp_path / "t.csv", "Id,NAWP,ECR\na,0.1,0.1\nb,0.2,0.2\nc,0.3,0.3")
    msg = _err(tmp_path, truth, "Id,score\na,1\nb,2\nc,3", protocol="snapugc")
    assert "wrong header: expected Id and at least one of NAWP,ECR" in msg


def test_cli_exit_1_with_one_line_and_no_report(tmp_path, truth):
    pred = write(tmp_path / "pred.csv", "Id,ECR\na,0.1\nb,nan\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7")
    res = run_cli("--protocol", "evqa", "--pred", str(pred), "--truth", str(truth), "--report", str(tmp_path / "rep"))
    assert res.exit_code == 1
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert lines == [f"error: {pred}: 1 NaN or infinite ECR value; first ids: 'b'"]
    assert not (tmp_path / "rep").exists()


def test_real_console_entry_point(tmp_path, truth):
    pred = write(tmp_path / "pred.csv", "Id,ECR\na,0.1\nb,0.2\nc,0.3\nd,0.4\ne,0.5\nf,0.6")
    proc = subprocess.run(
        [sys.executable, "-m", "reelscore", "evaluate", "-p", "evqa", "--pred", str(pred), "--truth", str(truth)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "1 truth id missing from the prediction (first: 'g')" in proc.stderr


def test_report_temp_left_by_a_killed_run_is_removed_by_the_next(tmp_path, truth):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout)
    stale = tmp_path / f".rep.{dead}.abc123.tmp"
    stale.mkdir()
    (stale / "metrics.json").write_text("{half")
    pred = write(tmp_path / "pred.csv", "Id,ECR\na,0.1\nb,0.2\nc,0.3\nd,0.4\ne,0.5\nf,0.6\ng,0.7")
    res = run_cli("--protocol", "evqa", "--pred", str(pred), "--truth", str(truth), "--report", str(tmp_path / "rep"),
                  "--bootstrap", "0")
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "rep" / "metrics.json").is_file() and not stale.exists()
