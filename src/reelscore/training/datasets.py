"""Torch datasets over the feature store for EngagementNet (clips + text tokens + targets)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reelscore.models.engagement_net import EngagementNetConfig, load_video_inputs


class EngagementDataset:
    """In-memory samples (video_id order) with normalised targets; NaN marks a missing target."""

    def __init__(self, inputs: dict[str, dict[str, Any]], labels: pd.DataFrame, targets: list[str], norm: dict[str, dict]) -> None:
        self.ids = [v for v in inputs if v in labels.index]
        self.samples = []
        for v in self.ids:
            s = dict(inputs[v])
            y = [(float(labels.at[v, t]) - norm[t]["mean"]) / norm[t]["std"] if t in labels.columns else np.nan for t in targets]
            s["y"] = np.asarray(y, dtype=np.float32)
            self.samples.append(s)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.samples[i]


def label_norm(labels: pd.DataFrame, targets: list[str]) -> dict[str, dict[str, float]]:
    """Mean/std of each target over its labelled rows (std 1 when constant)."""
    out = {}
    for t in targets:
        y = labels[t].to_numpy(dtype=float) if t in labels.columns else np.array([])
        y = y[np.isfinite(y)]
        std = float(y.std()) if y.size > 1 else 1.0
        out[t] = {"mean": float(y.mean()) if y.size else 0.0, "std": std if std > 1e-9 else 1.0, "n": int(y.size)}
    return out


def store_inputs(store, cfg: EngagementNetConfig, ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Load every video's inputs from the store (see models.engagement_net.load_video_inputs)."""
    return load_video_inputs(store, cfg, ids)
