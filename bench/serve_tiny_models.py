"""Train two small pooled-feature models for serve benchmarks when the shipped defaults are absent.

    .venv/bin/python bench/serve_tiny_models.py OUT_DIR

Writes OUT_DIR/quality (quality `light`) and OUT_DIR/engagement (`ridge`) on
`technical` + `motion`, trained on generated clips whose labels come from the
encoder CRF. Plumbing for timing runs only: their numbers mean nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from reelscore.features.pipeline import extract
from reelscore.features.store import FeatureStore
from reelscore.media.synth import make_clip
from reelscore.models.light import RidgeModel
from reelscore.models.quality_light import QualityLightModel

FEATS = ["technical", "motion"]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    crfs = [14, 24, 32, 40, 48]
    clips = [make_clip(out / f"crf{c}.mp4", 3.0, 96, 160, 12, crf=c, seed=60 + i) for i, c in enumerate(crfs)]
    manifest = pd.DataFrame({"video_id": [p.stem for p in clips], "path": [str(p) for p in clips],
                             "title": None, "description": None, "caption": None})
    extract(manifest, out / "store", extractors=FEATS, progress=False)
    store = FeatureStore(out / "store")
    pooled = store.pooled(FEATS)
    spec = {n: store.extractors()[n]["version"] for n in FEATS}
    mos = pd.Series({f"crf{c}": 5.0 - 4.0 * (c - 14) / 34 for c in crfs})
    QualityLightModel().fit_mos(pooled, mos, feature_spec=spec).save(out / "quality")
    RidgeModel().fit(pooled, pd.DataFrame({"ECR": mos / 5, "NAWP": mos / 6}), feature_spec=spec).save(out / "engagement")
    print(f"wrote {out / 'quality'} and {out / 'engagement'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/reelscore_tiny_models"))
