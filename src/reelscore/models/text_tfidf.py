"""Sparse TF-IDF (word and character n-grams) ridge over raw text, a member of the text models' average.

MiniLM sees meaning but misses the surface forms that SnapUGC texts carry (spam tags,
misspellings, creator slang, emoji spelled as words), which n-gram counts catch. Stored
as plain arrays (vocabulary, IDF weights, coefficients) in one .npz — no pickle. Fitting uses
scikit-learn's vectorizers and `tfidf_matrix`; prediction counts the same n-grams itself
(`word_terms`, `char_wb_terms`, tested against scikit-learn), so scoring a title does not
import scikit-learn (~1.3 s of start-up).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from reelscore.features.minilm import clean_text


@dataclass
class TfidfConfig:
    """N-gram ranges, minimum document frequencies and the ridge alphas tried by inner CV."""

    word_ngrams: list[int] = field(default_factory=lambda: [1, 2])
    char_ngrams: list[int] = field(default_factory=lambda: [2, 5])
    word_min_df: int = 2
    char_min_df: int = 3
    alphas: list[float] = field(default_factory=lambda: [1.0, 3.0, 10.0, 30.0])
    inner_folds: int = 3  # alpha is chosen by k-fold CV inside the training rows only


def join_fields(columns: Sequence[Sequence[object]]) -> np.ndarray:
    """One text per row: the cleaned non-empty fields joined with ' | ' (object array)."""
    rows = zip(*[[clean_text(v) for v in col] for col in columns])
    return np.array([" | ".join(x for x in r if x) for r in rows], dtype=object)


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
_SPACES = re.compile(r"\s\s+")


def word_terms(text: str, ngrams: Sequence[int]) -> list[str]:
    """Word n-grams of a text as CountVectorizer(lowercase=True, ngram_range=ngrams) makes them."""
    tokens = _TOKEN.findall(text.lower())
    lo, hi = int(ngrams[0]), int(ngrams[1])
    out = list(tokens) if lo == 1 else []
    for n in range(max(lo, 2), min(hi, len(tokens)) + 1):
        out.extend(" ".join(tokens[i: i + n]) for i in range(len(tokens) - n + 1))
    return out


def char_wb_terms(text: str, ngrams: Sequence[int]) -> list[str]:
    """Character n-grams inside space-padded words, as CountVectorizer(analyzer="char_wb") makes them."""
    lo, hi = int(ngrams[0]), int(ngrams[1])
    out: list[str] = []
    for w in _SPACES.sub(" ", text.lower()).split():
        w = f" {w} "
        for n in range(lo, hi + 1):
            if len(w) <= n:  # a word shorter than n is one n-gram, once
                out.append(w)
                break
            out.extend(w[i: i + n] for i in range(len(w) - n + 1))
    return out


def _vectorizers(cfg: TfidfConfig, vocab: tuple[dict, dict] | None = None):
    from sklearn.feature_extraction.text import CountVectorizer

    word = CountVectorizer(ngram_range=tuple(cfg.word_ngrams), min_df=1 if vocab else cfg.word_min_df,
                           vocabulary=vocab[0] if vocab else None, lowercase=True)
    char = CountVectorizer(analyzer="char_wb", ngram_range=tuple(cfg.char_ngrams),
                           min_df=1 if vocab else cfg.char_min_df, vocabulary=vocab[1] if vocab else None, lowercase=True)
    return word, char


def tfidf_matrix(counts, idf: np.ndarray):
    """Sublinear TF (1 + log count) × IDF, rows L2-normalised (sklearn's TfidfVectorizer with sublinear_tf)."""
    from sklearn.preprocessing import normalize

    X = counts.astype(np.float64).tocsr(copy=True)
    X.data = 1.0 + np.log(X.data)
    X = X.multiply(idf[None, :]).tocsr()
    return normalize(X, norm="l2", copy=False)


def _idf(counts) -> np.ndarray:
    n = counts.shape[0]
    df = np.bincount(counts.tocsr().indices, minlength=counts.shape[1]) if counts.nnz else np.zeros(counts.shape[1])
    return np.log((1.0 + n) / (1.0 + df)) + 1.0  # smooth IDF, as sklearn


class TfidfRidge:
    """Ridge regression on word + character TF-IDF of one joined text per row."""

    suffix = "tfidf.npz"

    def __init__(self, cfg: TfidfConfig | None = None, seed: int = 0) -> None:
        self.cfg = cfg or TfidfConfig()
        self.seed = seed
        self.params: dict[str, np.ndarray] = {}
        self._vec = None
        self._lookup: tuple[dict, dict] | None = None

    def _features(self, texts: Sequence[str]):
        import scipy.sparse as sp

        if self._vec is None:  # built at first use: scikit-learn's import (~1.3 s) only when text is scored
            self._vec = _vectorizers(self.cfg, self._vocab())
        word, char = self._vec
        return sp.hstack([tfidf_matrix(word.transform(texts), self.params["word_idf"]),
                          tfidf_matrix(char.transform(texts), self.params["char_idf"])]).tocsr()

    def fit(self, texts: Sequence[str], y: np.ndarray) -> "TfidfRidge":
        """Fit vocabulary, IDF and ridge (alpha by inner k-fold CV on these rows) on texts [N], y [N]."""
        from sklearn.linear_model import Ridge

        texts = [str(t) for t in texts]
        y = np.asarray(y, dtype=np.float64)
        word, char = _vectorizers(self.cfg)
        blocks = []
        for name, vec in (("word", word), ("char", char)):
            try:
                counts = vec.fit_transform(texts)
            except ValueError:  # every text empty, or no term reaches min_df: fall back to all terms
                vec.set_params(min_df=1)
                try:
                    counts = vec.fit_transform(texts)
                except ValueError:
                    vec.set_params(vocabulary={" ": 0})
                    counts = vec.fit_transform(texts)
            self.params[f"{name}_vocab"] = np.array(vec.get_feature_names_out(), dtype=str)
            self.params[f"{name}_idf"] = _idf(counts)
            blocks.append(counts)
        self._vec = _vectorizers(self.cfg, self._vocab())
        X = self._features(texts)
        alpha = self._pick_alpha(X, y)
        reg = Ridge(alpha=alpha).fit(X, y)
        self._lookup = None
        self.params.update(coef=np.asarray(reg.coef_, dtype=np.float64), intercept=np.array([float(reg.intercept_)]),
                           alpha=np.array([alpha]))
        return self

    def _pick_alpha(self, X, y: np.ndarray) -> float:
        from sklearn.linear_model import Ridge

        alphas = list(self.cfg.alphas)
        k = min(self.cfg.inner_folds, len(y))
        if len(alphas) == 1 or k < 2:
            return float(alphas[0])
        rng = np.random.default_rng(self.seed + 1)
        fid = np.empty(len(y), dtype=int)
        fid[rng.permutation(len(y))] = np.arange(len(y)) % k
        err = np.zeros(len(alphas))
        for f in range(k):
            tr, te = fid != f, fid == f
            for i, a in enumerate(alphas):
                p = Ridge(alpha=a).fit(X[tr], y[tr]).predict(X[te])
                err[i] += float(((p - y[te]) ** 2).sum())
        return float(alphas[int(np.argmin(err))])

    def _vocab(self) -> tuple[dict, dict]:
        return tuple({str(t): i for i, t in enumerate(self.params[f"{n}_vocab"])} for n in ("word", "char"))  # type: ignore[return-value]

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Predict [N] from joined texts (the n-grams counted here, as scikit-learn's vectorizers count them)."""
        if self._lookup is None:
            self._lookup = self._vocab()
        coef = self.params["coef"]
        blocks = (("word", word_terms, self.cfg.word_ngrams, 0),
                  ("char", char_wb_terms, self.cfg.char_ngrams, len(self.params["word_vocab"])))
        out = np.full(len(texts), float(self.params["intercept"][0]))
        for i, text in enumerate(texts):
            for k, (name, terms, ngrams, offset) in enumerate(blocks):
                counts = Counter(t for t in terms(str(text), ngrams) if t in self._lookup[k])
                if not counts:
                    continue
                idx = np.fromiter((self._lookup[k][t] for t in counts), np.int64, len(counts))
                w = (1.0 + np.log(np.fromiter(counts.values(), np.float64, len(counts)))) * self.params[f"{name}_idf"][idx]
                out[i] += float(w @ coef[offset + idx]) / float(np.sqrt(w @ w))
        return out

    def save(self, path: Path) -> None:
        """Write vocabularies, IDF, coefficients and the chosen alpha as .npz."""
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **self.params)

    def load(self, path: Path) -> "TfidfRidge":
        """Read arrays written by save()."""
        with np.load(path, allow_pickle=False) as z:
            self.params = {k: z[k] for k in z.files}
        self._vec, self._lookup = None, None
        return self
