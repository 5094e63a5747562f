"""degrade: KVQ workflows on tiny synthetic clips, full-reference labels, pairs, bad inputs."""

from __future__ import annotations

import av
import pandas as pd
import pytest

from reelscore.media.synth import make_clip
from reelscore.workflows.degrade import DegradeConfig, degrade, encode
from reelscore.workflows.pairs import make_pairs
from reelscore.workflows.fullref import fullref_scores, vmaf_to_mos
from reelscore.workflows.plans import QP_INTERVALS, Plan, Step, filter_graph, make_plans


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("quality_src")
    a = make_clip(d / "srcA.mp4", seconds=2.0, width=64, height=112, fps=15, seed=0, crf=12)
    bad = d / "broken.mp4"
    bad.write_bytes(b"this is not a video")
    return a, None, bad


def test_plans_cover_distinct_qp_intervals_and_all_workflows():
    plans = make_plans("s", "s", per_source=6, seed=7)
    got = sorted(next(i for i, (lo, hi) in enumerate(QP_INTERVALS) if lo <= p.qp <= hi) for p in plans)
    assert got == [0, 1, 2, 3, 4, 5]
    assert {p.workflow for p in plans} == {"transcode", "enhance+transcode", "enhance+preprocess+transcode"}
    for p in plans:
        stages = [s.stage for s in p.steps]
        assert stages[-1] == "transcode"
        assert ("enhance" in stages) == ("enhance" in p.workflow)
        assert ("preprocess" in stages) == ("preprocess" in p.workflow)
    # Same seed and source → same plans; another source → its own plans.
    assert [p.to_dict() for p in plans] == [p.to_dict() for p in make_plans("s", "s", 6, 7)]
    other = make_plans("other", "other", 6, 7)
    assert [p.to_dict()["steps"] for p in plans] != [p.to_dict()["steps"] for p in other]


def test_roi_graph_blurs_outside_centre():
    plan = Plan("x.mp4", "x", "enhance+preprocess+transcode", 30,
                [Step("enhance", "denoise_hqdn3d", "hqdn3d=3", {}), Step("preprocess", "roi_blur", "roi", {"keep": 0.6, "sigma": 4.0}),
                 Step("transcode", "x264", "", {"qp": 30})])
    g = filter_graph(plan)
    assert g.startswith("[0:v]hqdn3d=3,split") and "gblur=sigma=4.0" in g and "overlay=(W-w)/2:(H-h)/2" in g


def test_degrade_writes_videos_labels_pairs_and_reports_bad_source(clips, tmp_path):
    a, _, bad = clips
    out = tmp_path / "set"
    s = degrade([a, bad], out, DegradeConfig(per_source=3, seed=1, label="vmaf", vmaf_chunks=1, vmaf_chunk_len=3))
    assert s["sources_failed"] == 1 and s["videos"] == 3 and s["videos_failed"] == 0
    labels = pd.read_csv(out / "labels.csv")
    assert list(labels.columns[:5]) == ["name", "source", "workflow", "steps", "qp"]
    assert {"vmaf", "psnr", "ssim", "mos"} <= set(labels.columns)
    assert labels["mos"].between(1, 5).all() and (labels["source"] == "srcA").all()
    for rel in labels["path"]:
        with av.open(str(out / rel)) as c:
            n = sum(1 for _ in c.decode(video=0))
        assert n == 30  # every source frame kept (passthrough)
    pairs = pd.read_csv(out / "pairs.csv")
    assert list(pairs.columns) == ["video1", "video2", "better", "homologous"]
    assert len(pairs) >= 1 and (pairs["homologous"] == 1).all()
    lab = labels.set_index("name")["mos"]
    for r in pairs.itertuples():
        other = r.video2 if r.better == r.video1 else r.video1
        assert r.better in (r.video1, r.video2) and lab[r.better] > lab[other]
    errors = pd.read_csv(out / "errors.csv")
    assert len(errors) == 1 and "broken.mp4" in errors["message"][0]
    manifest = pd.read_csv(out / "manifest.csv")
    assert len(manifest) == 3 and manifest["path"].map(lambda p: (out / "videos").resolve().as_posix() in p).all()
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]  # atomic writes leave no temp files


def test_pairs_homologous_and_close_non_homologous():
    labels = pd.DataFrame({
        "name": ["a1", "a2", "a3", "b1", "b2", "b3"],
        "source": ["a", "a", "a", "b", "b", "b"],
        "mos": [4.5, 4.4, 2.0, 4.45, 3.0, 2.0],
    })
    pairs = make_pairs(labels, "mos", per_source=1, non_homologous=2, seed=0)
    homo = pairs[pairs["homologous"] == 1]
    assert sorted(map(sorted, homo[["video1", "video2"]].values.tolist())) == [["a1", "a2"], ["b2", "b3"]]
    non = pairs[pairs["homologous"] == 0]
    # Closest cross-source labels: a1/b1 (0.05) and a2/b1 (0.05); the exact tie a3/b3 is skipped.
    assert sorted(map(sorted, non[["video1", "video2"]].values.tolist())) == [["a1", "b1"], ["a2", "b1"]]
    assert set(non.loc[non["video1"].isin(["a1", "b1"]) & non["video2"].isin(["a1", "b1"]), "better"]) == {"a1"}


def test_vmaf_label_orders_compression_levels(clips, tmp_path):
    a, _, _ = clips
    outs = {}
    for qp in (18, 46):
        plan = Plan(f"q{qp}.mp4", "srcA", "transcode", qp, [Step("transcode", "x264", "", {"qp": qp})])
        outs[qp] = fullref_scores(a, encode(plan, a, tmp_path / plan.name), chunks=1, chunk_len=3)
    hi, lo = outs[18], outs[46]
    assert hi.vmaf > lo.vmaf + 10
    assert hi.psnr > lo.psnr and hi.ssim > lo.ssim
    assert hi.mos > lo.mos
    same = fullref_scores(a, a, chunks=1, chunk_len=3)
    assert same.vmaf > 95 and same.psnr == 100.0 and same.ssim == pytest.approx(1.0)


def test_vmaf_to_mos_is_monotone_and_clipped():
    assert vmaf_to_mos(0) == 1.0 and vmaf_to_mos(100) == 5.0 and vmaf_to_mos(104) == 5.0 and vmaf_to_mos(-3) == 1.0
    assert vmaf_to_mos(50) == pytest.approx(3.0)


def test_degrade_cli_label_none(clips, tmp_path):
    a, _, _ = clips
    out = tmp_path / "cli"
    from typer.testing import CliRunner

    from reelscore.cli import app

    res = CliRunner().invoke(app, ["degrade", str(a), "--out", str(out), "--per-source", "2", "--label", "none", "--seed", "4"])
    assert res.exit_code == 0, res.output
    labels = pd.read_csv(out / "labels.csv")
    assert len(labels) == 2 and "vmaf" not in labels.columns
    assert "2 processed videos" in res.output


def test_capture_plans_cover_every_distortion_without_changing_kvq_versions():
    from reelscore.workflows.plans import CAPTURE_QP_INTERVALS, CAPTURES

    base = make_plans("s", "s", per_source=6, seed=3)
    plans = make_plans("s", "s", per_source=6, seed=3, capture=len(CAPTURES))
    assert [p.to_dict() for p in plans[:6]] == [p.to_dict() for p in base]
    cap = plans[6:]
    assert {p.workflow for p in cap} == {"capture+transcode"}
    assert len({p.steps[0].op for p in cap}) == len(CAPTURES)
    assert all(CAPTURE_QP_INTERVALS[0][0] <= p.qp <= CAPTURE_QP_INTERVALS[-1][1] for p in cap)
    with pytest.raises(ValueError, match="source size"):
        filter_graph(next(p for p in cap if p.steps[0].op == "down_up_scale"))


def test_capture_versions_keep_size_and_frame_count_and_labels_are_cached(clips, tmp_path, monkeypatch):
    from reelscore.workflows import fullref
    from reelscore.workflows.plans import CAPTURES

    monkeypatch.setenv("REELSCORE_CACHE", str(tmp_path / "cache"))
    a = clips[0]
    out = tmp_path / "cap"
    cfg = DegradeConfig(per_source=1, capture=len(CAPTURES), seed=2, vmaf_chunks=1, vmaf_chunk_len=3, max_duration_s=1.0)
    s = degrade([a], out, cfg)
    assert s["videos"] == 1 + len(CAPTURES) and s["videos_failed"] == 0
    labels = pd.read_csv(out / "labels.csv")
    n_src = min(fullref.count_frames(a), 15)  # first second at 15 fps
    for r in labels.itertuples():
        with av.open(str(out / r.path)) as c:
            st = c.streams.video[0]
            assert (st.width, st.height) == (64, 112), r.steps
        assert fullref.count_frames(out / r.path) == n_src, r.steps
    cap = labels[labels.workflow == "capture+transcode"]
    assert (cap.vmaf < 100).all()
    # The labels now come from the cache (keyed by both files' content): a second run never recomputes.
    assert len(list((tmp_path / "cache" / "fullref").glob("*.json"))) == len(labels)
    monkeypatch.setattr(fullref, "fullref_scores", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    s2 = degrade([a], tmp_path / "cap2", cfg)
    assert s2["videos"] == len(labels)
    again = pd.read_csv(tmp_path / "cap2" / "labels.csv")
    assert again["vmaf"].tolist() == labels["vmaf"].tolist()


def test_capped_label_ranks_like_the_full_label(clips):
    """The cheap label (sampled runs, capped size) orders versions as the every-frame native one does."""
    a = clips[0]
    import tempfile
    from pathlib import Path

    d = Path(tempfile.mkdtemp())
    plans = make_plans("srcA", "srcA", per_source=4, seed=5)
    cheap, full = [], []
    for p in plans:
        dest = encode(p, a, d / p.name)
        cheap.append(fullref_scores(a, dest, chunks=2, chunk_len=3, max_side=64).vmaf)
        full.append(fullref_scores(a, dest, chunks=0, max_side=None).vmaf)
    from scipy.stats import spearmanr

    assert spearmanr(cheap, full).statistic > 0.7
