"""The `t5` plug-in: a local Hugging Face T5 encoder (--t5-model); mean-pooled states of the text fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelscore.features.base import (
    Extractor,
    ExtractorOutput,
    VideoInputs,
)
from reelscore.features.plugin_common import (
    hf_dir,
    need_path,
)


class T5Extractor(Extractor):
    """T5 encoder (mean-pooled states) of title, description, audio tags and caption; model from --t5-model."""

    name = "t5"
    version = "1"
    modality = "text"
    needs = frozenset({"text"})
    requires = ("audio",)
    key_kind = "text"
    sampler = "same fields as `text`"
    preprocessing = "the model's tokenizer (max_length tokens, truncation); mean of encoder states over real tokens"

    @dataclass
    class Config:
        """model_dir: local transformers T5 directory (required)."""

        model_dir: str | None = None
        max_length: int = 128

    def __init__(self, **cfg) -> None:
        super().__init__(**cfg)
        self.path = need_path(self.cfg.model_dir, "--t5-model", self.name, "a local T5 model directory")
        conf = json.loads((Path(hf_dir(self.path)) / "config.json").read_text())
        self._dim = int(conf.get("d_model", 512))
        self.model = self.tok = None
        self.device = "cpu"

    def key_config(self) -> dict:
        """Keyed on the directory name and its config."""
        return {**self.config(), "model": self.path.name, "model_config": (self.path / "config.json").read_text()}

    def feature_names(self) -> list[str]:
        """d_model dims per field, then empty flags."""
        from reelscore.features.text import FIELDS

        return [f"{f}_{i:03d}" for f in FIELDS for i in range(self._dim)] + [f"{f}_empty" for f in FIELDS]

    def setup(self, device: str = "cpu") -> None:
        """Load encoder and tokenizer from the local directory."""
        from transformers import AutoTokenizer, T5EncoderModel

        d = hf_dir(self.path)
        self.tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
        self.model = T5EncoderModel.from_pretrained(d, local_files_only=True).eval().to(device)
        self.device = device

    def encode(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled encoder states [N, d_model]; empty strings → zeros."""
        import torch

        if self.model is None:
            self.setup(self.device)
        out = np.zeros((len(texts), self._dim), np.float32)
        idx = [i for i, t in enumerate(texts) if t]
        if idx:
            enc = self.tok([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True, max_length=self.cfg.max_length)
            enc = {k: v.to(self.device) for k, v in enc.items()}
            with torch.inference_mode():
                h = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
            out[idx] = ((h * m).sum(1) / m.sum(1).clamp(min=1)).float().cpu().numpy()
        return out

    def extract(self, inputs: VideoInputs) -> ExtractorOutput:
        """Encode the four fields."""
        from reelscore.features.text import FIELDS, TextExtractor

        texts = TextExtractor.field_texts(self, inputs)  # same field rules as `text`
        vecs = self.encode(texts)
        empty = np.array([t == "" for t in texts], np.float32)
        return ExtractorOutput(
            pooled=np.concatenate([vecs.ravel(), empty]).astype(np.float32),
            token_fields=list(FIELDS),
            tokens=vecs,
            meta={"empty": [bool(e) for e in empty]},
        )
