"""Fixtures for the engagement tests: simulated feature stores and small text label files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_POS = ["funny prank on my dad", "wait for the ending", "cutest puppy ever", "crazy skateboard trick", "satisfying slime"]
_NEG = ["monday meeting notes", "tax form instructions", "quarterly report", "parking lot", "insurance policy update"]


def text_rows(n: int, seed: int = 0) -> pd.DataFrame:
    """SnapUGC-style rows (Id, Title, Description, ECR) where ECR follows the text's topic."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        good = rng.random() < 0.5
        pool = _POS if good else _NEG
        title = pool[rng.integers(len(pool))] + (" spotlight  fyp" if rng.random() < 0.5 else "")
        desc = pool[rng.integers(len(pool))] if rng.random() < 0.7 else ""
        ecr = float(np.clip((0.7 if good else 0.3) + 0.1 * rng.normal(), 0, 1))
        rows.append({"Id": f"{i:032x}", "Title": title, "Description": desc, "ECR": ecr})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def sim_store(tmp_path_factory) -> tuple[Path, Path]:
    """(store path, labels CSV) of a 48-video simulated store with visual, motion, audio and text extractors."""
    from reelscore.training.simulate import simulate_store

    d = tmp_path_factory.mktemp("eng_sim")
    labels = simulate_store(d / "store", n_videos=48, seed=0, text_dim=32)
    labels.to_csv(d / "labels.csv", index=False)
    return d / "store", d / "labels.csv"


@pytest.fixture(scope="session")
def tiny_yaml(tmp_path_factory) -> Path:
    """A tiny EngagementNet config (2 epochs)."""
    p = tmp_path_factory.mktemp("eng_cfg") / "tiny.yaml"
    p.write_text("preset: tiny\ntrain:\n  epochs: 2\n  lr: 0.001\n  batch_size: 8\n  ema: 0.9\n")
    return p
