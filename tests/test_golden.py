"""Golden values of the shipped models on fixed inputs: a change in any number is a failing test.

Regenerate only on purpose (after retraining a shipped model), and say so in the commit:
    .venv/bin/python tests/test_golden.py --regen
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

GOLDEN = Path(__file__).with_name("golden_values.json")
SIGNALS = {  # two videos' opening signals in the shared coldsignal layout
    "a": [0.25, 0.06, 0.49, 1, 0.90, 0.088, 0.76, 0.0, 0.06, 0.02, 0.09, 0.05],
    "b": [0.005, 0.003, 0.011, 1, 0.29, 0.002, 0.39, 0.12, 0.46, 0.30, 1.37, 0.40],
}
TEXTS = {"a": ("Skills for midfielders", "drag to heel #football"), "b": ("", ""), "c": ("my cat", None)}


def engagement_values() -> dict[str, float]:
    """The shipped engagement default on fixed texts and signals (no video, no weights beyond the package)."""
    from reelscore.models.feature_table import SIGNAL_COLUMNS
    from reelscore.models.predictor import FeatureRows, Predictor

    p = Predictor.load("default")
    ids = list(TEXTS)
    texts = pd.DataFrame({"title": [TEXTS[i][0] for i in ids], "description": [TEXTS[i][1] for i in ids]}, index=ids)
    table = pd.DataFrame([SIGNALS[i] for i in SIGNALS], index=list(SIGNALS), columns=SIGNAL_COLUMNS)
    pred = p.predict(FeatureRows(ids=ids, texts=texts, table=table))
    out = {f"ECR:{i}": float(pred.values.at[i, "ECR"]) for i in ids}
    for m, df in pred.members.items():
        for i in ids:
            v = df.at[i, "ECR"]
            if np.isfinite(v):
                out[f"ECR_{m}:{i}"] = float(v)
    return out


def _make_clips(tmp: Path) -> dict[int, Path]:
    """Encode in a fresh process: x264's float rate control rounds differently once ONNX Runtime / torch
    have changed the process's floating-point flags, so clips made later in a test session differ."""
    import subprocess

    code = ("import sys; from reelscore.media.synth import make_clip; "
            "[make_clip(f'{sys.argv[1]}/g{c}.mp4', seconds=2.0, width=96, height=160, fps=15, crf=c, seed=11) "
            "for c in (18, 45)]")
    subprocess.run([sys.executable, "-c", code, str(tmp)], check=True)
    return {c: tmp / f"g{c}.mp4" for c in (18, 45)}


def quality_values(tmp: Path) -> dict[str, float]:
    """The shipped quality default on a fixed generated clip at two encoder qualities."""
    from reelscore.scoring import ScoreConfig, Scorer

    clips = _make_clips(tmp)
    s = Scorer(ScoreConfig(timeline=False)).load()
    return {f"MOS:crf{c}": float(s.score(p)["scores"]["mos"]["value"]) for c, p in clips.items()}


def test_engagement_default_golden():
    want = json.loads(GOLDEN.read_text())["engagement"]
    got = engagement_values()
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-6), k


def test_quality_default_golden(tmp_path):
    want = json.loads(GOLDEN.read_text())["quality"]
    got = quality_values(tmp_path)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-3), k  # decoder/encoder builds may move pixels slightly
    assert got["MOS:crf18"] > got["MOS:crf45"]


if __name__ == "__main__" and "--regen" in sys.argv:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        vals = {"engagement": engagement_values(), "quality": quality_values(Path(d))}
    GOLDEN.write_text(json.dumps(vals, indent=1, sort_keys=True) + "\n")
    print(json.dumps(vals, indent=1))
