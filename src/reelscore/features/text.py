"""Text features: all-MiniLM-L6-v2 embeddings of title, description, audio-tag text and caption.

Fields (the paper's text inputs): the manifest's title and description; the
audio extractor's top-5 AudioSet class names joined by ", "; the caption (the
manifest's, else the `caption` extractor's when it ran). Text is cleaned with
`minilm.clean_text` (NaN/None → "", whitespace collapsed); an empty field is a
zero vector with its `<field>_empty` flag set to 1, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelscore.features.base import Extractor, ExtractorOutput, VideoInputs
from reelscore.features.minilm import DIM, MODEL_NAME, clean_text, embed_texts

FIELDS = ["title", "description", "audio_tags", "caption"]


class TextExtractor(Extractor):
    """MiniLM sentence embeddings (384-d, L2-normalised) of the video's text fields, one token per field."""

    name = "text"
    version = "1"
    modality = "text"
    needs = frozenset({"text"})
    requires = ("audio",)
    key_kind = "text"
    sampler = "manifest title / description / caption; audio tags from the `audio` extractor"
    preprocessing = f"{MODEL_NAME} (package tokenizer, mean pooling, L2-normalised); whitespace collapsed; empty → zero vector + flag"

    @dataclass
    class Config:
        """Hyper-parameters of the text extractor."""

        model: str = MODEL_NAME

    def feature_names(self) -> list[str]:
        """384 dims per field, then one empty flag per field."""
        return [f"{f}_{i:03d}" for f in FIELDS for i in range(DIM)] + [f"{f}_empty" for f in FIELDS]

    def setup(self, device: str = "cpu") -> None:
        """Load MiniLM once (the ONNX export on first use)."""
        from reelscore.features.minilm import warm_up

        warm_up()

    def field_texts(self, inputs: VideoInputs) -> list[str]:
        """The four field strings for one video."""
        audio = inputs.prior.get("audio")
        tags = audio.meta.get("tag_text", "") if audio is not None else inputs.texts.get("audio_tags", "")
        caption = clean_text(inputs.texts.get("caption"))
        if not caption and inputs.prior.get("caption") is not None:
            caption = clean_text(inputs.prior["caption"].meta.get("caption", ""))
        return [clean_text(inputs.texts.get("title")), clean_text(inputs.texts.get("description")), clean_text(tags), caption]

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Embed the four fields."""
        texts = self.field_texts(inputs)
        vecs, empty = embed_texts(texts)
        pooled = np.concatenate([vecs.ravel(), empty.astype(np.float32)]).astype(np.float32)
        meta = {"texts": dict(zip(FIELDS, texts)), "empty": [bool(e) for e in empty]}
        return ExtractorOutput(pooled=pooled, token_fields=list(FIELDS), tokens=vecs, meta=meta)
