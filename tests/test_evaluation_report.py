"""The report directory: metrics.json, PNG plots, index.html — written atomically and rendered by a real browser."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from evaluation_fixtures import run_cli, write, write_xlsx

from reelscore.evaluation import evaluate


def _kvq(tmp_path, n=40):
    rng = np.random.default_rng(9)
    mos = rng.uniform(1, 5, n)
    pred = np.clip(mos + rng.normal(scale=0.6, size=n), 0, 5)
    names = [f"clip{i:03d}.mp4" for i in range(n)]
    truth = write(tmp_path / "truth.csv", "filename,score\n" + "\n".join(f"{a},{b}" for a, b in zip(names, mos)))
    predf = write(tmp_path / "prediction.csv", "filename,score\n" + "\n".join(f"{a},{b}" for a, b in zip(names, pred)))
    src = [[names[i], names[i + 1], 1 if mos[i] >= mos[i + 1] else 2] for i in range(0, 20, 2)]
    non = [[names[i], names[i + 1], 1 if mos[i] >= mos[i + 1] else 2] for i in range(20, 40, 2)]
    pairs = write_xlsx(tmp_path / "rank-pair-val.xlsx", {"source": src, "nonsource": non})
    return truth, predf, pairs


def test_report_files_and_strict_json(tmp_path):
    truth, pred, pairs = _kvq(tmp_path)
    out = tmp_path / "report"
    out.mkdir()
    (out / "stale.txt").write_text("old run")
    r = evaluate("kvq", pred, truth, pairs=pairs, report_dir=out, n_boot=50)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["index.html", "metrics.json", "pairs.png", "residuals_score.png", "scatter_score.png"]
    data = json.loads((out / "metrics.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert data["final"]["value"] == pytest.approx(r["final"]["value"])
    html = (out / "index.html").read_text()
    for png in ("pairs.png", "residuals_score.png", "scatter_score.png"):
        assert f'src="{png}"' in html
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"{r['final']['value']:.4f}" in html
    assert not list(tmp_path.glob(".report.*"))  # no temp dirs left behind


def test_snapugc_report_has_duration_bars(tmp_path):
    rng = np.random.default_rng(2)
    n = 50
    ids = [f"id{i}" for i in range(n)]
    y, d = rng.uniform(size=n), rng.uniform(10, 60, n)
    p = np.clip(y + rng.normal(scale=0.2, size=n), 0, 1)
    truth = write(tmp_path / "t.csv", "Id,NAWP,ECR,duration_s\n" + "\n".join(f"{i},{a},{a},{b}" for i, a, b in zip(ids, y, d)))
    pred = write(tmp_path / "p.csv", "Id,NAWP,ECR\n" + "\n".join(f"{i},{a},{a}" for i, a in zip(ids, p)))
    res = run_cli("-p", "snapugc", "--pred", str(pred), "--truth", str(truth), "--report", str(tmp_path / "rep"),
                  "--bootstrap", "30")
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "rep" / "duration_srcc_NAWP.png").exists()
    assert (tmp_path / "rep" / "duration_srcc_ECR.png").exists()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_index_html_renders_in_headless_chromium(tmp_path):
    truth, pred, pairs = _kvq(tmp_path)
    out = tmp_path / "report"
    evaluate("kvq", pred, truth, pairs=pairs, report_dir=out, n_boot=20)
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
         "--window-size=1000,1400", (out / "index.html").as_uri()],
        capture_output=True, text=True, timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-500:]
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[0] == 1400 and img.shape[1] == 1000
    # a rendered page with table and plots is far from a blank white screenshot
    assert float(np.std(img[..., :3])) > 0.05
    assert float(np.mean(img[..., :3] < 0.5)) > 0.01
