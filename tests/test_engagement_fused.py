"""The fused engagement model: members, learned per-subset stacking, the features table, predict and train verbs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reelscore.models.feature_table import SIGNAL_COLUMNS, check_feature_table, clip_columns
from reelscore.models.registry import ModelError

FAST_TEXT = {"fields": ["title", "description"], "embeddings": False, "handmade": True, "learner": {"learner": "ridge"}}
WORDS = ["cat", "dog", "goal", "cake", "prank", "dance", "news", "car"]


def synthetic(n: int = 240, seed: int = 0, clip_dim: int = 512):
    """ECR driven by a text word, one signal and a CLIP direction, so each member has something to find."""
    rng = np.random.default_rng(seed)
    ids = [f"v{i:04d}" for i in range(n)]
    w = rng.integers(0, len(WORDS), n)
    titles = [f"my {WORDS[k]} video" if rng.random() > 0.2 else "" for k in w]
    sig = rng.normal(size=(n, len(SIGNAL_COLUMNS)))
    sig[:, SIGNAL_COLUMNS.index("has_audio")] = 1
    sig[:, SIGNAL_COLUMNS.index("audio_energy_mean")] = np.abs(sig[:, 0]) * 0.1
    clip = rng.normal(size=(n, clip_dim))
    y = (0.35 * (w % 2) + 2.0 * sig[:, SIGNAL_COLUMNS.index("audio_energy_mean")] + 0.15 * np.tanh(clip[:, 0])
         + rng.normal(scale=0.1, size=n))
    y = (pd.Series(y).rank(pct=True)).to_numpy()
    table = pd.DataFrame(sig, columns=SIGNAL_COLUMNS)
    table.insert(0, "Id", ids)
    table = pd.concat([table, pd.DataFrame(clip, columns=clip_columns(clip_dim))], axis=1)
    texts = pd.DataFrame({"title": titles, "description": [""] * n}, index=ids)
    return ids, y, texts, table


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from reelscore.models.fused import FusedConfig, FusedEngagementModel

    ids, y, texts, table = synthetic()
    tab = check_feature_table(table)
    tab.loc[ids[:80], clip_columns()] = np.nan  # CLIP for only some rows, as in the shared files
    m = FusedEngagementModel(FusedConfig(text=FAST_TEXT, folds=3)).fit(ids, y, texts=texts, table=tab)
    d = tmp_path_factory.mktemp("fused") / "model"
    m.save(d)
    return m, d, (ids, y, texts, tab)


def test_members_and_every_subset_stacker(fitted):
    m, _, (ids, y, texts, tab) = fitted
    assert m.member_names() == ["text", "signals", "clip"]
    assert set(m.stackers) == {"text", "signals", "clip", "text+signals", "text+clip", "signals+clip",
                               "text+signals+clip"}
    assert m.stackers["clip"]["n"] == 160 and m.stackers["text+signals"]["n"] == 240
    assert all(c >= 0 for st in m.stackers.values() for c in st["coef"])  # non-negative stacking weights


def test_fusion_is_at_least_its_best_member_out_of_fold(fitted):
    from reelscore.common.stats import srcc

    m, _, (ids, y, texts, tab) = fitted
    oof = m.oof_
    ok = np.isfinite(oof["clip"])
    best = max(srcc(oof[k][ok], y[ok]) for k in ("text", "signals", "clip"))
    st = m.stackers["text+signals+clip"]
    fused = st["intercept"] + sum(c * oof[k][ok] for c, k in zip(st["coef"], st["members"]))
    assert srcc(fused, y[ok]) >= best - 0.01


def test_save_load_roundtrip_and_member_subsets(fitted):
    from reelscore.models.fused import FusedEngagementModel

    m, d, (ids, y, texts, tab) = fitted
    m2 = FusedEngagementModel.load(d)
    a = m.inputs(ids[:100], texts, None, tab)
    va, ma, _ = m.predict_inputs(a)
    vb, mb, _ = m2.predict_inputs(m2.inputs(ids[:100], texts, None, tab))
    np.testing.assert_allclose(va["ECR"], vb["ECR"], rtol=1e-6)
    assert np.isnan(mb["clip"]["ECR"].iloc[:80]).all() and np.isfinite(mb["clip"]["ECR"].iloc[80:]).all()
    # a row without CLIP gets the text+signals stacker, exactly
    st = m.stackers["text+signals"]
    i = ids[0]
    want = st["intercept"] + sum(c * mb[k].at[i, "ECR"] for c, k in zip(st["coef"], st["members"]))
    assert vb.at[i, "ECR"] == pytest.approx(np.clip(want, *m.clip_range))


def test_text_only_and_no_input(fitted):
    m, _, (ids, y, texts, tab) = fitted
    mi = m.inputs(ids[:3], texts, None, None)  # no table, no store: only text answers
    vals, members, why = m.predict_inputs(mi)
    assert np.isfinite(vals["ECR"]).all() and np.isnan(members["signals"]["ECR"]).all()
    none = m.inputs(["x"], pd.DataFrame({"title": [None]}, index=["x"]), None, None)
    vals, _, why = m.predict_inputs(none)
    assert np.isnan(vals.at["x", "ECR"]) and "title" in why["x"] and "clip" in why["x"]


# ---- the features table ------------------------------------------------------------------
def _write(df: pd.DataFrame, path):
    df.to_csv(path, index=False)
    return path


def test_table_groups_and_blank_cells(tmp_path):
    from reelscore.models.feature_table import column_groups, read_feature_table

    _, _, _, table = synthetic(10)
    t = table.drop(columns=clip_columns()).astype(object)
    t.loc[3, "hook_strength_motion"] = ""
    got = read_feature_table(_write(t, tmp_path / "t.csv"))
    assert list(column_groups(got)) == ["signals"] and np.isnan(got.iloc[3]["hook_strength_motion"])
    assert got.index[0] == "v0000"


@pytest.mark.parametrize("break_it, needle", [
    (lambda t: t.assign(audio_energy_std=t["audio_energy_std"].where(t.index != 2, "loud")), "column audio_energy_std: text in a number column at rows 3"),
    (lambda t: t.assign(audio_energy_max=t["audio_energy_max"].where(t.index != 4, np.inf)), "column audio_energy_max: inf at rows 5"),
    (lambda t: pd.concat([t, t.iloc[[1]]]), "duplicate ids ['v0001'] at rows 2, 11"),
    (lambda t: t.drop(columns=["clip_511"]), "511 clip_* columns"),
    (lambda t: t.assign(clip_007=t["clip_007"].where(t.index != 0, np.nan)), "some cells empty) at rows 1"),
    (lambda t: t.drop(columns=["Id"]), "no id column"),
])
def test_bad_tables_are_one_clear_line(tmp_path, break_it, needle):
    from reelscore.models.feature_table import read_feature_table

    _, _, _, table = synthetic(10)
    bad = break_it(table.astype(object) if "loud" in str(break_it.__code__.co_consts) else table)
    with pytest.raises(ModelError) as ei:
        read_feature_table(_write(bad, tmp_path / "bad.csv"))
    assert needle in str(ei.value) and "\n" not in str(ei.value)


def test_predict_with_a_table_and_bad_table_writes_nothing(fitted, tmp_path):
    from typer.testing import CliRunner

    from reelscore.cli import app

    m, d, (ids, y, texts, tab) = fitted
    manifest = pd.DataFrame({"Id": ids[:20], "Title": texts["title"].iloc[:20], "Description": ""})
    mpath = _write(manifest, tmp_path / "m.csv")
    _, _, _, table = synthetic()
    full = _write(pd.concat([table.iloc[:30]]), tmp_path / "t.csv")  # 10 ids not in the manifest
    no_clip = _write(table.iloc[:20].drop(columns=clip_columns()), tmp_path / "t2.csv")
    r = CliRunner()
    out = tmp_path / "p.csv"
    res = r.invoke(app, ["predict", "--model", str(d), "--manifest", str(mpath), "--features-table", str(full), "--out", str(out)])
    assert res.exit_code == 0, res.output
    p = pd.read_csv(out)
    assert list(p.columns[:2]) == ["Id", "ECR"] and len(p) == 20 and p["ECR_clip"].notna().all()
    assert "10 ids not in the manifest" in res.output
    res = r.invoke(app, ["predict", "--model", str(d), "--manifest", str(mpath), "--features-table", str(no_clip), "--out", str(tmp_path / "q.csv")])
    assert res.exit_code == 0, res.output
    q = pd.read_csv(tmp_path / "q.csv")
    assert q["ECR_clip"].isna().all() and q["ECR"].notna().all()
    assert not np.allclose(q["ECR"], p["ECR"])
    bad = table.iloc[:20].astype(object)
    bad.loc[5, "scene_change_rate"] = "n/a"
    res = r.invoke(app, ["predict", "--model", str(d), "--manifest", str(mpath), "--features-table",
                         str(_write(bad, tmp_path / "bad.csv")), "--out", str(tmp_path / "never.csv")])
    assert res.exit_code == 2 and "scene_change_rate" in res.output and "rows 6" in res.output
    assert not (tmp_path / "never.csv").exists()


def test_train_fused_from_files(tmp_path):
    from typer.testing import CliRunner

    from reelscore.cli import app

    ids, y, texts, table = synthetic(150, seed=1)
    lab = pd.DataFrame({"Id": ids, "Title": texts["title"].to_numpy(), "Description": "", "ECR": y})
    a = _write(lab.iloc[:100], tmp_path / "a.csv")
    b = _write(lab.iloc[90:], tmp_path / "b.csv")  # 10 shared rows with identical labels
    t = _write(table.drop(columns=clip_columns()), tmp_path / "t.csv")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("folds: 3\ntext:\n  fields: [title, description]\n  embeddings: false\n  handmade: true\n  learner: {learner: ridge}\n")
    res = CliRunner().invoke(app, ["train", "engagement", "--model", "fused", "--labels", str(a), "--labels", str(b),
                                   "--features-table", str(t), "--config", str(cfg), "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    import json

    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["kind"] == "fused" and meta["members"] == ["text", "signals"]
    assert meta["val_metrics"]["ECR"]["subsets"]["text+signals"]["n"] == 150
    lab2 = lab.copy()
    lab2.loc[95, "ECR"] = 0.0
    _write(lab2.iloc[90:], b)
    res = CliRunner().invoke(app, ["train", "engagement", "--model", "fused", "--labels", str(a), "--labels", str(b),
                                   "--features-table", str(t), "--config", str(cfg), "--out", str(tmp_path / "m2")])
    assert res.exit_code == 2 and "disagree" in res.output and not (tmp_path / "m2").exists()


def test_shipped_default_reads_a_table_in_the_shared_layout(tmp_path):
    """The shipped default with a table laid out like coldsignal_dev.csv, without and with CLIP columns."""
    from typer.testing import CliRunner

    from reelscore.cli import app

    ids, _, texts, table = synthetic(12, seed=3)
    manifest = pd.DataFrame({"Id": ids, "Title": texts["title"].to_numpy(), "Description": ""})
    manifest.to_csv(tmp_path / "m.csv", index=False)
    sig = table.drop(columns=clip_columns())
    sig.loc[2, "hook_strength_motion"] = np.nan  # empty cells occur in the shared file
    sig.to_csv(tmp_path / "signals.csv", index=False)
    table[["Id"] + clip_columns()].to_parquet(tmp_path / "clip.parquet")
    r = CliRunner()
    a = r.invoke(app, ["predict", "--model", "default", "--manifest", str(tmp_path / "m.csv"),
                       "--features-table", str(tmp_path / "signals.csv"), "--out", str(tmp_path / "a.csv")])
    assert a.exit_code == 0, a.output
    b = r.invoke(app, ["predict", "--model", "default", "--manifest", str(tmp_path / "m.csv"),
                       "--features-table", str(tmp_path / "signals.csv"), "--features-table", str(tmp_path / "clip.parquet"),
                       "--out", str(tmp_path / "b.csv")])
    assert b.exit_code == 0, b.output
    pa, pb = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert pa["ECR"].notna().all() and pa["ECR_signals"].notna().all() and pa["ECR_clip"].isna().all()
    assert pb["ECR_clip"].notna().all() and not np.allclose(pa["ECR"], pb["ECR"])
    np.testing.assert_allclose(pa["ECR_text"], pb["ECR_text"])
