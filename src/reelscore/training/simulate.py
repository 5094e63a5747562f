"""A simulated feature store whose features carry a hidden appeal, for smoke tests and simulated experiments.

Each video has a hidden hook h (appeal of its first seconds) and body b (appeal of the
rest). ECR follows mostly h, NAWP mostly b (their correlation is set by `rho`). Clip
features of the `visual` and `motion` extractors carry h in clips starting before 5 s and
b in every clip; the `audio` extractor is video-level (pooled only) and carries b weakly;
`text` tokens (title, description) carry b + h weakly. Written through the real
FeatureStore API, so training reads it exactly as it reads extracted features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CLIP_SECONDS = 4.0


def _spec(name: str, dim: int, clip_dim: int | None, key: str = "media", modality: str = "visual") -> dict:
    return {
        "name": name, "version": "sim1", "spec_id": f"vsim1-{name}", "modality": modality, "key": key,
        "sampler": "simulated", "preprocessing": "simulated", "config": {"simulated": True}, "dim": dim,
        "clip_dim": clip_dim, "feature_names": [f"f{i}" for i in range(dim)],
        "clip_feature_names": None if clip_dim is None else [f"f{i}" for i in range(clip_dim)],
    }


def simulate_store(
    path: str | Path,
    n_videos: int = 200,
    seed: int = 0,
    rho: float = 0.6,
    noise: float = 1.0,
    text_dim: int = 384,
    extractors: tuple[str, ...] = ("visual", "motion", "audio", "text"),
    text_strength: float = 0.3,
    hidden: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Write a simulated store at `path`; return labels (video_id, duration_s, ecr, nawp, hook, body).

    `hidden` (video_id, duration_s, hook, body; e.g. from `hidden_from_view_simulator`) replaces the
    drawn videos, so features can be tied to the appeal behind `reelscore simulate-views` logs.
    """
    from reelscore.features.base import ExtractorOutput
    from reelscore.features.store import FeatureStore

    rng = np.random.default_rng(seed)
    store = FeatureStore(path)
    specs = {
        "visual": _spec("visual", 16, 16),
        "motion": _spec("motion", 8, 8),
        "audio": _spec("audio", 8, None, modality="audio"),
        "text": _spec("text", text_dim, None, key="text", modality="text"),
    }
    unknown = set(extractors) - set(specs)
    if unknown:
        raise ValueError(f"simulate_store: unknown extractors {sorted(unknown)}; known: {sorted(specs)}")
    store.register([specs[n] for n in extractors])
    w = {n: rng.normal(size=(2, s["clip_dim"] or s["dim"])) for n, s in specs.items()}
    text_dir = rng.normal(size=(2, text_dim))
    rows = []
    if hidden is not None:
        n_videos = len(hidden)
    for i in range(n_videos):
        vid = f"sim{i:05d}"
        dur = float(rng.uniform(8, 40))
        h = rng.normal()
        b = rho * h + np.sqrt(1 - rho**2) * rng.normal()
        if hidden is not None:
            vid, dur, h, b = (str(hidden["video_id"].iloc[i]), float(hidden["duration_s"].iloc[i]),
                              float(hidden["hook"].iloc[i]), float(hidden["body"].iloc[i]))
        ecr = 1 / (1 + np.exp(-(1.5 * h + 0.3 * b + 0.3 * rng.normal())))
        nawp = 1 / (1 + np.exp(-(0.3 * h + 1.5 * b + 0.3 * rng.normal())))
        starts = np.arange(int(np.ceil(dur / CLIP_SECONDS))) * CLIP_SECONDS
        early = (starts < 5.0).astype(float)[:, None]
        for name, strength in (("visual", 1.0), ("motion", 0.5)):
            # draw even when not written, so labels do not depend on which extractors are kept
            C = len(starts)
            feats = noise * rng.normal(size=(C, w[name].shape[1])) + strength * (early * h * w[name][0] + b * w[name][1])
            if name in extractors:
                out = ExtractorOutput(pooled=feats.mean(0).astype(np.float32), clip_starts=starts, clips=feats.astype(np.float32))
                store.write_row(specs[name], f"m{vid}", out)
        audio = noise * rng.normal(size=8) + 0.4 * b * w["audio"][1]
        if "audio" in extractors:
            store.write_row(specs["audio"], f"m{vid}", ExtractorOutput(pooled=audio.astype(np.float32)))
        toks = rng.normal(size=(2, text_dim)) + text_strength * (b * text_dir[0] + h * text_dir[1]) * np.sqrt(text_dim) / 4
        toks /= np.linalg.norm(toks, axis=1, keepdims=True)
        if "text" in extractors:
            store.write_row(specs["text"], f"t{vid}", ExtractorOutput(pooled=toks.mean(0).astype(np.float32),
                                                                   token_fields=["title", "description"], tokens=toks.astype(np.float32)))
        store.write_index(vid, None, f"m{vid}", f"t{vid}")
        rows.append({"video_id": vid, "duration_s": dur, "ecr": ecr, "nawp": nawp, "hook": h, "body": b})
    return pd.DataFrame(rows)


def hidden_from_view_simulator(n_videos: int, seed: int = 0) -> pd.DataFrame:
    """Hidden factors behind `reelscore simulate-views` (same seed → same videos): hook = z-scored logit of the
    appeal (which sets the early-swipe probability, hence ECR), body = z-scored per-video hold (how well the
    clip keeps viewers who stayed, part of NAWP)."""
    from reelscore.labels.simulate import video_parameters

    p = video_parameters(n_videos, seed)
    q = p["appeal"].clip(1e-4, 1 - 1e-4)
    hook = np.log(q / (1 - q))
    z = lambda x: (x - x.mean()) / (x.std() or 1.0)  # noqa: E731
    return pd.DataFrame({"video_id": p["video_id"], "duration_s": p["duration_s"], "hook": z(hook), "body": z(p["hold"])})
