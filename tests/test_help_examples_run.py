"""Every example line in every verb's --help, run end to end in a sandbox that holds the files it names.

The examples are taken from the help text itself (`test_common_cli_help._examples`), so an example
that is edited, added or removed is what runs here. Each runs through a real shell (globs and `>`
work as written) in a folder of its own, made by a recipe that creates the files the example names:
generated clips, a simulated watch log, a small processed set, tables in the layouts the examples
assume. Only three things are changed, and each is said where it happens: absolute paths
(`/tmp/media`, `/var/lib/reelscore`) move into the sandbox, the Spark master `spark://host:7077`
(a cluster this machine does not have) becomes `local[1]`, and `serve`'s port becomes a free one;
`serve` is then asked for /v1/health and stopped with Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from test_common_cli_help import VERBS, _command, _examples

pytestmark = pytest.mark.timeout(900)

BIN = Path(sys.executable).parent  # the venv's bin: `reelscore` is there
ENV = dict(os.environ, REELSCORE_NO_PROGRESS="1", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
N_CLIPS = 8


# ---- the sandbox's shared material (made once) ------------------------------------------------
@pytest.fixture(scope="module")
def material(tmp_path_factory) -> dict[str, Path]:
    """Clips, a feature store, labels and a VMAF-labelled processed set, shared by the recipes."""
    from reelscore.features.pipeline import extract
    from reelscore.labels import compute_labels
    from reelscore.labels.simulate import simulate_views
    from reelscore.media.synth import make_clip

    d = tmp_path_factory.mktemp("material")
    vids = d / "videos"
    vids.mkdir()
    for i in range(N_CLIPS):
        make_clip(vids / f"v{i}.mp4", seconds=1.5, width=64, height=112, fps=10, seed=i, crf=18 + 4 * i)
    make_clip(d / "clip.mp4", seconds=2.0, width=96, height=160, fps=10, seed=40)
    make_clip(d / "b.webm", seconds=1.0, width=64, height=112, fps=10, seed=41, codec="vp9")
    srcs = d / "sources"
    srcs.mkdir()
    for i in range(3):
        make_clip(srcs / f"src{i}.mp4", seconds=1.0, width=64, height=48, fps=8, seed=50 + i, audio=False)
    manifest = pd.DataFrame({"Id": [f"v{i}" for i in range(N_CLIPS)],
                             "path": [str(vids / f"v{i}.mp4") for i in range(N_CLIPS)]})
    manifest.to_csv(d / "videos.csv", index=False)
    extract(manifest.rename(columns={"Id": "video_id"}), d / "store", progress=False)
    table = pd.DataFrame({"Id": manifest["Id"], "duration_s": 1.5})
    table.to_csv(d / "video_table.csv", index=False)
    simulate_views(N_CLIPS, 400, d / "store_views.parquet", seed=3, show_progress=False, video_table=d / "video_table.csv")
    lab, _ = compute_labels(d / "store_views.parquet", min_views=1, show_progress=False)
    lab.to_parquet(d / "labels.parquet", index=False)
    return {"d": d, "videos": vids, "sources": srcs, "store": d / "store", "labels": d / "labels.parquet"}


def _link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest)
    else:
        shutil.copy(src, dest)


def _sh(cmd: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, env=ENV, timeout=timeout)


# ---- recipes: what each example needs in its folder, and what it must leave ---------------------
@dataclass
class Recipe:
    setup: Callable[[Path, dict], None] = lambda cwd, m: None
    outputs: list[str] = field(default_factory=list)  # files/dirs the example must leave
    exit_codes: tuple[int, ...] = (0,)
    check: Callable[[Path, subprocess.CompletedProcess], None] | None = None
    note: str = ""


def _videos(cwd, m):
    _link(m["videos"], cwd / "videos")


def _clip(cwd, m):
    _link(m["d"] / "clip.mp4", cwd / "clip.mp4")


def _views(cwd, m, name="views.parquet"):
    from reelscore.labels.simulate import simulate_views

    simulate_views(60, 300, cwd / name, seed=1, show_progress=False)


def _csv_logs(cwd, m):
    from reelscore.labels.simulate import simulate_views

    # --fmax fit needs >= 5 videos of >= 2000 views (--min-views) in a 1-s duration bin
    simulate_views(400, 2000, cwd / "all.parquet", seed=2, show_progress=False)
    log = pd.read_parquet(cwd / "all.parquet")
    (cwd / "logs").mkdir()
    half = len(log) // 2
    log.iloc[:half].to_csv(cwd / "logs" / "day1.csv", index=False)
    log.iloc[half:].to_csv(cwd / "logs" / "day2.csv", index=False)
    vt = log.groupby("video_id", as_index=False)["duration_s"].first() if "duration_s" in log else None
    assert vt is not None, "the simulated log carries durations"
    vt.to_csv(cwd / "videos.csv", index=False)
    (cwd / "all.parquet").unlink()


def _manifest(cwd, m):
    _videos(cwd, m)
    pd.read_csv(m["d"] / "videos.csv").assign(path=lambda t: [f"videos/{i}.mp4" for i in t["Id"]]).to_csv(
        cwd / "videos.csv", index=False)


def _snap_manifest(cwd, m, name="train.csv"):
    _videos(cwd, m)
    pd.DataFrame({"Id": [f"v{i}" for i in range(N_CLIPS)], "Title": [f"clip number {i}" for i in range(N_CLIPS)],
                  "Description": ["made for a test"] * N_CLIPS}).to_csv(cwd / name, index=False)


def _store(cwd, m):
    _link(m["store"], cwd / "store")


def _evqa(cwd, m):
    rng = np.random.default_rng(0)
    t = rng.random(30)
    ids = [f"x{i}" for i in range(30)]
    pd.DataFrame({"Id": ids, "ECR": t}).to_csv(cwd / "truth.csv", index=False)
    pd.DataFrame({"Id": ids, "ECR": np.clip(t + rng.normal(0, 0.1, 30), 0, 1)}).to_csv(cwd / "pred.csv", index=False)


def _kvq(cwd, m):
    rng = np.random.default_rng(1)
    names = [f"s{s}__v{v}.mp4" for s in range(5) for v in range(3)]
    mos = rng.uniform(1, 5, len(names))
    pd.DataFrame({"name": names, "mos": mos}).to_csv(cwd / "labels.csv", index=False)
    pd.DataFrame({"Id": [Path(n).stem for n in names], "MOS": np.clip(mos + rng.normal(0, 0.3, len(names)), 0, 5)}).to_csv(
        cwd / "pred.csv", index=False)
    pairs = [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))][::4]
    pd.DataFrame({"video1": [a for a, _ in pairs], "video2": [b for _, b in pairs],
                  "better": [a if mos[names.index(a)] >= mos[names.index(b)] else b for a, b in pairs],
                  "homologous": [int(a.split("__")[0] == b.split("__")[0]) for a, b in pairs]}).to_csv(cwd / "pairs.csv", index=False)


def _snapugc_eval(cwd, m):
    rng = np.random.default_rng(2)
    ids = [f"x{i}" for i in range(40)]
    t = pd.DataFrame({"Id": ids, "NAWP": rng.random(40), "ECR": rng.random(40)})
    t.to_csv(cwd / "labels.csv", index=False)
    p = t.copy()
    p[["NAWP", "ECR"]] = np.clip(p[["NAWP", "ECR"]] + rng.normal(0, 0.1, (40, 2)), 0, 1)
    p.to_csv(cwd / "pred.csv", index=False)
    pd.DataFrame({"Id": ids, "duration_s": rng.uniform(5, 60, 40)}).to_csv(cwd / "durations.csv", index=False)


def _text_manifest(cwd, m):
    pd.DataFrame({"Id": ["a", "b", "c"], "Title": ["my cat", "goal!", ""], "Description": ["", "match day", "no title"]}).to_csv(
        cwd / "test.csv", index=False)


def _ridge_model(cwd, m):
    _store(cwd, m)
    _link(m["labels"], cwd / "labels.parquet")
    r = _sh("reelscore train engagement --model ridge --features store/ --labels labels.parquet --out models/ridge", cwd)
    assert r.returncode == 0, r.stderr


def _processed(cwd, m):
    _link(m["sources"] / "src0.mp4", cwd / "src0.mp4")
    r = _sh("reelscore degrade src0.mp4 --out processed/ --per-source 2 --label none", cwd)
    assert r.returncode == 0, r.stderr


def _warehouse(cwd, m):
    from reelscore.models.feature_table import SIGNAL_COLUMNS

    _videos(cwd, m)
    ids = [f"v{i}" for i in range(N_CLIPS)]
    pd.DataFrame({"Id": ids, "path": [f"videos/{i}.mp4" for i in ids], "Title": ["a title"] * N_CLIPS,
                  "Description": [""] * N_CLIPS}).to_csv(cwd / "M.csv", index=False)
    rng = np.random.default_rng(3)
    sig = pd.DataFrame(np.abs(rng.normal(size=(N_CLIPS, len(SIGNAL_COLUMNS)))), columns=SIGNAL_COLUMNS)
    sig["has_audio"] = 1.0
    sig.insert(0, "Id", ids)
    sig.to_parquet(cwd / "warehouse.parquet", index=False)


def _sources(cwd, m, n=2):
    (cwd / "sources").mkdir()
    for i in range(n):
        _link(m["sources"] / f"src{i}.mp4", cwd / "sources" / f"src{i}.mp4")


def _ratings(cwd, m):
    rng = np.random.default_rng(4)
    rows = [(f"r{r}", f"clip{v}", int(np.clip(round(1 + v % 5 + rng.normal(0, 0.7)), 1, 5))) for r in range(12) for v in range(10)]
    pd.DataFrame(rows, columns=["rater", "video", "score"]).to_csv(cwd / "ratings.csv", index=False)


def _fused_tables(cwd, m):
    from reelscore.models.feature_table import SIGNAL_COLUMNS, clip_columns

    rng = np.random.default_rng(5)
    words = ["cat", "goal", "recipe", "dance", "prank", "sunset"]
    n = 90
    ids = [f"f{i:03d}" for i in range(n)]
    titles = [f"my {words[i % len(words)]} video" for i in range(n)]
    sig = np.abs(rng.normal(size=(n, len(SIGNAL_COLUMNS))))
    ecr = pd.Series(0.3 * (np.arange(n) % 2) + sig[:, 0] * 0.1 + rng.normal(0, 0.05, n)).rank(pct=True).to_numpy()
    cold = pd.DataFrame(sig, columns=SIGNAL_COLUMNS)
    cold["has_audio"] = 1.0
    cold.insert(0, "ECR", ecr)
    cold.insert(0, "Description", "")
    cold.insert(0, "Title", titles)
    cold.insert(0, "Id", ids)
    cold.to_csv(cwd / "coldsignal_dev.csv", index=False)
    text_ids = [f"t{i:03d}" for i in range(60)]
    pd.DataFrame({"Id": text_ids, "Title": [f"a {words[i % len(words)]} clip" for i in range(60)], "Description": "",
                  "ECR": rng.random(60)}).to_csv(cwd / "text_ecr_dev.csv", index=False)
    clip = pd.DataFrame(rng.normal(size=(50, len(clip_columns()))).astype(np.float32), columns=clip_columns())
    clip.insert(0, "Id", ids[:50])
    clip.to_parquet(cwd / "coldsignal_clip_vitb32_dev.parquet", index=False)


def _text_labels(cwd, m):
    words = ["cat", "goal", "recipe", "dance", "prank", "sunset"]
    rng = np.random.default_rng(6)
    pd.DataFrame({"Id": [f"t{i}" for i in range(60)], "Title": [f"a {words[i % 6]} clip {i}" for i in range(60)],
                  "Description": ["" if i % 3 else "with a description" for i in range(60)],
                  "ECR": rng.random(60)}).to_csv(cwd / "text_ecr_dev.csv", index=False)


def _train_labels(cwd, m):
    _store(cwd, m)
    _link(m["labels"], cwd / "labels.parquet")


def _quality_set(cwd, m, with_store=False):
    _sources(cwd, m, n=3)
    r = _sh("reelscore degrade sources/*.mp4 --out processed/ --per-source 2 --label-runs 1", cwd)
    assert r.returncode == 0, r.stderr
    if with_store:
        r = _sh("reelscore extract processed/manifest.csv --out store/ --extractors technical,semantic,motion", cwd)
        assert r.returncode == 0, r.stderr


def _make_media(cwd, m):
    r = _sh(f"reelscore make-test-media {cwd / 'tmp_media'}", cwd)
    assert r.returncode == 0, r.stderr


def _lines(name: str, n_min: int):
    def check(cwd: Path, r: subprocess.CompletedProcess) -> None:
        rows = [json.loads(ln) for ln in (cwd / name).read_text().splitlines() if ln.strip()]
        assert len(rows) >= n_min, rows
    return check


RECIPES: dict[str, Recipe] = {
    "reelscore probe clip.mp4": Recipe(_clip),
    "reelscore probe videos/ --json > probe.jsonl": Recipe(_videos, ["probe.jsonl"], check=_lines("probe.jsonl", N_CLIPS)),
    "reelscore probe a.mp4 b.webm --max-duration-s 60": Recipe(
        lambda cwd, m: (_link(m["videos"] / "v0.mp4", cwd / "a.mp4"), _link(m["d"] / "b.webm", cwd / "b.webm"))),
    "reelscore make-test-media /tmp/media": Recipe(outputs=["tmp_media"], note="/tmp/media moved into the sandbox"),
    # the test media hold broken files on purpose: probe says so for each (exit 1) and prints every one
    "reelscore probe /tmp/media --json": Recipe(_make_media, exit_codes=(1,), note="/tmp/media moved into the sandbox"),
    "reelscore labels views.parquet --out labels.parquet": Recipe(_views, ["labels.parquet"]),
    "reelscore labels 'logs/*.csv' --videos videos.csv --fmax fit --out labels.csv --plots figs/": Recipe(
        _csv_logs, ["labels.csv", "figs"]),
    "reelscore labels views.parquet --out labels.parquet --engine spark --spark-master spark://host:7077": Recipe(
        _views, ["labels.parquet"], note="spark://host:7077 -> local[1]"),
    "reelscore simulate-views --videos 2000 --views-per-video 2500 --out views.parquet --truth truth.parquet": Recipe(
        outputs=["views.parquet", "truth.parquet"]),
    "reelscore simulate-views --video-table my_clips.csv --views-per-video 3000 --out views.parquet": Recipe(
        lambda cwd, m: pd.DataFrame({"Id": ["a", "b"], "duration_s": [12.0, 30.5]}).to_csv(cwd / "my_clips.csv", index=False),
        ["views.parquet"]),
    "reelscore extract videos.csv --out store/": Recipe(_manifest, ["store"]),
    "reelscore extract train.csv --videos-dir videos/ --out store/ --workers 2": Recipe(_snap_manifest, ["store"]),
    "reelscore extract videos.csv --out store/ --extractors technical,motion --engine ray": Recipe(_manifest, ["store"]),
    "reelscore features show store/": Recipe(_store),
    "reelscore features show store/ --json": Recipe(_store),
    "reelscore evaluate --protocol evqa --pred pred.csv --truth truth.csv": Recipe(_evqa),
    "reelscore evaluate --protocol evqa --pred pred.csv --truth truth.csv --strict": Recipe(_evqa),
    "reelscore evaluate --protocol kvq --pred pred.csv --truth labels.csv --pairs pairs.csv --report report/": Recipe(
        _kvq, ["report/metrics.json"]),
    "reelscore evaluate --protocol snapugc --pred pred.csv --truth labels.csv --durations durations.csv --json": Recipe(_snapugc_eval),
    "reelscore predict --model default --manifest test.csv --out pred.csv": Recipe(_text_manifest, ["pred.csv"]),
    "reelscore predict --model models/ridge --features store/ --out pred.csv": Recipe(_ridge_model, ["pred.csv"]),
    "reelscore predict --model quality-default --manifest processed/manifest.csv --out mos.csv": Recipe(_processed, ["mos.csv"]),
    "reelscore predict --model default --manifest M.csv --features-table warehouse.parquet --out pred.csv": Recipe(
        _warehouse, ["pred.csv"]),
    "reelscore degrade sources/*.mp4 --out processed/ --per-source 6": Recipe(
        _sources, ["processed/labels.csv", "processed/pairs.csv"]),
    "reelscore degrade clip.mp4 --out processed/ --per-source 2 --label none": Recipe(_clip, ["processed/manifest.csv"]),
    "reelscore degrade sources/*.mp4 -o processed/ --capture 4 --max-duration-s 10 --workers 2": Recipe(
        lambda cwd, m: _sources(cwd, m, n=1), ["processed/labels.csv"]),
    "reelscore mos ratings.csv --out mos.csv --report mos_report/": Recipe(_ratings, ["mos.csv", "mos_report"]),
    "reelscore score clip.mp4 --title 'My title' --description 'About it'": Recipe(_clip),
    "reelscore score videos/ --json > scores.jsonl": Recipe(_videos, ["scores.jsonl"], check=_lines("scores.jsonl", N_CLIPS)),
    "reelscore score --manifest metadata.csv --videos-dir videos/ -o scores.csv": Recipe(
        lambda cwd, m: _snap_manifest(cwd, m, "metadata.csv"), ["scores.csv"]),
    "reelscore score videos/ --workers 2 --json > scores.jsonl": Recipe(_videos, ["scores.jsonl"],
                                                                         check=_lines("scores.jsonl", N_CLIPS)),
    "reelscore train engagement --model text --labels text_ecr_dev.csv --out models/text --folds 5": Recipe(
        _text_labels, ["models/text/model.json"]),
    "reelscore train engagement --model ridge --features store/ --labels labels.parquet --out models/ridge": Recipe(
        _train_labels, ["models/ridge/model.json"]),
    "reelscore train engagement --model net --features store/ --labels labels.parquet --out models/net": Recipe(
        _train_labels, ["models/net/model.json"]),
    "reelscore train engagement --model fused --labels coldsignal_dev.csv --labels text_ecr_dev.csv "
    "--features-table coldsignal_dev.csv --features-table coldsignal_clip_vitb32_dev.parquet --out models/fused": Recipe(
        _fused_tables, ["models/fused/model.json"]),
    "reelscore extract processed/manifest.csv --out store/ --extractors technical,semantic,motion": Recipe(
        _quality_set, ["store"]),
    "reelscore train quality --labels processed/labels.csv --features store/ --out models/quality": Recipe(
        lambda cwd, m: _quality_set(cwd, m, with_store=True), ["models/quality/model.json"]),
}
SERVE = "reelscore serve --port 8000 --data-dir /var/lib/reelscore --workers 2"


def _all_examples() -> list[str]:
    out = []
    for verb in VERBS:
        out += [" ".join(ex.split()) for ex in _examples(_command(verb))]
    return list(dict.fromkeys(out))


def _substitute(ex: str, cwd: Path) -> str:
    return (ex.replace("/tmp/media", str(cwd / "tmp_media"))
              .replace("/var/lib/reelscore", str(cwd / "var_lib_reelscore"))
              .replace("spark://host:7077", "'local[1]'"))


def test_every_help_example_has_a_recipe():
    """A new or edited example must get a recipe here, so that it runs."""
    missing = [ex for ex in _all_examples() if ex not in RECIPES and ex != SERVE]
    assert not missing, missing
    stale = [ex for ex in RECIPES if ex not in _all_examples()]
    assert not stale, stale


@pytest.mark.parametrize("example", [ex for ex in _all_examples() if ex != SERVE])
def test_help_example_runs(example, material, tmp_path):
    rec = RECIPES[example]
    cwd = tmp_path / "sandbox"
    cwd.mkdir()
    rec.setup(cwd, material)
    r = _sh(_substitute(example, cwd), cwd)
    assert r.returncode in rec.exit_codes, f"{example}\nexit {r.returncode}\n{r.stderr[-3000:]}"
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    for out in rec.outputs:
        p = cwd / out
        assert p.exists() and (p.is_dir() or p.stat().st_size > 0), f"{example}: no {out}"
    if rec.check is not None:
        rec.check(cwd, r)


def test_serve_example_starts_answers_and_stops(tmp_path):
    """The serve example with a free port: it loads its 2 workers, answers /v1/health, and stops on Ctrl-C."""
    import httpx

    from serve_helpers import free_port

    assert SERVE in _all_examples()
    port = free_port()
    cmd = _substitute(SERVE, tmp_path).replace("--port 8000", f"--port {port} --host 127.0.0.1").split()
    p = subprocess.Popen([str(BIN / cmd[0]), *cmd[1:]], cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        health = None
        while time.monotonic() < deadline and p.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2.0).json()
                if health["workers"]["ready"] >= 2:
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        assert p.poll() is None, p.stderr.read()[-3000:]
        assert health is not None and health["workers"]["ready"] == 2, health
        assert (tmp_path / "var_lib_reelscore").is_dir()
    finally:
        p.send_signal(signal.SIGINT)
        try:
            rc = p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            raise AssertionError("serve did not stop within 60 s of Ctrl-C")
    assert rc in (0, 130, -signal.SIGINT), rc
