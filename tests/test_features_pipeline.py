"""The extraction pipeline and store end to end on tiny synthetic clips: determinism, skip/resume, errors, Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reelscore.features.pipeline import extract
from reelscore.features.store import FeatureStore


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Three decodable clips (one without audio), a truncated file, and more clips for the resume test."""
    from reelscore.media.synth import make_clip

    d = tmp_path_factory.mktemp("fclips")
    out = {
        "a": make_clip(d / "a.mp4", seconds=3.0, width=64, height=112, seed=0),
        "b": make_clip(d / "b.mp4", seconds=2.0, width=112, height=64, audio=False, seed=1),
    }
    broken = d / "broken.mp4"
    broken.write_bytes(out["a"].read_bytes()[:2500])
    out["broken"] = broken
    for i in range(8):
        out[f"r{i}"] = make_clip(d / f"r{i}.mp4", seconds=2.0, width=64, height=112, seed=10 + i)
    return out


@pytest.fixture(scope="module")
def manifest(clips) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "video_id": ["a", "b", "broken", "textonly"],
            "path": [str(clips["a"]), str(clips["b"]), str(clips["broken"]), None],
            "title": ["My cat plays piano", "", "x", "text only row"],
            "description": ["so cute", None, None, "no video here"],
            "caption": [None, "a sunset over the sea", None, None],
        }
    )


@pytest.fixture(scope="module")
def store_a(manifest, tmp_path_factory) -> tuple[Path, dict]:
    p = tmp_path_factory.mktemp("sa") / "store"
    return p, extract(manifest, p, progress=False)


def _files(p: Path) -> list[str]:
    return sorted(str(q.relative_to(p)) for q in p.rglob("*") if q.is_file())


def test_store_api_and_layout(store_a):
    path, summary = store_a
    st = FeatureStore(path)
    assert summary["done"] == 3 and summary["failed"] == 1
    ex = st.extractors()
    assert set(ex) == {"semantic", "technical", "motion", "audio", "text"}
    for name, spec in ex.items():
        assert {"version", "config", "dim"} <= set(spec)
    pooled = st.pooled()
    assert list(pooled.index) == ["a", "b", "broken", "textonly"]
    assert pooled.shape[1] == sum(s["dim"] for s in ex.values())
    assert all(c.split(":")[0] in ex for c in pooled.columns)
    # media extractors: rows for the three decodable clips only; text for every row
    assert pooled.loc[["a", "b"], "technical:sharpness_mean"].notna().all()
    assert pooled.loc[["broken", "textonly"], "semantic:f0000"].isna().all()
    assert pooled["text:title_000"].notna().all()
    assert pooled.loc["b", "audio:no_audio"] == 1 and pooled.loc["a", "audio:no_audio"] == 0
    assert pooled.loc["textonly", "text:caption_empty"] == 1 and pooled.loc["b", "text:caption_empty"] == 0
    # per-clip rows: 3 s at 4 fps with L = 16 → one clip starting at 0
    for name in ("semantic", "technical", "motion", "audio"):
        c = st.clips(name)
        assert set(c) == {"a", "b"}
        starts, feats = c["a"]
        assert starts.tolist() == [0.0] and feats.shape == (1, ex[name]["clip_dim"])
    toks = st.tokens()
    assert set(toks) == {"a", "b", "broken", "textonly"}
    fields, mat = toks["a"]
    assert fields == ["title", "description", "audio_tags", "caption"] and mat.shape == (4, 384)
    assert st.meta("audio")["a"]["tag_text"] != "" and st.meta("text")["a"]["texts"]["audio_tags"] == st.meta("audio")["a"]["tag_text"]
    assert st.meta("motion")["a"]["cut_times"] == [1.75]  # make_clip cuts at half time (1.5 s); next grid frame
    # a broken file is exactly one error row, with the media error code
    errs = st.errors()
    assert len(errs) == 1
    assert errs.iloc[0][["video_id", "extractor", "code"]].tolist() == ["broken", "media", "truncated"]
    assert not [f for f in _files(path) if Path(f).name.startswith(".")]


def test_twice_identical_and_rerun_skips(store_a, manifest, tmp_path):
    path, _ = store_a
    before = _files(path)
    again = extract(manifest, path, progress=False)
    assert again["skipped"] == 3 and again["done"] == 0 and again["failed"] == 1
    assert _files(path) == before  # nothing rewritten or duplicated
    other = tmp_path / "store2"
    extract(manifest, other, progress=False)
    a, b = FeatureStore(path), FeatureStore(other)
    pd.testing.assert_frame_equal(a.pooled(), b.pooled(), check_exact=True)
    for name in ("semantic", "technical", "motion", "audio"):
        ca, cb = a.clips(name), b.clips(name)
        for vid in ca:
            np.testing.assert_array_equal(ca[vid][1], cb[vid][1])


def test_changed_config_never_mixes(store_a, manifest, tmp_path):
    import shutil

    path, _ = store_a
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    s = extract(manifest, copy, extractors=["motion"], options={"motion": {"cut_threshold": 0.9}}, progress=False)
    assert s["done"] == 2  # a new spec: rows recomputed, not taken from the old directory
    st = FeatureStore(copy)
    assert st.extractors()["motion"]["config"]["cut_threshold"] == 0.9
    assert len(list((copy / "rows" / "motion").iterdir())) == 2


def _parts(d: Path) -> list[Path]:
    """Finished part files (temp files of an interrupted write start with a dot)."""
    return [q for q in d.rglob("*.parquet") if not q.name.startswith(".")]


def _run_cli_extract(manifest_csv: Path, out: Path, extractors: str) -> subprocess.Popen:
    env = dict(os.environ, REELSCORE_NO_PROGRESS="1")
    return subprocess.Popen(
        [sys.executable, "-m", "reelscore", "extract", str(manifest_csv), "--out", str(out), "--extractors", extractors, "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_kill_then_rerun_equals_uninterrupted(clips, tmp_path):
    ids = [f"r{i}" for i in range(8)]
    csv = tmp_path / "m.csv"
    pd.DataFrame({"video_id": ids, "path": [str(clips[i]) for i in ids]}).to_csv(csv, index=False)
    killed = tmp_path / "killed"
    proc = _run_cli_extract(csv, killed, "technical,motion")
    rows = killed / "rows" / "technical"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not _parts(rows):
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {q: q.stat().st_mtime_ns for q in _parts(killed / "rows")}
    assert 1 <= len([q for q in done_before if "technical" in q.parts]) < len(ids)
    from reelscore.features.manifest import read_manifest

    df = read_manifest(csv)
    resumed = extract(df, killed, extractors=["technical", "motion"], progress=False)
    assert resumed["done"] + resumed["skipped"] == len(ids) and resumed["failed"] == 0
    assert all(q.stat().st_mtime_ns == m for q, m in done_before.items())  # finished rows were not redone
    whole = tmp_path / "whole"
    extract(df, whole, extractors=["technical", "motion"], progress=False)
    pd.testing.assert_frame_equal(FeatureStore(killed).pooled(), FeatureStore(whole).pooled(), check_exact=True)
    for name in ("technical", "motion"):
        assert len(_parts(killed / "rows" / name)) == len(ids)
    assert not [q for q in killed.rglob(".*") if q.is_file()]  # no temp files left


def test_process_pool_matches_single_process(clips, tmp_path):
    ids = ["a", "b", "r0", "r1"]
    df = pd.DataFrame({"video_id": ids, "path": [str(clips[i]) for i in ids]})
    one = extract(df, tmp_path / "one", extractors=["technical", "motion"], threads=1, progress=False)
    two = extract(df, tmp_path / "two", extractors=["technical", "motion"], workers=2, threads=1, progress=False)
    assert one["done"] == two["done"] == 4
    pd.testing.assert_frame_equal(FeatureStore(tmp_path / "one").pooled(), FeatureStore(tmp_path / "two").pooled(), check_exact=True)


@pytest.mark.slow
def test_ray_engine_writes_the_same_store(store_a, manifest, tmp_path):
    pytest.importorskip("ray")
    path, _ = store_a
    out = tmp_path / "ray"
    s = extract(manifest, out, engine="ray", workers=1, progress=False)
    assert s["engine"] == "ray" and s["done"] == 3 and s["failed"] == 1
    a, b = FeatureStore(path), FeatureStore(out)
    pd.testing.assert_frame_equal(a.pooled(), b.pooled(), check_exact=True)
    pd.testing.assert_frame_equal(a.errors(), b.errors())
    assert a.extractors() == b.extractors()


def test_cli_extract_and_show(clips, tmp_path):
    from typer.testing import CliRunner

    from reelscore.cli import app

    csv = tmp_path / "m.csv"
    pd.DataFrame({"video_id": ["a", "broken"], "path": [str(clips["a"]), str(clips["broken"])], "title": ["t", "u"]}).to_csv(csv, index=False)
    out = tmp_path / "st"
    r = CliRunner().invoke(app, ["extract", str(csv), "--out", str(out), "--extractors", "technical"])
    assert r.exit_code == 0, r.output
    assert "1 extracted" in r.output and "1 with errors" in r.output
    r = CliRunner().invoke(app, ["features", "show", str(out)])
    assert r.exit_code == 0, r.output
    assert "technical" in r.output and "1/2" in r.output and "truncated" in r.output
    r = CliRunner().invoke(app, ["extract", str(csv), "--out", str(out), "--extractors", "nope"])
    assert r.exit_code != 0 and "unknown extractor" in r.output
    r = CliRunner().invoke(app, ["features", "show", str(tmp_path / "nothing")])
    assert r.exit_code == 2


def test_manifest_layouts(tmp_path):
    from reelscore.features.manifest import read_manifest

    snap = tmp_path / "snap.csv"
    snap.write_text("Id,Title,Description,Caption\nabc,Hi,There,\ndef,,x,a cap\n")
    df = read_manifest(snap, videos_dir=tmp_path / "vids")
    assert df.columns.tolist() == ["video_id", "path", "title", "description", "caption"]
    assert df.loc[0, "path"] == str(tmp_path / "vids" / "abc.mp4")
    assert pd.isna(df.loc[1, "title"]) and df.loc[1, "caption"] == "a cap"
    with pytest.raises(ValueError, match="--videos-dir"):
        read_manifest(snap)
    plain = tmp_path / "plain.csv"
    plain.write_text("video_id,path\nv1,clips/v1.mp4\nv2,\n")
    df = read_manifest(plain)
    assert df.loc[0, "path"] == str(tmp_path / "clips" / "v1.mp4") and pd.isna(df.loc[1, "path"])
    dup = tmp_path / "dup.csv"
    dup.write_text("video_id,path\nv1,a.mp4\nv1,b.mp4\n")
    with pytest.raises(ValueError, match="duplicate video ids: v1"):
        read_manifest(dup)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,path\nv1,a.mp4\n")
    with pytest.raises(ValueError, match="video_id"):
        read_manifest(bad)


def test_manifest_unreadable_names_the_file(tmp_path):
    from reelscore.features.manifest import read_manifest

    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"video_id,path,title\nv1,a.mp4,caf\xe9\n")
    with pytest.raises(ValueError, match=r"latin\.csv: manifest is not UTF-8 text \(invalid byte 0xe9\)"):
        read_manifest(latin)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.csv: manifest is empty"):
        read_manifest(empty)
