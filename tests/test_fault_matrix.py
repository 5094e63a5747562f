"""Cells of docs/reliability.md's fault matrix that had no test: zero-duration and empty inputs for
degrade / extract / mos, non-UTF-8 tables for mos / train / labels, unreadable paths, duplicate manifest
ids, kill -9 in the middle of degrade, and a full disk (a file-size limit) while a verb writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from reelscore.cli import app

pytestmark = pytest.mark.timeout(600)
ENV = dict(os.environ, REELSCORE_NO_PROGRESS="1")


def _cli(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reelscore", *args], capture_output=True, text=True, env=ENV, **kw)


def _one_line(stderr: str, *must: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert lines and "Traceback" not in stderr, stderr
    line = lines[-1]
    for m in must:
        assert m in line, (m, line)
    return line


def _temps(d: Path) -> list[Path]:
    return [p for p in d.rglob(".*") if ".tmp" in p.name]


def _latin1(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("latin-1"))
    return path


def _videos(d: Path) -> list[Path]:
    return [v for v in (d / "videos").glob("*.mp4") if not v.name.startswith(".")]


# ---- degrade ------------------------------------------------------------------------------------
def test_degrade_empty_and_zero_duration_sources_are_one_line_each_and_the_batch_goes_on(test_media, tmp_path):
    from reelscore.workflows.degrade import DegradeConfig, degrade

    good = test_media["portrait_h264"]
    s = degrade([test_media["empty"], test_media["zero_duration"], good], tmp_path / "out",
                DegradeConfig(per_source=1, label="none"))
    assert s["sources_failed"] == 2 and s["videos"] == 1
    errs = pd.read_csv(tmp_path / "out" / "errors.csv")
    assert set(errs["stage"]) == {"source"}
    for name in ("empty", "zero_duration"):
        line = errs.loc[errs["source"] == str(test_media[name]), "message"].iloc[0]
        assert str(test_media[name]) in line and "zero_duration" in line and "\n" not in line


def test_degrade_killed_then_rerun_gives_the_uninterrupted_result(tmp_path):
    from reelscore.media.synth import make_clip

    srcs = [make_clip(tmp_path / f"s{i}.mp4", seconds=2.0, width=96, height=64, fps=15, seed=i, audio=False) for i in range(2)]
    args = ["degrade", *map(str, srcs), "--per-source", "3", "--label-runs", "1", "--no-label-cache"]
    killed = tmp_path / "killed"
    p = subprocess.Popen([sys.executable, "-m", "reelscore", *args, "-o", str(killed)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and len(_videos(killed)) < 2:
        time.sleep(0.05)
    assert p.poll() is None, "degrade ended before it could be killed"
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    assert not (killed / "labels.csv").exists()  # nothing claims to be complete
    import av

    for v in _videos(killed):  # every finished video there is whole
        with av.open(str(v)) as c:
            assert sum(1 for _ in c.decode(video=0)) == 30
    r = _cli([*args, "-o", str(killed)])
    assert r.returncode == 0, r.stderr
    whole = tmp_path / "whole"
    assert _cli([*args, "-o", str(whole)]).returncode == 0
    a, b = pd.read_csv(killed / "labels.csv"), pd.read_csv(whole / "labels.csv")
    pd.testing.assert_frame_equal(a.drop(columns=["path"]), b.drop(columns=["path"]), check_exact=False, rtol=1e-6)
    assert _temps(killed) == []


# ---- mos ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["empty", "latin1", "missing", "directory"])
def test_mos_unusable_ratings_file_is_one_line_and_writes_nothing(case, tmp_path):
    src = tmp_path / "ratings.csv"
    if case == "empty":
        src.write_text("")
    elif case == "latin1":
        _latin1(src, "rater,video,score\nAndré,vidéo_1,4\n")
    elif case == "directory":
        src = tmp_path / "adir"
        src.mkdir()
    out = tmp_path / "mos.csv"
    r = CliRunner().invoke(app, ["mos", str(src), "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert str(src) in r.output.strip().splitlines()[-1]
    assert not out.exists() and _temps(tmp_path) == []


def test_mos_zero_rows_after_header_is_one_line(tmp_path):
    src = tmp_path / "ratings.csv"
    src.write_text("rater,video,score\n")
    r = CliRunner().invoke(app, ["mos", str(src), "--out", str(tmp_path / "mos.csv")])
    assert r.exit_code != 0 and "Traceback" not in r.output, r.output
    assert not (tmp_path / "mos.csv").exists()


# ---- train --------------------------------------------------------------------------------------
def test_train_quality_non_utf8_labels_is_one_line(tmp_path):
    lab = _latin1(tmp_path / "labels.csv", "name,source,mos\nvidéo.mp4,s,3.0\n")
    r = CliRunner().invoke(app, ["train", "quality", "--labels", str(lab), "--features", str(tmp_path / "store"),
                                 "--out", str(tmp_path / "m")])
    assert r.exit_code == 2, r.output
    line = r.output.strip().splitlines()[-1]
    assert str(lab) in line and "UTF-8" in line
    assert not (tmp_path / "m").exists()


def test_train_engagement_non_utf8_labels_is_one_line(tmp_path):
    lab = _latin1(tmp_path / "text.csv", "Id,Title,Description,ECR\n1,Café,crème brûlée,0.5\n")
    r = CliRunner().invoke(app, ["train", "engagement", "--model", "text", "--labels", str(lab), "--out", str(tmp_path / "m")])
    assert r.exit_code == 2, r.output
    line = r.output.strip().splitlines()[-1]
    assert str(lab) in line and "UTF-8" in line
    assert not (tmp_path / "m").exists()


# ---- labels -------------------------------------------------------------------------------------
def test_labels_non_utf8_log_is_one_line(tmp_path):
    log = _latin1(tmp_path / "log.csv", "video_id,watch_time_s,duration_s\nvidéo,3.0,10.0\n")
    r = CliRunner().invoke(app, ["labels", str(log), "--out", str(tmp_path / "l.parquet"), "--min-views", "1"])
    assert r.exit_code != 0, r.output
    assert str(log) in r.output.strip().splitlines()[-1] and "Traceback" not in r.output
    assert not (tmp_path / "l.parquet").exists()


# ---- extract ------------------------------------------------------------------------------------
def test_extract_zero_duration_is_an_error_row_and_the_batch_goes_on(test_media, tmp_path):
    from reelscore.features.pipeline import extract
    from reelscore.features.store import FeatureStore

    m = pd.DataFrame({"video_id": ["z", "e", "g"], "path": [str(test_media["zero_duration"]), str(test_media["empty"]),
                                                          str(test_media["portrait_h264"])]})
    s = extract(m, tmp_path / "store", extractors=["technical"], progress=False)
    assert s["done"] == 1 and s["failed"] == 2
    errs = FeatureStore(tmp_path / "store").errors()
    assert set(errs["video_id"]) == {"z", "e"}
    assert errs["message"].str.contains("zero_duration").all()


def test_extract_manifest_with_duplicate_ids_is_one_line_and_nothing_runs(test_media, tmp_path):
    csv = tmp_path / "m.csv"
    pd.DataFrame({"video_id": ["a", "a"], "path": [str(test_media["portrait_h264"])] * 2}).to_csv(csv, index=False)
    r = CliRunner().invoke(app, ["extract", str(csv), "--out", str(tmp_path / "store"), "-e", "technical"])
    assert r.exit_code == 2, r.output
    line = r.output.strip().splitlines()[-1]
    assert str(csv) in line and "duplicate" in line and line.endswith("a")
    assert not (tmp_path / "store" / "rows").exists()


# ---- disk full ----------------------------------------------------------------------------------
def _with_file_size_limit(n_bytes: int, argv: list[str]) -> list[str]:
    # set in a fresh interpreter that then becomes `argv` (a preexec_fn can hang the child when pytest has threads);
    # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG as on a full disk
    code = "import os,resource,sys; n=int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_FSIZE,(n,n)); os.execv(sys.argv[2],sys.argv[2:])"
    return [sys.executable, "-c", code, str(n_bytes), *argv]


def test_full_disk_while_writing_is_one_line_and_leaves_nothing(tmp_path):
    from reelscore.labels.simulate import simulate_views

    simulate_views(300, 2000, tmp_path / "log.parquet", seed=2, show_progress=False)
    out = tmp_path / "out" / "labels.csv"
    out.parent.mkdir()
    r = subprocess.run(_with_file_size_limit(4096, [sys.executable, "-m", "reelscore", "labels", str(tmp_path / "log.parquet"),
                                                    "--out", str(out), "--min-views", "1"]), capture_output=True, text=True, env=ENV)
    assert r.returncode == 1, r.stderr
    _one_line(r.stderr, "no room left")
    assert not out.exists() and _temps(out.parent) == []
    # the same run with room gives the labels
    ok = _cli(["labels", str(tmp_path / "log.parquet"), "--out", str(out), "--min-views", "1"])
    assert ok.returncode == 0 and len(pd.read_csv(out)) == 300


def test_full_disk_while_scoring_to_csv_is_one_line_and_leaves_nothing(tmp_path):
    rows = "\n".join(f"v{i},{'t' * 400}" for i in range(40))
    lab = tmp_path / "pred_in.csv"
    lab.write_text("Id,Title\n" + rows + "\n")
    out = tmp_path / "o" / "mos.csv"
    out.parent.mkdir()
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("rater,video,score\n" + "\n".join(f"r{r},video_with_a_long_name_{v:04d},{(v + r) % 5 + 1}"
                                                          for r in range(5) for v in range(400)) + "\n")
    r = subprocess.run(_with_file_size_limit(2048, [sys.executable, "-m", "reelscore", "mos", str(ratings), "--out", str(out),
                                                    "--no-bt500"]), capture_output=True, text=True, env=ENV)
    assert r.returncode == 1, r.stderr
    _one_line(r.stderr, "no room left")
    assert not out.exists() and _temps(out.parent) == []


# ---- train quality / predict / score: kill -9, error rows, huge input -----------------------------
@pytest.fixture(scope="module")
def quality_store(tmp_path_factory):
    from reelscore.features.pipeline import extract
    from reelscore.media.synth import make_clip

    d = tmp_path_factory.mktemp("qstore")
    rows = []
    (d / "videos").mkdir()
    for s in range(3):
        for crf in (8, 32, 51):
            name = f"s{s}__crf{crf}.mp4"
            make_clip(d / "videos" / name, seconds=1.0, width=64, height=112, fps=8, audio=False, seed=s, crf=crf)
            rows.append({"name": name, "source": f"s{s}", "workflow": "transcode", "steps": f"crf={crf}", "qp": crf,
                         "path": f"videos/{name}", "mos": 5.0 - 4.0 * crf / 51})
    pd.DataFrame(rows).to_csv(d / "labels.csv", index=False)
    broken = d / "videos" / "broken.mp4"
    broken.write_bytes((d / "videos" / "s0__crf8.mp4").read_bytes()[:600])  # truncated
    ids = [Path(r["name"]).stem for r in rows] + ["broken"]
    m = pd.DataFrame({"video_id": ids, "path": [str(d / "videos" / f"{i}.mp4") for i in ids]})  # extract()'s frame
    extract(m, d / "store", extractors=["technical"], progress=False)
    return d


def test_train_quality_killed_leaves_no_half_model_and_a_rerun_is_whole(quality_store, tmp_path):
    d = quality_store
    out = tmp_path / "m"
    base = ["train", "quality", "--labels", str(d / "labels.csv"), "--out", str(out)]
    p = subprocess.Popen([sys.executable, "-m", "reelscore", *base, "--model", "ksvqe", "--preset", "tiny", "--epochs", "200"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    time.sleep(12)  # well into training (imports and the first folds take a few seconds)
    assert p.poll() is None, "training ended before it could be killed"
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    assert not out.exists()  # the model directory appears whole or not at all
    r = _cli([*base, "--features", str(d / "store"), "--model", "light", "--extractors", "technical"])
    assert r.returncode == 0, r.stderr
    from reelscore.models.registry import load_model

    assert load_model(out).kind == "light" and _temps(tmp_path) == []


def test_predict_names_videos_whose_media_failed_and_predicts_the_rest(quality_store, tmp_path):
    d = quality_store
    model = tmp_path / "m"
    assert _cli(["train", "quality", "--labels", str(d / "labels.csv"), "--features", str(d / "store"), "--model", "light",
                 "--extractors", "technical", "--out", str(model), "--no-cv"]).returncode == 0
    out = tmp_path / "pred.csv"
    r = _cli(["predict", "--model", str(model), "--features", str(d / "store"), "--out", str(out)])
    assert r.returncode in (0, 1), r.stderr
    got = pd.read_csv(out)
    assert len(got) == 9 and "broken" not in set(got["Id"].astype(str))
    assert "broken" in r.stderr and "Traceback" not in r.stderr


def test_score_refuses_a_huge_frame_in_one_line_and_scores_the_rest(tmp_path):
    from reelscore.media.synth import make_clip

    big = make_clip(tmp_path / "big.mp4", frames=1, width=4112, height=4112, fps=1, audio=False, seconds=1.0)
    good = make_clip(tmp_path / "good.mp4", seconds=1.0, width=64, height=112, fps=8, audio=False)
    out = tmp_path / "s.csv"
    r = _cli(["score", str(big), str(good), "--no-timeline", "-o", str(out)])
    assert r.returncode == 1, r.stderr
    line = next(ln for ln in r.stderr.splitlines() if "big.mp4" in ln)
    assert "too_large" in line or "too large" in line
    got = pd.read_csv(out)
    assert got.loc[got["Id"] == "good", "MOS"].notna().all()


def test_extract_refuses_a_huge_frame_as_an_error_row(tmp_path):
    from reelscore.features.pipeline import extract
    from reelscore.features.store import FeatureStore
    from reelscore.media.synth import make_clip

    big = make_clip(tmp_path / "big.mp4", frames=1, width=4112, height=4112, fps=1, audio=False, seconds=1.0)
    good = make_clip(tmp_path / "good.mp4", seconds=1.0, width=64, height=112, fps=8, audio=False)
    s = extract(pd.DataFrame({"video_id": ["big", "good"], "path": [str(big), str(good)]}), tmp_path / "store",
                extractors=["technical"], progress=False)
    assert s["done"] == 1 and s["failed"] == 1
    errs = FeatureStore(tmp_path / "store").errors()
    assert set(errs["video_id"]) == {"big"} and errs["message"].str.contains("too_large").all()


def test_labels_on_a_log_larger_than_its_memory_limit_equals_the_unlimited_run(tmp_path):
    """A 'huge' log for the memory given: DuckDB spills to disk under a 64 MB limit and the labels are the same."""
    from reelscore.labels import compute_labels
    from reelscore.labels.simulate import simulate_views

    simulate_views(2000, 600, tmp_path / "log.parquet", seed=3, show_progress=False)  # 1.2 M views
    out = tmp_path / "l.parquet"
    r = _cli(["labels", str(tmp_path / "log.parquet"), "--out", str(out), "--min-views", "1", "--memory-limit", "64MB"])
    assert r.returncode == 0, r.stderr
    want, _ = compute_labels(tmp_path / "log.parquet", min_views=1, show_progress=False)
    got = pd.read_parquet(out)
    key = want.columns[0]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True), want.sort_values(key).reset_index(drop=True),
                                  check_dtype=False)


def test_score_manifest_with_duplicate_ids_is_one_line_and_loads_nothing(tmp_path):
    from reelscore.media.synth import make_clip

    clip = make_clip(tmp_path / "a.mp4", seconds=1.0, width=64, height=112, fps=8, audio=False)
    m = tmp_path / "m.csv"
    pd.DataFrame({"Id": ["a", "a"], "path": [str(clip)] * 2}).to_csv(m, index=False)
    r = CliRunner().invoke(app, ["score", "--manifest", str(m), "-o", str(tmp_path / "s.csv")])
    assert r.exit_code == 2, r.output
    line = r.output.strip().splitlines()[-1]
    assert str(m) in line and "duplicate" in line
    assert not (tmp_path / "s.csv").exists()


# ---- cells filled in session 4: corrupt / empty / huge / missing / NaN for the verbs left ----------
def _binary(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 40)  # not text in any encoding a table reader accepts
    return path


def _last_line(output: str) -> str:
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    assert lines and "Traceback" not in output, output
    return lines[-1]


@pytest.mark.parametrize("case", ["corrupt", "empty", "missing_labels", "missing_store"])
def test_train_quality_unusable_inputs_are_one_line_and_leave_no_model(case, quality_store, tmp_path):
    d = quality_store
    labels, store = d / "labels.csv", d / "store"
    if case == "corrupt":
        labels = _binary(tmp_path / "labels.csv")
    elif case == "empty":
        labels = tmp_path / "labels.csv"
        labels.write_text("name,source,mos\n")
    elif case == "missing_labels":
        labels = tmp_path / "nosuch.csv"
    else:
        store = tmp_path / "nosuch_store"
    out = tmp_path / "m"
    r = CliRunner().invoke(app, ["train", "quality", "--labels", str(labels), "--features", str(store), "--model", "light",
                                 "--extractors", "technical", "--out", str(out), "--no-cv"])
    assert r.exit_code == 2, r.output
    line = _last_line(r.output)
    assert str(store if case == "missing_store" else labels) in line
    assert not out.exists() and _temps(tmp_path) == []


def test_train_quality_on_a_huge_labels_file_trains_on_the_videos_with_features(quality_store, tmp_path):
    """200,000 label rows of which 9 have features: the model is fit on those 9 and the rest are counted, not silent."""
    d = quality_store
    lab = pd.read_csv(d / "labels.csv")
    extra = pd.DataFrame({"name": [f"other_{i}.mp4" for i in range(200_000)], "source": [f"o{i % 5000}" for i in range(200_000)],
                          "mos": 3.0})
    big = tmp_path / "labels.csv"
    pd.concat([lab, extra]).to_csv(big, index=False)
    out = tmp_path / "m"
    r = _cli(["train", "quality", "--labels", str(big), "--features", str(d / "store"), "--model", "light",
              "--extractors", "technical", "--out", str(out), "--no-cv"])
    assert r.returncode == 0, r.stderr
    assert "200000 of 200009 labelled videos have no features" in r.stderr and "training on 9" in r.stderr
    assert "Traceback" not in r.stderr and (out / "model.json").is_file()


def test_train_quality_nan_and_inf_labels_are_skipped_and_counted(tmp_path):
    from reelscore.workflows.quality_data import read_quality_labels

    p = tmp_path / "labels.csv"
    p.write_text("name,source,mos\na.mp4,s,3.5\nb.mp4,s,nan\nc.mp4,s,inf\nd.mp4,s,-inf\ne.mp4,s,\nf.mp4,s,4.0\n")
    lab = read_quality_labels(p)
    assert lab.index.tolist() == ["a", "f"]


def test_train_engagement_corrupt_labels_is_one_line(tmp_path):
    lab = _binary(tmp_path / "text.csv")
    r = CliRunner().invoke(app, ["train", "engagement", "--model", "text", "--labels", str(lab), "--out", str(tmp_path / "m")])
    assert r.exit_code == 2, r.output
    assert str(lab) in _last_line(r.output)
    assert not (tmp_path / "m").exists()


def test_train_engagement_with_a_huge_title_trains_and_predicts(tmp_path):
    """One title of 1 MB of text among ordinary ones: the text model trains and predicts every row."""
    words = ["skate", "cat", "recipe", "goal", "dance", "prank", "tutorial", "sunset"]
    rng = __import__("random").Random(0)
    rows = [{"Id": f"v{i}", "Title": " ".join(rng.choice(words) for _ in range(5)), "Description": "",
             "ECR": round(rng.random(), 3)} for i in range(40)]
    rows[3]["Title"] = ("very long title " * 70_000)[:1_000_000]
    lab = tmp_path / "text.csv"
    pd.DataFrame(rows).to_csv(lab, index=False)
    model = tmp_path / "m"
    r = _cli(["train", "engagement", "--model", "text", "--labels", str(lab), "--out", str(model), "--no-curve"])
    assert r.returncode == 0, r.stderr
    out = tmp_path / "p.csv"
    r = _cli(["predict", "--model", str(model), "--manifest", str(lab), "--out", str(out)])
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(out)
    assert len(got) == 40 and got["ECR"].notna().all()


@pytest.mark.parametrize("case", ["header_only", "missing_manifest", "missing_store"])
def test_predict_unusable_inputs_are_one_line_and_write_nothing(case, tmp_path):
    m = tmp_path / "m.csv"
    args = ["predict", "--model", "default"]
    if case == "header_only":
        m.write_text("Id,Title,Description\n")
        args += ["--manifest", str(m)]
        named = m
    elif case == "missing_manifest":
        args += ["--manifest", str(tmp_path / "nosuch.csv")]
        named = tmp_path / "nosuch.csv"
    else:
        args = ["predict", "--model", "quality-default", "--features", str(tmp_path / "nosuch_store")]
        named = tmp_path / "nosuch_store"
    out = tmp_path / "p.csv"
    r = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert str(named) in _last_line(r.output)
    assert not out.exists() and _temps(tmp_path) == []


def test_predict_manifest_with_a_missing_video_names_it_and_predicts_the_rest(tmp_path):
    from reelscore.media.synth import make_clip

    good = make_clip(tmp_path / "good.mp4", seconds=1.0, width=64, height=112, fps=8, audio=False)
    m = tmp_path / "m.csv"
    pd.DataFrame({"Id": ["good", "gone"], "path": [str(good), str(tmp_path / "gone.mp4")]}).to_csv(m, index=False)
    out = tmp_path / "p.csv"
    r = _cli(["predict", "--model", "quality-default", "--manifest", str(m), "--out", str(out)])
    assert r.returncode == 1, r.stderr
    line = next(ln for ln in r.stderr.splitlines() if "gone" in ln)
    assert "not predicted" in line and "not_found" in line.replace(" ", "_")
    got = pd.read_csv(out)
    assert got["Id"].tolist() == ["good"] and got["MOS"].notna().all()


def test_predict_with_a_huge_title_predicts_every_row(tmp_path):
    m = tmp_path / "m.csv"
    pd.DataFrame({"Id": ["a", "b"], "Title": ["x" * 2_000_000, "a cat"], "Description": ["", "jumps"]}).to_csv(m, index=False)
    out = tmp_path / "p.csv"
    r = _cli(["predict", "--model", "default", "--manifest", str(m), "--out", str(out)])
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(out)
    assert got["Id"].tolist() == ["a", "b"] and got["ECR"].between(0, 1).all()


def test_mos_corrupt_ratings_is_one_line_and_writes_nothing(tmp_path):
    src = _binary(tmp_path / "ratings.csv")
    out = tmp_path / "mos.csv"
    r = CliRunner().invoke(app, ["mos", str(src), "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert str(src) in _last_line(r.output)
    assert not out.exists()


def test_mos_on_many_ratings_equals_an_independent_mean(tmp_path):
    """120,000 ratings (300 raters x 400 videos): MOS equals the plain per-video mean when nothing is screened."""
    import numpy as np

    rng = np.random.default_rng(0)
    raters, videos = np.meshgrid(np.arange(300), np.arange(400), indexing="ij")
    score = np.clip(np.round(3 + (videos.ravel() % 5 - 2) * 0.5 + rng.normal(0, 1, raters.size)), 1, 5)
    df = pd.DataFrame({"rater": [f"r{r}" for r in raters.ravel()], "video": [f"v{v:03d}" for v in videos.ravel()],
                       "score": score})
    src = tmp_path / "ratings.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "mos.csv"
    r = _cli(["mos", str(src), "--out", str(out), "--no-bt500", "--no-ci-removal"])
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(out).set_index("Id")["mos"]
    want = df.groupby("video")["score"].mean()
    assert len(got) == 400
    np.testing.assert_allclose(got.loc[want.index].to_numpy(), want.to_numpy(), atol=1e-9)


def test_evaluate_on_half_a_million_rows_equals_scipy(tmp_path):
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(1)
    n = 500_000
    t = rng.random(n)
    p = np.clip(t + rng.normal(0, 0.2, n), 0, 1)
    ids = [f"v{i}" for i in range(n)]
    pd.DataFrame({"Id": ids, "ECR": p}).to_csv(tmp_path / "pred.csv", index=False)
    pd.DataFrame({"Id": ids, "ECR": t}).to_csv(tmp_path / "truth.csv", index=False)
    r = _cli(["evaluate", "--protocol", "evqa", "--pred", str(tmp_path / "pred.csv"), "--truth", str(tmp_path / "truth.csv"),
              "--bootstrap", "0", "--json"])
    assert r.returncode == 0, r.stderr
    import json

    res = json.loads(r.stdout)
    flat = json.dumps(res)
    assert str(n) in flat
    want = stats.spearmanr(p, t).statistic

    def find(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k.upper() in ("SRCC", "SROCC") and isinstance(v, (int, float)):
                    return v
                if isinstance(v, dict) and k.upper() in ("SRCC", "SROCC") and "value" in v:
                    return v["value"]
                got = find(v)
                if got is not None:
                    return got
        return None

    assert find(res) == pytest.approx(want, abs=1e-9)


def test_degrade_sources_with_the_same_name_get_distinct_versions(tmp_path):
    from reelscore.media.synth import make_clip
    from reelscore.workflows.degrade import DegradeConfig, degrade

    a = make_clip((tmp_path / "a").joinpath("clip.mp4") if (tmp_path / "a").mkdir() is None else None, seconds=1.0,
                  width=64, height=48, fps=8, audio=False, seed=1)
    b = make_clip((tmp_path / "b").joinpath("clip.mp4") if (tmp_path / "b").mkdir() is None else None, seconds=1.0,
                  width=64, height=48, fps=8, audio=False, seed=2)
    s = degrade([a, b], tmp_path / "out", DegradeConfig(per_source=1, label="none"))
    assert s["videos"] == 2
    lab = pd.read_csv(tmp_path / "out" / "labels.csv")
    assert lab["name"].is_unique and lab["source"].nunique() == 2
    assert set(lab["source_path"]) == {str(a.resolve()), str(b.resolve())}


def test_degrade_huge_source_is_one_line_and_the_batch_goes_on(tmp_path):
    from reelscore.media.synth import make_clip
    from reelscore.workflows.degrade import DegradeConfig, degrade

    big = make_clip(tmp_path / "big.mp4", frames=1, width=4112, height=4112, fps=1, audio=False, seconds=1.0)
    good = make_clip(tmp_path / "good.mp4", seconds=1.0, width=64, height=48, fps=8, audio=False)
    s = degrade([big, good], tmp_path / "out", DegradeConfig(per_source=1, label="none"))
    assert s["sources_failed"] == 1 and s["videos"] == 1
    errs = pd.read_csv(tmp_path / "out" / "errors.csv")
    line = errs["message"].iloc[0]
    assert str(big) in line and "too_large" in line and "\n" not in line


def test_score_manifest_empty_title_cells_are_no_title_not_the_word_nan(tmp_path):
    from reelscore.media.synth import make_clip

    clip = make_clip(tmp_path / "a.mp4", seconds=1.0, width=64, height=112, fps=8, audio=False)
    m = tmp_path / "m.csv"
    m.write_text(f"Id,path,title,description\na,{clip},,\n")
    r = CliRunner().invoke(app, ["score", "--manifest", str(m), "--json", "--no-timeline"])
    assert r.exit_code == 0, r.output
    import json

    row = json.loads(next(ln for ln in r.stdout.splitlines() if ln.startswith("{")))
    assert row["title"] in (None, "") and row["description"] in (None, "")
    plain = CliRunner().invoke(app, ["score", str(clip), "--json", "--no-timeline"])
    ref = json.loads(next(ln for ln in plain.stdout.splitlines() if ln.startswith("{")))
    assert row["scores"]["ecr"]["value"] == ref["scores"]["ecr"]["value"]


def test_score_non_utf8_manifest_is_one_line_and_loads_nothing(tmp_path):
    m = _latin1(tmp_path / "m.csv", f"Id,path,title\na,{tmp_path / 'a.mp4'},café\n")
    r = CliRunner().invoke(app, ["score", "--manifest", str(m), "-o", str(tmp_path / "s.csv")])
    assert r.exit_code == 2, r.output
    line = _last_line(r.output)
    assert str(m) in line and "UTF-8" in line
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see which clip is being read")
def test_score_killed_mid_batch_leaves_no_csv_and_a_rerun_is_whole(tmp_path):
    from reelscore.media.synth import make_clip

    clips = [make_clip(tmp_path / f"c{i}.mp4", seconds=2.0, width=96, height=160, fps=10, audio=True, seed=i) for i in range(12)]
    out = tmp_path / "o" / "s.csv"
    args = ["score", *map(str, clips), "-o", str(out)]
    p = subprocess.Popen([sys.executable, "-m", "reelscore", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=ENV)

    def family() -> list[int]:  # the process and its worker processes (12 clips: `score` starts workers)
        kids: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1]) if d.isdigit() else None
            except (OSError, IndexError, ValueError):
                continue
            if ppid is not None:
                kids.setdefault(ppid, []).append(int(d))
        out, todo = [], [p.pid]
        while todo:
            out.append(todo.pop())
            todo.extend(kids.get(out[-1], []))
        return out

    def reading_a_later_clip() -> bool:  # some process of the run has c3.mp4 or later open: mid-batch
        fds = []
        for pid in family():
            try:
                fds += [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            except OSError:
                continue
        return any(Path(f).name in {f"c{i}.mp4" for i in range(3, 12)} for f in fds)

    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and not reading_a_later_clip():
        time.sleep(0.01)
    assert p.poll() is None, "score ended before it could be killed"
    workers = [w for w in family() if w != p.pid]
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    assert not out.exists() and (not out.parent.exists() or _temps(out.parent) == [])
    deadline = time.time() + 30  # the workers do not outlive the run
    while time.time() < deadline and any(Path(f"/proc/{w}").exists() and "Z" not in Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0]
                                         for w in workers if Path(f"/proc/{w}").exists()):
        time.sleep(0.1)
    alive = [w for w in workers if Path(f"/proc/{w}").exists()
             and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert alive == [], f"worker processes left running: {alive}"
    r = _cli(args)
    assert r.returncode == 0, r.stderr
    assert len(pd.read_csv(out)) == 12 and _temps(out.parent) == []


def test_store_index_with_all_null_columns_from_an_older_writer_is_read(tmp_path):
    """An index file whose media_hash is null (a failed video, written by pandas as a `null` column) beside
    string-typed ones: reading unifies the schemas instead of failing the whole predict."""
    from reelscore.features.store import FeatureStore

    st = FeatureStore(tmp_path / "store")
    st.write_index("good", "/v/good.mp4", "abc", None)
    (tmp_path / "store" / "index").mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"video_id": ["gone"], "path": ["/v/gone.mp4"], "media_hash": [None], "text_hash": [None]},
                 dtype=object).to_parquet(tmp_path / "store" / "index" / "00old.parquet", index=False)
    idx = st.index()
    assert idx["video_id"].tolist() == ["gone", "good"]
    assert idx.set_index("video_id").at["good", "media_hash"] == "abc"
    assert pd.isna(idx.set_index("video_id").at["gone", "media_hash"])


def test_predict_rows_without_any_value_are_said_and_exit_1(tmp_path):
    """A store without the default engagement model's inputs (no coldsignal, no text): the rows are written
    (nothing dropped) but empty, the reason is printed, a `no value` line counts them, exit 1 - not a quiet 0."""
    from reelscore.features.pipeline import extract
    from reelscore.media.synth import make_clip

    clips = [make_clip(tmp_path / f"v{i}.mp4", seconds=1.0, width=64, height=112, fps=8, seed=i) for i in range(2)]
    extract(pd.DataFrame({"video_id": ["v0", "v1"], "path": [str(c) for c in clips]}), tmp_path / "store",
            extractors=["technical"], progress=False)
    out = tmp_path / "e.csv"
    r = _cli(["predict", "--model", "default", "--features", str(tmp_path / "store"), "--out", str(out)])
    assert r.returncode == 1, r.stderr
    assert "no value: 2 of 2 rows have no ECR (first: 'v0'" in r.stderr and "coldsignal" in r.stderr
    got = pd.read_csv(out)
    assert got["Id"].tolist() == ["v0", "v1"] and got["ECR"].isna().all()
