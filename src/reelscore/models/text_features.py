"""Text inputs of the text-only engagement models: cached MiniLM embeddings and cheap hand-made features.

SnapUGC titles and descriptions lost their `#` and emoji in the official CSV:
hashtags survive as words preceded by a double space and emoji as their Unicode
names ("face with tears of joy"), so the hand-made counts look for those shapes.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from reelscore.common.cache import cache_dir  # re-exported: training and bench import it from here
from reelscore.features.minilm import DIM, MODEL_NAME, clean_text, embed_texts

TEXT_FIELDS = ("title", "description", "caption")
# Derived fields: embeddings of joined texts (MiniLM then sees title and description in one context).
DERIVED_FIELDS = {"title_description": ("title", "description")}
_EMOJI_WORDS = re.compile(
    r"face|heart|skull|fire|crying|tears|smiling|grinning|eyes|hands?\b|sparkles|thumbs|clapping|"
    r"rolling on the floor|hundred points|folded|flexed|emoji|winking|kiss|star|sweat",
    re.I,
)
_HASHTAG = re.compile(r"(?:^|\s{2})\s*[A-Za-z0-9_\u00C0-\uFFFF]+")
_SPAMTAG = re.compile(r"spotlight|fyp|viral|foryou|trending|explore|snapchat|tiktok|reels", re.I)
_URL = re.compile(r"https?://|www\.", re.I)


class EmbeddingCache:
    """A text → MiniLM vector cache in one .npz file, keyed by the SHA-1 of the cleaned text."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else cache_dir() / "text_embeddings" / f"{MODEL_NAME}.npz"
        self._keys: dict[str, int] = {}
        self._vecs = np.zeros((0, DIM), dtype=np.float32)
        if self.path.is_file():
            try:
                with np.load(self.path) as z:
                    keys, vecs = z["keys"], z["vecs"]
                self._keys = {str(k): i for i, k in enumerate(keys)}
                self._vecs = vecs.astype(np.float32)
            except Exception:  # a corrupt cache is rebuilt, never trusted
                self._keys, self._vecs = {}, np.zeros((0, DIM), dtype=np.float32)

    @staticmethod
    def key(text: str) -> str:
        """Cache key of a cleaned text."""
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed(self, texts: Sequence[object], save: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Embed texts like `embed_texts`, computing only the ones not cached yet."""
        cleaned = [clean_text(t) for t in texts]
        keys = [self.key(c) for c in cleaned]
        missing = sorted({k: c for k, c in zip(keys, cleaned) if c and k not in self._keys}.items())
        if missing:
            vecs, _ = embed_texts([c for _, c in missing])
            base = len(self._vecs)
            self._vecs = np.concatenate([self._vecs, vecs.astype(np.float32)])
            for j, (k, _) in enumerate(missing):
                self._keys[k] = base + j
            if save:
                self.save()
        out = np.zeros((len(cleaned), DIM), dtype=np.float32)
        empty = np.array([c == "" for c in cleaned], dtype=bool)
        for i, (k, c) in enumerate(zip(keys, cleaned)):
            if c:
                out[i] = self._vecs[self._keys[k]]
        return out, empty

    def save(self) -> None:
        """Write the cache atomically (best effort: a read-only home only loses the cache)."""
        from reelscore.common.atomic import atomic_path

        try:
            keys = np.array(sorted(self._keys, key=self._keys.get))
            with atomic_path(self.path, suffix=".npz") as tmp:
                with open(tmp, "wb") as fh:
                    np.savez(fh, keys=keys, vecs=self._vecs)
        except OSError:
            pass


def handmade_features(texts: Sequence[object], prefix: str) -> pd.DataFrame:
    """Cheap per-text counts: length, words, hashtags, emoji words, casing, punctuation, sentiment."""
    sia = _sia()
    rows = []
    for raw in texts:
        t = clean_text(raw)
        spaced = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw)
        n = len(t)
        letters = [c for c in t if c.isalpha()]
        rows.append(
            {
                "empty": float(n == 0),
                "log_chars": np.log1p(n),
                "log_words": np.log1p(len(t.split())),
                "hashtags": float(len(_HASHTAG.findall(spaced)) if "  " in spaced else 0),
                "spam_tags": float(len(_SPAMTAG.findall(t))),
                "emoji_words": float(len(_EMOJI_WORDS.findall(t))),
                "upper_ratio": sum(c.isupper() for c in letters) / len(letters) if letters else 0.0,
                "non_ascii_ratio": sum(ord(c) > 127 for c in t) / n if n else 0.0,
                "digits": float(sum(c.isdigit() for c in t)),
                "question": float(t.count("?")),
                "exclaim": float(t.count("!")),
                "url": float(bool(_URL.search(t))),
                "sentiment": sia.polarity_scores(t)["compound"] if n else 0.0,
            }
        )
    df = pd.DataFrame(rows)
    df.columns = [f"{prefix}:{c}" for c in df.columns]
    return df


_SIA = None


def _sia():
    global _SIA
    if _SIA is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _SIA = SentimentIntensityAnalyzer()
    return _SIA


def text_matrix(
    df: pd.DataFrame,
    fields: Sequence[str],
    embeddings: bool = True,
    handmade: bool = True,
    cache: EmbeddingCache | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Feature matrix [N, D] and column names from the text columns `fields` of `df` (missing column = empty)."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    cache = cache or EmbeddingCache()
    for f in fields:
        if f in DERIVED_FIELDS:
            parts = [df[p].map(clean_text) if p in df.columns else pd.Series([""] * len(df), index=df.index) for p in DERIVED_FIELDS[f]]
            vals = [" | ".join(x for x in row if x) for row in zip(*parts)]
        else:
            col = df[f] if f in df.columns else pd.Series([None] * len(df), index=df.index)
            vals = col.tolist()
        if embeddings:
            vecs, _ = cache.embed(vals)
            blocks.append(vecs)
            names += [f"{f}:emb{i}" for i in range(vecs.shape[1])]
        if handmade and f not in DERIVED_FIELDS:
            hm = handmade_features(vals, f)
            blocks.append(hm.to_numpy(dtype=np.float32))
            names += list(hm.columns)
    if not blocks:
        raise ValueError("text features: nothing selected (no fields, or embeddings and handmade both off)")
    return np.concatenate(blocks, axis=1).astype(np.float32), names


def normalise_text_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Lower-case the known text and id columns (Title→title, Id→video_id) without touching others."""
    ren = {}
    for c in df.columns:
        lc = str(c).strip().lower()
        if lc in TEXT_FIELDS and c != lc:
            ren[c] = lc
        elif lc in {"id", "video_id"} and c != "video_id":
            ren[c] = "video_id"
    return df.rename(columns=ren)
