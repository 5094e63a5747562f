"""MiniLM on ONNX Runtime: the package's tokenizer read by `tokenizers` gives sentence-transformers' token ids,
and the exported transformer with NumPy pooling gives the published model's embeddings (within 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest

from reelscore.features import minilm

TEXTS = [
    "a short title",
    "Hello WORLD!  😀 café naïve — über",
    "word " * 400,  # past the 256-token limit: truncated as sentence-transformers truncates
    "日本語のテキストと emoji 🎉🎉",
    b"caf\xe9 latin-1 bytes".decode("utf-8", errors="replace"),
    "x",
    "Ünïcödé, punctuation... and numbers 12345 #hashtag @user http://example.com/a?b=c",
]


def test_tokenizer_gives_the_published_token_ids():
    st = minilm.load_minilm()
    want = st.tokenizer(TEXTS, padding=True, truncation="longest_first", max_length=st.max_seq_length,
                        return_tensors="np")
    enc = minilm.load_tokenizer().encode_batch(TEXTS)
    np.testing.assert_array_equal(np.array([e.ids for e in enc]), want["input_ids"])
    np.testing.assert_array_equal(np.array([e.attention_mask for e in enc]), want["attention_mask"])
    assert max(sum(e.attention_mask) for e in enc) == minilm.max_seq_length() == 256


def test_onnx_embeddings_match_the_torch_model():
    texts = TEXTS + ["", "  ", None, float("nan")]
    ref, ref_empty = minilm.embed_texts(texts, backend_name="torch")
    for batch in (64, 3):  # batches of similar lengths pad differently: same values
        got, empty = minilm.embed_texts(texts, batch_size=batch, backend_name="onnx")
        np.testing.assert_array_equal(empty, ref_empty)
        np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)
        assert not got[empty].any()
        np.testing.assert_allclose(np.linalg.norm(got[~empty], axis=1), 1.0, atol=1e-5)
    assert minilm.onnx_path().exists()


def test_backend_is_chosen_by_the_environment(monkeypatch):
    monkeypatch.setenv("REELSCORE_MINILM_BACKEND", "torch")
    assert minilm.backend() == "torch"
    monkeypatch.delenv("REELSCORE_MINILM_BACKEND")
    assert minilm.backend() == "onnx"
    monkeypatch.setenv("REELSCORE_MINILM_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="onnx, torch"):
        minilm.backend()
