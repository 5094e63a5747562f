"""Evaluation report: metrics.json, PNG plots and an index.html that shows them, written atomically."""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path

import numpy as np

from reelscore.common.atomic import atomic_dir, clean_stale_temps


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "NaN"
    return f"{v:.4f}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _plots(result: dict, data, out: Path) -> list[tuple[str, str]]:
    from reelscore.common.plots import pyplot, save_png

    plt = pyplot()

    from reelscore.evaluation.metrics import logistic4

    figs: list[tuple[str, str]] = []
    for t, entry in result["targets"].items():
        p, y = data.pred[t], data.truth[t]
        m = entry["metrics"]

        fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=100)
        ax.scatter(p, y, s=10, alpha=0.5, edgecolors="none", label="videos")
        params = entry.get("logistic4_params")
        if params is not None and np.ptp(p) > 0:
            xs = np.linspace(p.min(), p.max(), 200)
            ax.plot(xs, logistic4(xs, *params), color="C3", lw=2, label="fitted 4-parameter logistic")
        ax.set_xlabel(f"predicted {t}")
        ax.set_ylabel(f"true {t}")
        ax.set_title(f"{t}: SRCC {_fmt(m['SRCC']['value'])}, PLCC {_fmt(m['PLCC']['value'])}")
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
        name = f"scatter_{_safe(t)}.png"
        fig.tight_layout()
        save_png(fig, out / name)
        figs.append((name, f"{t}: prediction vs truth"))

        fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=100)
        ax.hist(p - y, bins=min(50, max(5, len(p) // 5)), color="C0", alpha=0.8)
        ax.axvline(0, color="k", lw=1)
        ax.set_xlabel(f"prediction − truth ({t})")
        ax.set_ylabel("videos")
        ax.set_title(f"{t}: residuals (RMSE {_fmt(m['RMSE']['value'])})")
        ax.grid(alpha=0.3)
        name = f"residuals_{_safe(t)}.png"
        fig.tight_layout()
        save_png(fig, out / name)
        figs.append((name, f"{t}: residual histogram"))

        groups = entry.get("duration_groups")
        if groups:
            fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=100)
            vals = [g["srcc"] if math.isfinite(g["srcc"]) else 0.0 for g in groups]
            bars = ax.bar([g["label"] for g in groups], vals, color=["C2" if math.isfinite(g["srcc"]) else "0.7" for g in groups])
            for b, g in zip(bars, groups):
                txt = f"{g['srcc']:.3f}\nn={g['n']}" if math.isfinite(g["srcc"]) else f"NaN\nn={g['n']}"
                ax.annotate(txt, (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom", fontsize=8)
            avg = m.get("SRCC_duration_grouped", {}).get("value")
            if avg is not None and math.isfinite(avg):
                ax.axhline(avg, color="C3", ls="--", label=f"average {avg:.3f}")
                ax.legend(loc="lower right", fontsize=8)
            ax.set_ylabel("SRCC")
            ax.set_xlabel("duration group")
            ax.set_title(f"{t}: SRCC per duration group")
            ax.set_ylim(min(0.0, min(vals) - 0.1), 1.1)
            ax.grid(alpha=0.3, axis="y")
            name = f"duration_srcc_{_safe(t)}.png"
            fig.tight_layout()
            save_png(fig, out / name)
            figs.append((name, f"{t}: SRCC per duration group"))

    if result.get("pairs"):
        fig, ax = plt.subplots(figsize=(5.0, 4.0), dpi=100)
        names = list(result["pairs"])
        vals = [result["pairs"][n]["value"] for n in names]
        lo = [v - result["pairs"][n]["ci"][0] if math.isfinite(result["pairs"][n]["ci"][0]) else 0 for n, v in zip(names, vals)]
        hi = [result["pairs"][n]["ci"][1] - v if math.isfinite(result["pairs"][n]["ci"][1]) else 0 for n, v in zip(names, vals)]
        labels = [f"{n}\n{result['pairs'][n]['kind']}\n({result['pairs'][n]['n_pairs']} pairs)" for n in names]
        shown = [v if math.isfinite(v) else 0.0 for v in vals]
        ax.bar(labels, shown, yerr=[lo, hi], capsize=6, color=["C1", "C4", "C5"][: len(names)])
        ax.axhline(0.5, color="k", ls=":", lw=1, label="chance")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("pair-order accuracy")
        ax.set_title("Rank-pair accuracy (95 % bootstrap interval)")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        save_png(fig, out / "pairs.png")
        figs.append(("pairs.png", "rank-pair accuracies"))
    return figs


def _html(result: dict, figs: list[tuple[str, str]]) -> str:
    e = html.escape
    rows = []
    for t, entry in result["targets"].items():
        for name, m in entry["metrics"].items():
            rows.append((t, name, m["value"], m["ci"]))
    for name, m in (result.get("pairs") or {}).items():
        rows.append((f"pairs ({m['kind']}, n={m['n_pairs']})", name, m["value"], m["ci"]))
    if result.get("final"):
        f = result["final"]
        rows.append(("final", f["formula"], f["value"], f["ci"]))
    level = int(round(result["settings"]["ci_level"] * 100))
    trs = "\n".join(
        f"<tr{' class=final' if t == 'final' else ''}><td>{e(str(t))}</td><td>{e(str(n))}</td>"
        f"<td class=num>{_fmt(v)}</td><td class=num>[{_fmt(ci[0])}, {_fmt(ci[1])}]</td></tr>"
        for t, n, v, ci in rows
    )
    imgs = "\n".join(
        f'<figure><img src="{e(n)}" alt="{e(cap)}"><figcaption>{e(cap)}</figcaption></figure>' for n, cap in figs
    )
    warn = "".join(f"<li>{e(w)}</li>" for w in result.get("warnings", []))
    s = result["settings"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>reelscore evaluation — {e(result['protocol'])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 4px 10px; }}
th {{ background: #f0f0f0; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.final td {{ font-weight: bold; background: #fff6d8; }}
figure {{ display: inline-block; margin: 0.5em; vertical-align: top; }}
figure img {{ max-width: 560px; border: 1px solid #ddd; }}
.meta {{ color: #555; font-size: 0.9em; }}
</style></head><body>
<h1>{e(result['title'])}</h1>
<p class="meta">protocol <b>{e(result['protocol'])}</b> · {result['n_items']} items · ids matched {e(result['id_matching'])}<br>
prediction: {e(result['pred'])}<br>truth: {e(result['truth'])}<br>
{f"pairs: {e(result['pairs_file'])}<br>" if result.get('pairs_file') else ''}
{f"durations: {e(result['durations_file'])}<br>" if result.get('durations_file') else ''}
bootstrap: {s['bootstrap']} resamples, seed {s['seed']}, {level} % percentile intervals · PLCC mapping: {e(s['plcc_mapping'])} · final uses raw SRCC/PLCC</p>
<table><thead><tr><th>target</th><th>metric</th><th>value</th><th>{level} % interval</th></tr></thead>
<tbody>
{trs}
</tbody></table>
{'' if result.get('final') else '<p class="meta">This protocol defines no combined final score.</p>'}
{f'<h2>Warnings</h2><ul>{warn}</ul>' if warn else ''}
<h2>Plots</h2>
{imgs}
</body></html>
"""


def write_report(result: dict, data, report_dir: str | os.PathLike) -> Path:
    """Write metrics.json, the PNG plots and index.html into `report_dir` (replaced atomically)."""
    from reelscore.common.jsonsafe import json_safe as to_jsonable

    report_dir = Path(report_dir)
    clean_stale_temps(report_dir)  # the temp directory of a run killed while writing its report
    with atomic_dir(report_dir) as tmp:
        figs = _plots(result, data, tmp)
        (tmp / "metrics.json").write_text(json.dumps(to_jsonable(result), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        (tmp / "index.html").write_text(_html(result, figs), encoding="utf-8")
    return report_dir
