"""kill -9 in the middle of `labels` and `train engagement`: no half-written output, and a rerun starts clean."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

pytestmark = pytest.mark.timeout(600)


def _run_and_kill(args: list[str], after_s: float) -> int | None:
    env = dict(os.environ, REELSCORE_NO_PROGRESS="1")
    p = subprocess.Popen([sys.executable, "-m", "reelscore", *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    time.sleep(after_s)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
    return p.wait(60)


def _temps(d) -> list:
    return [p for p in d.rglob(".*") if ".tmp" in p.name]


def test_labels_killed_then_rerun(tmp_path):
    from reelscore.labels import compute_labels
    from reelscore.labels.simulate import simulate_views

    simulate_views(400, 3000, tmp_path / "log.parquet", seed=1, show_progress=False)
    out = tmp_path / "out" / "labels.parquet"
    codes = []
    for after in (1.0, 2.0, 3.0):
        codes.append(_run_and_kill(["labels", str(tmp_path / "log.parquet"), "--out", str(out), "--min-views", "1"], after))
        if out.exists():  # whatever was written is whole
            assert len(pd.read_parquet(out)) == 400
    r = subprocess.run([sys.executable, "-m", "reelscore", "labels", str(tmp_path / "log.parquet"), "--out", str(out),
                        "--min-views", "1"], capture_output=True, text=True, env=dict(os.environ, REELSCORE_NO_PROGRESS="1"))
    assert r.returncode == 0, r.stderr
    want, _ = compute_labels(tmp_path / "log.parquet", min_views=1, show_progress=False)
    got = pd.read_parquet(out)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)
    assert _temps(out.parent) == []  # a writer killed mid-write leaves nothing once the rerun is done
    assert any(c == -signal.SIGKILL for c in codes) or out.exists()


def test_stale_temp_of_a_dead_writer_is_removed_and_a_live_one_kept(tmp_path):
    from reelscore.common.atomic import clean_stale_temps, write_text_atomic

    dest = tmp_path / "x.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".x.json.{int(dead.stdout)}.abc.tmp.json"
    stale.write_text("half")
    live = tmp_path / f".x.json.{os.getpid()}.def.tmp.json"
    live.write_text("in progress")
    clean_stale_temps(dest)  # what a verb does for its output before writing
    write_text_atomic(dest, "{}")
    assert not stale.exists() and live.exists() and dest.read_text() == "{}"


def test_stale_temps_of_every_output_in_a_directory_are_removed_and_live_ones_kept(tmp_path):
    from reelscore.common.atomic import clean_stale_temps_in

    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout)
    stale = [tmp_path / f".a.b.mp4.{dead}.k2_x9q1.tmp.mp4", tmp_path / f".labels.csv.{dead}.zz.tmp.csv"]
    for p in stale:
        p.write_text("half")
    live = tmp_path / f".c.mp4.{os.getpid()}.def.tmp.mp4"
    live.write_text("in progress")
    other = tmp_path / ".hidden_note.tmp"  # not a temp of ours: no writer pid in its name
    other.write_text("keep")
    assert clean_stale_temps_in(tmp_path) == 2
    assert not any(p.exists() for p in stale) and live.exists() and other.exists()


def test_train_engagement_killed_leaves_no_model_dir(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    words = ["cat", "dog", "goal", "cake", "prank", "dance"]
    n = 600
    lab = pd.DataFrame({"Id": [f"v{i}" for i in range(n)],
                        "Title": [" ".join(rng.choice(words, 3)) for _ in range(n)],
                        "Description": "", "ECR": rng.random(n)})
    lab.to_csv(tmp_path / "l.csv", index=False)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("fields: [title, description]\nembeddings: false\nhandmade: true\nlearner: {learner: ensemble, ensemble: [ridge, gbdt, xgb]}\n")
    out = tmp_path / "m"
    _run_and_kill(["train", "engagement", "--model", "text", "--labels", str(tmp_path / "l.csv"), "--config", str(cfg),
                   "--folds", "5", "--out", str(out)], 2.5)
    if out.exists():  # finished before the kill: then it is whole
        assert (out / "model.json").is_file()
    r = subprocess.run([sys.executable, "-m", "reelscore", "train", "engagement", "--model", "text", "--labels",
                        str(tmp_path / "l.csv"), "--config", str(cfg), "--out", str(out)],
                       capture_output=True, text=True, env=dict(os.environ, REELSCORE_NO_PROGRESS="1"))
    assert r.returncode == 0, r.stderr
    from reelscore.models.registry import load_model

    assert load_model(out).kind == "text" and _temps(tmp_path) == []
