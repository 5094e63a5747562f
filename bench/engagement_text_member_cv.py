"""Is the fused model's text member at least as good as the old text default on `text_ecr_dev.csv`?

    .venv/bin/python bench/engagement_text_member_cv.py --data ../shared/data/snapugc \
        --out bench/results/engagement_text_member.json

The same 5 folds (seed 0) and config as `bench/engagement_text_cv.py`'s shipped default
(MiniLM title+description+joined + counts → ridge/LightGBM/XGBoost + TF-IDF ridge), fit
(a) on the text_ecr_dev training folds only (the old default's recipe) and
(b) on those folds plus every coldsignal_dev row whose id is not in the held-out fold
    (the new text member's training data; shared ids carry identical labels).
Evaluation ids are dropped. Figures: SRCC, PLCC, EVQA final on text_ecr_dev out of fold.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    """Run both recipes on the same folds and write a JSON of figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data/snapugc"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/engagement_text_member.json"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from reelscore.common.config import config_from_dict
    from reelscore.models.fused import FusedConfig, known_empty_texts
    from reelscore.models.text_features import normalise_text_columns
    from reelscore.models.text_models import TextModel, TextModelConfig
    from reelscore.training.cv import kfold_cv

    ev = set((args.data / "evaluation_ids.txt").read_text().split())
    te = pd.read_csv(args.data / "text_ecr_dev.csv")
    te = te[~te.Id.isin(ev)].reset_index(drop=True)
    cs = pd.read_csv(args.data / "coldsignal_dev.csv")
    cs = cs[~cs.Id.isin(ev)].reset_index(drop=True)

    def norm(df):
        return known_empty_texts(normalise_text_columns(df.rename(columns={"Id": "video_id"})))

    T, C = norm(te), norm(cs)
    y = te.ECR.to_numpy(float)
    text_cfg = FusedConfig().text
    res = {}
    for name, extra in (("text_ecr_dev only (old default recipe)", False), ("+ coldsignal_dev rows (new text member)", True)):
        t0 = time.time()

        def fit_predict(tr, ho):
            held = set(te.Id.iloc[ho])
            X = T.iloc[tr]
            Y = y[tr]
            if extra:
                add = C[~cs.Id.isin(held) & ~cs.Id.isin(te.Id.iloc[tr])]
                X = pd.concat([X, add])
                Y = np.r_[Y, cs.ECR.to_numpy(float)[add.index]]
            m = TextModel(config_from_dict(TextModelConfig, json.loads(json.dumps(text_cfg))))
            m.fit(X.reset_index(drop=True), pd.DataFrame({"ECR": Y}))
            return m.predict(T.iloc[ho].reset_index(drop=True))["ECR"].to_numpy()

        figs, _ = kfold_cv(fit_predict, len(y), y, args.folds, args.seed,
                           on_fold=lambda k, f: print(f"  {name} fold {k + 1}: SRCC {f['srcc']:.4f}", flush=True))
        res[name] = {k: v for k, v in figs.items() if k != "per_fold"} | {"seconds": round(time.time() - t0, 1)}
        print(name, {k: round(v, 4) for k, v in figs.items() if k.endswith("_mean")}, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": len(y), "coldsignal_rows": len(cs), "results": res}, indent=1))


if __name__ == "__main__":
    main()
