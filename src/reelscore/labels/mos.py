"""Subjective scores → cleaned MOS: rater consistency, ITU-R BT.500 observer screening, CI outlier removal.

Order of steps (`compute_mos`):
1. Validate rows (rater, video, numeric score); bad rows are dropped with a reason;
   duplicate (rater, video) ratings are averaged.
2. Consistency: each rater's SROCC / PLCC against the mean of the *other* raters on the
   videos they rated; below `min_corr` (0.7) the rater is flagged (and removed only
   when `drop_inconsistent`).
3. BT.500-13 §A1-2.3.1 screening on the remaining raters: per video, mean u, std s and
   kurtosis β2 = m4/m2²; the video is "normal" when 2 ≤ β2 ≤ 4 and the range is 2·s,
   otherwise √20·s. For every rating above u + range P_i += 1, below u − range Q_i += 1.
   Rater i is rejected when (P_i+Q_i)/N_i > 0.05 and |(P_i−Q_i)/(P_i+Q_i)| < 0.3.
4. Per-video MOS, std and 95 % confidence interval u ± 1.96·s/√n from the kept raters.
5. As KVQ did, ratings outside that interval are removed ("mean" basis; the "range" basis
   uses u ± 1.96·s, the 95 % range of the ratings instead) and the MOS is recomputed
   from the rest. A video keeps all its ratings when fewer than 2 would survive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reelscore.common.jsonsafe import json_safe

REQUIRED = ["rater", "video", "score"]


@dataclass
class MosConfig:
    """Screening parameters (defaults follow BT.500-13 and the KVQ paper)."""

    min_corr: float = 0.7
    drop_inconsistent: bool = False
    bt500: bool = True
    pq_ratio: float = 0.05
    pq_balance: float = 0.3
    ci_removal: bool = True
    ci_basis: str = "mean"  # mean | range
    z: float = 1.96
    scale: tuple[float, float] | None = (1.0, 5.0)  # the rating scale; scores outside it are bad rows


@dataclass
class MosResult:
    """Cleaned MOS table plus everything the report needs."""

    mos: pd.DataFrame
    raters: pd.DataFrame
    removed_ratings: pd.DataFrame
    bad_rows: pd.DataFrame
    config: MosConfig
    steps: list[str] = field(default_factory=list)

    def report(self) -> dict:
        """JSON-safe summary of who and what was removed."""
        r = self.raters
        return json_safe({
            "steps": self.steps,
            "config": self.config.__dict__,
            "n_raters": int(len(r)),
            "n_videos": int(len(self.mos)),
            "flagged_inconsistent": r.loc[r["flagged"], "rater"].astype(str).tolist(),
            "rejected_bt500": r.loc[r["rejected_bt500"], "rater"].astype(str).tolist(),
            "removed_raters": r.loc[r["removed"], "rater"].astype(str).tolist(),
            "n_ratings_removed_ci": int(len(self.removed_ratings)),
            "bad_rows": self.bad_rows.to_dict("records"),
            "raters": r.to_dict("records"),
            "removed_ratings": self.removed_ratings.to_dict("records"),
        })


def clean_ratings(
    df: pd.DataFrame, scale: tuple[float, float] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep valid (rater, video, score) rows, scores within `scale`; return (ratings, bad rows with reasons)."""
    if "video" not in df.columns:
        from reelscore.common.tables import find_column

        alt = find_column(df.columns, "id", "video_id")  # the project's id column, accepted as the video
        if alt is not None:
            df = df.rename(columns={alt: "video"})
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"ratings: missing column(s) {missing}; expected rater,video (or Id),score")
    d = df[REQUIRED].copy()
    d["rater"] = d["rater"].astype(str).str.strip()
    d["video"] = d["video"].astype(str).str.strip()
    score = pd.to_numeric(d["score"], errors="coerce")
    not_number = score.isna() | ~np.isfinite(score.fillna(0))
    no_id = d["rater"].isin(["", "nan"]) | d["video"].isin(["", "nan"])
    off_scale = pd.Series(False, index=d.index)
    if scale is not None:
        off_scale = ~not_number & ((score < scale[0]) | (score > scale[1]))
    bad_mask = not_number | no_id | off_scale
    bad = df.loc[bad_mask, REQUIRED].copy()
    bad["reason"] = np.select(
        [not_number[bad_mask], no_id[bad_mask]],
        ["score is not a number", "empty rater or video"],
        default=f"score outside the rating scale {scale}",
    )
    d = d.loc[~bad_mask].assign(score=score[~bad_mask].astype(float))
    d = d.groupby(["rater", "video"], as_index=False)["score"].mean()
    return d, bad.reset_index(drop=True)


def rater_consistency(ratings: pd.DataFrame) -> pd.DataFrame:
    """Each rater's SROCC and PLCC against the mean of the other raters (leave-one-out)."""
    from scipy import stats

    mat = ratings.pivot(index="video", columns="rater", values="score")
    sums = mat.sum(axis=1, skipna=True)
    counts = mat.count(axis=1)
    rows = []
    for r in mat.columns:
        own = mat[r]
        has = own.notna() & (counts - 1 > 0)
        others = (sums[has] - own[has]) / (counts[has] - 1)
        x, y = own[has].to_numpy(float), others.to_numpy(float)
        if len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
            s, p = float(stats.spearmanr(x, y).statistic), float(stats.pearsonr(x, y).statistic)
        else:
            s = p = float("nan")
        rows.append({"rater": r, "n_videos": int(own.notna().sum()), "srcc": s, "plcc": p})
    return pd.DataFrame(rows)


def bt500_screening(ratings: pd.DataFrame, pq_ratio: float = 0.05, pq_balance: float = 0.3) -> pd.DataFrame:
    """BT.500-13 §A1-2.3.1 observer screening: P, Q counts per rater and the rejection decision."""
    g = ratings.groupby("video")["score"]
    u = g.transform("mean")
    # BT.500 uses the sample standard deviation and moment-based kurtosis.
    s = g.transform(lambda x: x.std(ddof=1) if len(x) > 1 else 0.0)
    m2 = g.transform(lambda x: float(np.mean((x - x.mean()) ** 2)))
    m4 = g.transform(lambda x: float(np.mean((x - x.mean()) ** 4)))
    beta2 = np.where(m2 > 0, m4 / np.where(m2 > 0, m2, 1.0) ** 2, np.nan)
    normal = (beta2 >= 2) & (beta2 <= 4)
    width = np.where(normal, 2.0 * s, np.sqrt(20.0) * s)
    d = ratings.assign(P=(ratings["score"] >= u + width) & (width > 0), Q=(ratings["score"] <= u - width) & (width > 0))
    agg = d.groupby("rater").agg(N=("score", "size"), P=("P", "sum"), Q=("Q", "sum")).reset_index()
    pq = agg["P"] + agg["Q"]
    ratio = pq / agg["N"]
    balance = np.where(pq > 0, (agg["P"] - agg["Q"]).abs() / pq.where(pq > 0, 1), 1.0)
    agg["pq_ratio"] = ratio
    agg["pq_balance"] = balance
    agg["rejected_bt500"] = (ratio > pq_ratio) & (balance < pq_balance)
    return agg


def video_mos(ratings: pd.DataFrame, z: float = 1.96) -> pd.DataFrame:
    """Per-video MOS, standard deviation, count and z-based confidence interval of the mean."""
    g = ratings.groupby("video")["score"]
    out = g.agg(mos="mean", std=lambda x: x.std(ddof=1) if len(x) > 1 else 0.0, n="size").reset_index()
    half = z * out["std"] / np.sqrt(out["n"])
    out["ci95_low"] = out["mos"] - half
    out["ci95_high"] = out["mos"] + half
    return out


def compute_mos(ratings_df: pd.DataFrame, cfg: MosConfig | None = None) -> MosResult:
    """Run the whole cleaning pipeline (see the module docstring for the order)."""
    cfg = cfg or MosConfig()
    if cfg.ci_basis not in {"mean", "range"}:
        raise ValueError(f"ci_basis {cfg.ci_basis!r}: expected mean or range")
    steps = []
    ratings, bad = clean_ratings(ratings_df, cfg.scale)
    if ratings.empty:
        raise ValueError("ratings: no valid rows")
    steps.append(f"1. validated rows: {len(ratings)} ratings kept, {len(bad)} bad rows dropped")

    cons = rater_consistency(ratings)
    cons["flagged"] = cons["srcc"].lt(cfg.min_corr) | cons["plcc"].lt(cfg.min_corr)
    removed = set(cons.loc[cons["flagged"], "rater"]) if cfg.drop_inconsistent else set()
    steps.append(
        f"2. consistency vs mean of others: {int(cons['flagged'].sum())} rater(s) below {cfg.min_corr} "
        + ("removed" if cfg.drop_inconsistent else "flagged (kept)")
    )

    kept = ratings[~ratings["rater"].isin(removed)]
    if cfg.bt500:
        scr = bt500_screening(kept, cfg.pq_ratio, cfg.pq_balance)
        rejected = set(scr.loc[scr["rejected_bt500"], "rater"])
        steps.append(f"3. BT.500 screening (P/Q rule, 2σ if 2≤β2≤4 else √20σ): {len(rejected)} rater(s) rejected")
    else:
        scr = pd.DataFrame({"rater": kept["rater"].unique()})
        rejected = set()
        steps.append("3. BT.500 screening skipped")
    raters = cons.merge(scr, on="rater", how="left")
    raters["rejected_bt500"] = raters["rater"].isin(rejected)
    raters["removed"] = raters["rater"].isin(removed | rejected)
    kept = kept[~kept["rater"].isin(rejected)]
    if kept.empty:
        raise ValueError("ratings: every rater was removed by screening")

    stats0 = video_mos(kept, cfg.z)
    steps.append(f"4. per-video MOS and 95% CI from {kept['rater'].nunique()} rater(s)")
    removed_rows = pd.DataFrame(columns=["rater", "video", "score", "low", "high"])
    final = kept
    if cfg.ci_removal:
        k = kept.merge(stats0[["video", "mos", "std", "n"]], on="video")
        half = cfg.z * k["std"] / np.sqrt(k["n"]) if cfg.ci_basis == "mean" else cfg.z * k["std"]
        k["low"], k["high"] = k["mos"] - half, k["mos"] + half
        # Small tolerance so ratings sitting exactly on a bound are kept.
        out = (k["score"] < k["low"] - 1e-9) | (k["score"] > k["high"] + 1e-9)
        survivors = (~out).groupby(k["video"]).transform("sum")
        out &= survivors >= 2
        removed_rows = k.loc[out, ["rater", "video", "score", "low", "high"]].reset_index(drop=True)
        final = k.loc[~out, ["rater", "video", "score"]]
        steps.append(f"5. removed {len(removed_rows)} rating(s) outside the CI ({cfg.ci_basis} basis); MOS recomputed")
    else:
        steps.append("5. CI removal skipped")
    fin = video_mos(final, cfg.z)
    mos = stats0[["video", "mos", "std", "n", "ci95_low", "ci95_high"]].rename(
        columns={"mos": "mos_raw", "std": "std_raw", "n": "n_raw"}
    ).merge(fin[["video", "mos", "std", "n"]], on="video")
    mos = mos[["video", "mos", "std", "n", "mos_raw", "std_raw", "n_raw", "ci95_low", "ci95_high"]]
    return MosResult(mos=mos, raters=raters, removed_ratings=removed_rows, bad_rows=bad, config=cfg, steps=steps)


def plot_report(result: MosResult, png_path) -> None:
    """PNG: rater correlations with the threshold, the P/Q screening plane, and MOS with CIs."""
    from reelscore.common.plots import pyplot, save_png

    plt = pyplot()

    r = result.raters
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ax = axes[0]
    colors = ["tab:red" if rm else ("tab:orange" if fl else "tab:blue") for rm, fl in zip(r["removed"], r["flagged"])]
    ax.bar(r["rater"].astype(str), r["srcc"].fillna(0), color=colors)
    ax.axhline(result.config.min_corr, color="k", ls="--", lw=1, label=f"threshold {result.config.min_corr}")
    ax.set_title("SROCC vs mean of other raters\n(red: removed, orange: flagged)")
    ax.tick_params(axis="x", rotation=90)
    ax.legend(loc="lower left")
    ax = axes[1]
    if "pq_ratio" in r:
        ax.scatter(r["pq_ratio"].fillna(0), r["pq_balance"].fillna(1), c=colors)
        for _, row in r.iterrows():
            ax.annotate(str(row["rater"]), (row.get("pq_ratio", 0) or 0, row.get("pq_balance", 1) or 1), fontsize=7)
        ax.axvline(result.config.pq_ratio, color="k", ls="--", lw=1)
        ax.axhline(result.config.pq_balance, color="k", ls=":", lw=1)
    ax.set_xlabel("(P+Q)/N")
    ax.set_ylabel("|P-Q|/(P+Q)")
    ax.set_title("BT.500 screening (reject: right of -- and below ..)")
    ax = axes[2]
    m = result.mos.sort_values("mos").reset_index(drop=True)
    ax.errorbar(np.arange(len(m)), m["mos_raw"], yerr=[m["mos_raw"] - m["ci95_low"], m["ci95_high"] - m["mos_raw"]], fmt="o", ms=3, alpha=0.6, label="before CI removal")
    ax.plot(np.arange(len(m)), m["mos"], "r.", label="final MOS")
    ax.set_xlabel("video (sorted by MOS)")
    ax.set_ylabel("MOS")
    ax.set_title(f"MOS with 95% CI ({len(result.removed_ratings)} ratings removed)")
    ax.legend()
    fig.tight_layout()
    save_png(fig, png_path, dpi=100)
