"""The TF-IDF ridge member of the text models: learning, plain-file round trip, empty texts, CLI config."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from reelscore.cli import app
from reelscore.common.stats import srcc
from reelscore.models.text_tfidf import TfidfConfig, TfidfRidge, join_fields

from engagement_fixtures import text_rows

runner = CliRunner()


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REELSCORE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REELSCORE_NO_PROGRESS", "1")


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # the signal is a misspelled slang token MiniLM would not know: only n-grams can pick it up
    rng = np.random.default_rng(seed)
    good = rng.random(n) < 0.5
    filler = ["my day", "look at this", "new video", "random stuff", "weekend vibes"]
    texts = [f"{filler[rng.integers(5)]} {'sooooo lit' if g else 'meh ok'}" for g in good]
    y = np.clip(np.where(good, 0.7, 0.3) + 0.05 * rng.normal(size=n), 0, 1)
    return join_fields([texts, [None] * n]), y


def test_tfidf_ridge_learns_surface_tokens_and_round_trips(tmp_path):
    X, y = _rows(120, 0)
    m = TfidfRidge(TfidfConfig(), seed=0).fit(X, y)
    assert float(m.params["alpha"][0]) in TfidfConfig().alphas
    Xt, yt = _rows(60, 1)
    p = m.predict(Xt)
    assert srcc(p, yt) > 0.7  # two groups: the ceiling is ~0.86
    m.save(tmp_path / "x.tfidf.npz")
    with np.load(tmp_path / "x.tfidf.npz", allow_pickle=False) as z:  # plain arrays, no pickled objects
        assert {"word_vocab", "char_vocab", "word_idf", "char_idf", "coef", "intercept"} <= set(z.files)
    m2 = TfidfRidge(TfidfConfig()).load(tmp_path / "x.tfidf.npz")
    np.testing.assert_allclose(m2.predict(Xt), p, rtol=1e-12, atol=1e-12)
    # empty or unseen text: the intercept, finite
    q = m2.predict(np.array(["", "zzzz qqqq"], dtype=object))
    assert np.isfinite(q).all() and abs(q[0] - float(m2.params["intercept"][0])) < 1e-12


def test_tfidf_ridge_fits_all_empty_texts():
    y = np.linspace(0, 1, 10)
    m = TfidfRidge(TfidfConfig(alphas=[1.0]), seed=0).fit(np.array([""] * 10, dtype=object), y)
    assert np.allclose(m.predict(np.array(["", "abc"], dtype=object)), y.mean())


def test_text_model_with_tfidf_member_cli(tmp_path):
    rows = text_rows(80, seed=0)
    rows.to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "cfg.yaml").write_text("fields: [title, description]\nlearner: {learner: ridge}\ntfidf: {char_ngrams: [2, 4]}\n")
    r = runner.invoke(app, ["train", "engagement", "--model", "text", "--labels", str(tmp_path / "train.csv"),
                            "--config", str(tmp_path / "cfg.yaml"), "--out", str(tmp_path / "m"), "--folds", "3"])
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["config"]["text"]["tfidf"]["char_ngrams"] == [2, 4]
    assert meta["config"]["text"]["tfidf"]["word_ngrams"] == [1, 2]  # defaults recorded too
    assert meta["weights"]["ECR"] == ["ECR.ridge.npz", "ECR.tfidf.npz"]
    assert meta["val_metrics"]["ECR"]["srcc_mean"] > 0.5
    test = text_rows(40, seed=7)
    test[["Id", "Title"]].to_csv(tmp_path / "man.csv", index=False)  # no Description column at all
    r = runner.invoke(app, ["predict", "--model", str(tmp_path / "m"), "--manifest", str(tmp_path / "man.csv"),
                            "--out", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    pred = pd.read_csv(tmp_path / "p.csv", dtype={"Id": str})
    assert list(pred["Id"]) == list(test["Id"]) and srcc(pred["ECR"], test["ECR"]) > 0.5

    # the TF-IDF member really takes part: its predictions move the average
    from reelscore.models.registry import load_model

    model = load_model(tmp_path / "m")
    rows_in, _ = model.features(test.rename(columns=str.lower).drop(columns=["ecr"]))
    learner = model.learners["ECR"]
    both = learner.predict(rows_in)
    dense = learner.dense.predict(rows_in.X)
    tf = learner.tfidf.predict(rows_in.texts)
    np.testing.assert_allclose(both, (dense + tf) / 2, rtol=1e-10)
    assert np.abs(tf - dense).max() > 1e-3


TRICKY = ["Hello  World!!", "a b c", "İstanbul ÇOK güzel", "emoji 😀😀 x", "tab\tand\nnewline", "", "   ",
          "don't stop-believing #fyp @me", "ab", "longwordwithoutspaces" * 3, "数字 123 4567 ß straße"]


def test_prediction_counts_the_ngrams_scikit_learn_counts():
    from sklearn.feature_extraction.text import CountVectorizer

    from reelscore.models.text_tfidf import char_wb_terms, word_terms

    for ngrams in ((1, 2), (2, 3), (1, 1)):
        an = CountVectorizer(ngram_range=ngrams, lowercase=True).build_analyzer()
        for t in TRICKY:
            assert word_terms(t, ngrams) == an(t), (t, ngrams)
    for ngrams in ((2, 5), (1, 3), (3, 3)):
        an = CountVectorizer(analyzer="char_wb", ngram_range=ngrams, lowercase=True).build_analyzer()
        for t in TRICKY:
            assert char_wb_terms(t, ngrams) == an(t), (t, ngrams)


def test_prediction_without_scikit_learn_equals_the_sparse_path(tmp_path):
    from reelscore.models.text_tfidf import TfidfConfig, TfidfRidge

    rng = np.random.default_rng(0)
    words = ["cat", "dog", "fyp", "viral", "funny", "spotlight", "day", "my", "new", "video", "😀", "omg"]
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 8))) for _ in range(120)]
    y = np.array([t.count("cat") - 0.5 * t.count("viral") for t in texts], float) + rng.normal(0, 0.1, 120)
    m = TfidfRidge(TfidfConfig(word_min_df=1, char_min_df=1), seed=0).fit(texts, y)
    m.save(tmp_path / "m.tfidf.npz")
    loaded = TfidfRidge(TfidfConfig(word_min_df=1, char_min_df=1)).load(tmp_path / "m.tfidf.npz")
    probe = texts[:20] + TRICKY + ["unknown words only", "CAT Dog"]
    sparse = np.asarray(m._features(probe) @ m.params["coef"] + m.params["intercept"][0])  # the fit-time path
    np.testing.assert_allclose(loaded.predict(probe), sparse, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.predict(probe), loaded.predict(probe), rtol=0, atol=0)
