"""The shipped quality default's own leave-one-source-out predictions → metrics, intervals over sources, breakdowns, plot.

    .venv/bin/python bench/quality_default_oof.py --set SET --cv-predictions MODEL_DIR/cv_predictions.csv \
        [--boot 200] [--out bench/results/quality_default_oof]

`train quality` writes cv_predictions.csv (Id, MOS, truth, source) from its leave-one-source-out run; this
script scores them as bench/quality_sources_cv.py scores candidates (its functions), adds a breakdown by
capture distortion and writes JSON + PNG.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality_sources_cv as B  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", type=Path, required=True)
    ap.add_argument("--cv-predictions", type=Path, required=True)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("bench/results/quality_default_oof"))
    args = ap.parse_args()
    lab = pd.read_csv(args.set / "labels.csv")
    lab["Id"] = lab["name"].map(lambda n: Path(n).stem)
    lab = lab.set_index("Id")
    pairs = pd.read_csv(args.set / "pairs.csv")
    oof = pd.read_csv(args.cv_predictions, dtype={"Id": str}).set_index("Id")["MOS"]
    pred = oof.loc[lab.index]
    m = B.metrics(pred, lab, pairs)
    out = {"n_versions": int(len(lab)), "n_sources": int(lab["source"].nunique()),
           "metrics": {k: m.get(k) for k in ("SROCC", "PLCC", "Rank1", "Rank2", "final")},
           "ci95_over_sources": B.boot(pred, lab, pairs, args.boot),
           "by_workflow": B.breakdown(pred, lab, lab["workflow"]),
           "by_resolution": B.breakdown(pred, lab, B.resolution_bucket(lab)),
           "by_step": B.breakdown(pred, lab, B.step_of(lab))}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.json").write_text(json.dumps(out, indent=1, default=float) + "\n")
    B._plot(pred, lab, "quality-default: leave-one-source-out (train quality's own folds)", Path(f"{args.out}.png"))
    print(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
