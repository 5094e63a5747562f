"""Render bench/results/engagement_text_cv.json and engagement_sim.json as Markdown tables (stdout)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def text_table(path: Path) -> str:
    """Markdown table of the text-model CV figures."""
    d = json.loads(path.read_text())
    lines = [f"5-fold CV (seed {d['seed']}), {d['date']}, {d['machine']}", "",
             "| config | data → target | fields | features | learner | SRCC (mean ± sd over folds) | PLCC | EVQA final | pooled OOF SRCC / PLCC |",
             "|---|---|---|---|---|---|---|---|---|"]
    order = sorted(d["results"].items(), key=lambda kv: (kv[1]["dataset"] != "ecr", -kv[1]["final_mean"]))
    for name, r in order:
        tfidf = r["learner"] == "tfidf" or "tfidf" in r["learner"].split("+")[-1]
        feats = "+".join(x for x, on in (("MiniLM", r["embeddings"]), ("hand-made", r["handmade"]), ("TF-IDF", tfidf)) if on)
        ds = "text_ecr_dev → ECR" if r["dataset"] == "ecr" else "captions_dev → engagement_class"
        lines.append(
            f"| `{name}` | {ds} | {', '.join(r['fields'])} | {feats} | {r['learner']} | {r['srcc_mean']:.4f} ± {r['srcc_std']:.4f} | "
            f"{r['plcc_mean']:.4f} ± {r['plcc_std']:.4f} | {r['final_mean']:.4f} | {r['pooled']['srcc']:.4f} / {r['pooled']['plcc']:.4f} |"
        )
    return "\n".join(lines)


def sim_table(path: Path) -> str:
    """Markdown table of the simulated experiments (mean ± sd over seeds)."""
    d = json.loads(path.read_text())
    seeds = sorted({s for r in d["results"].values() for s in r})
    lines = [f"SIMULATED: {d['videos']} videos per seed, seeds {', '.join(seeds)}, clip noise {d['noise']}, "
             f"text strength {d.get('text_strength')}; held-out 20 %; {d['date']}", "",
             "| run | NAWP SRCC | NAWP PLCC | ECR SRCC | ECR PLCC |", "|---|---|---|---|---|"]
    for name, per_seed in d["results"].items():
        cells = []
        for t in ("NAWP", "ECR"):
            for m in ("srcc", "plcc"):
                v = [per_seed[s][t][m] for s in per_seed if t in per_seed[s]]
                cells.append(f"{np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.3f}" if v else "—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    base = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
    if (base / "engagement_text_cv.json").is_file():
        print(text_table(base / "engagement_text_cv.json"))
        print()
    if (base / "engagement_sim.json").is_file():
        print(sim_table(base / "engagement_sim.json"))
