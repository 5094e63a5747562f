"""`evaluate`: check the files of a protocol, compute every metric with a bootstrap interval, the final score, a report."""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from reelscore.common.jsonsafe import json_safe as to_jsonable  # noqa: F401 (re-exported: evaluation's public name)
from reelscore.evaluation import metrics as M
from reelscore.evaluation.bootstrap import percentile_interval, replicates
from reelscore.evaluation.pairs import Pairs, pair_positions, read_pairs
from reelscore.evaluation.protocols import Protocol, get_protocol
from reelscore.evaluation.submission import (
    SubmissionError,
    _read_rows,
    align,
    read_durations,
    read_scores,
)

PLCC_MAPPINGS = ("logistic4", "none")


@dataclass
class EvalData:
    """Aligned arrays behind a result (truth order), for reports and further analysis."""

    ids: list[str]
    pred: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]
    durations: np.ndarray | None = None
    pairs: Pairs | None = None
    pair_index: tuple[np.ndarray, np.ndarray] | None = None
    extra: dict = field(default_factory=dict)


def _present_targets(path: str | os.PathLike, proto: Protocol) -> list[str]:
    first = [c.lower() for c in _read_rows(Path(path))[0]]
    present = [t for t in proto.targets if t.lower() in first]
    if not present:
        raise SubmissionError(
            path,
            f"wrong header: expected {proto.id_column} and at least one of {','.join(proto.targets)}, "
            f"found {','.join(first)}",
        )
    return present


def _durations_from_truth(truth, path) -> np.ndarray | None:
    for col, raw in truth.extra.items():
        vals = []
        bad = []
        for s, v in zip(truth.ids, raw):
            try:
                f = float(v)
            except ValueError:
                f = math.nan
            if not (math.isfinite(f) and f > 0):
                bad.append(s)
            vals.append(f)
        if bad:
            raise SubmissionError(path, f"{len(bad)} {col} values not a positive number; first ids: {bad[:5]}")
        return np.array(vals)
    return None


def _metric_entry(
    name: str,
    point: Callable[..., float],
    fast: Callable[..., float],
    arrays: tuple,
    boot_arrays: tuple,
    n_boot: int,
    seed: int,
    stream: int,
    level: float,
) -> tuple[dict, np.ndarray]:
    value = float(point(*arrays))
    reps = replicates(fast, boot_arrays, n_boot, seed, stream) if n_boot > 0 else np.array([])
    if math.isfinite(value) and reps.size:
        ci = percentile_interval(reps, level, name)
    else:
        ci = (math.nan, math.nan)
    return {"value": value, "ci": [ci[0], ci[1]]}, reps


def _rmse_fast(p, t):
    return float(np.sqrt(np.mean((p - t) ** 2)))


def _grouped_fast(edges, kp: int, kt: int):
    bounds = [-math.inf, *edges, math.inf]

    def stat(cp, ct, d):
        vals = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            sel = (d >= lo) & (d < hi)
            if sel.sum() >= 3:
                v = M.srcc_from_codes(cp[sel], ct[sel], kp, kt)
                if math.isfinite(v):
                    vals.append(v)
        return float(np.mean(vals)) if vals else math.nan

    return stat


def evaluate(
    protocol: str,
    pred_path: str | os.PathLike,
    truth_path: str | os.PathLike,
    pairs: str | os.PathLike | None = None,
    durations: str | os.PathLike | None = None,
    report_dir: str | os.PathLike | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    top_k: float = 10.0,
    duration_edges=M.DEFAULT_DURATION_EDGES,
    plcc_mapping: str = "logistic4",
    value_range: tuple[float, float] | None | str = "default",
    level: float = 0.95,
    return_data: bool = False,
    progress: bool = False,
    strict: bool = False,
):
    """Score a prediction file against the truth under `protocol`; returns the result dict (and EvalData if asked).

    Raises SubmissionError (one-line message) for what makes the official score undefined or wrong (missing or
    duplicate ids, NaN/inf, unparsable values, wrong columns); nothing is scored then. What only an organiser's
    format check might refuse (values outside the label range, ids not in the truth) is a warning in
    `result["warnings"]`, or an error with `strict`.
    """
    proto = get_protocol(protocol)
    if plcc_mapping not in PLCC_MAPPINGS:
        raise ValueError(f"plcc_mapping must be one of {PLCC_MAPPINGS}, got {plcc_mapping!r}")
    edges = M._check_edges(duration_edges)
    vr = proto.value_range if isinstance(value_range, str) and value_range == "default" else value_range
    if vr is not None and not (len(vr) == 2 and vr[0] < vr[1]):
        raise ValueError(f"value range must be (low, high) with low < high, got {vr}")

    # ---- read and check every input before computing anything
    targets = _present_targets(pred_path, proto) if proto.any_target_subset else list(proto.targets)
    truth = read_scores(
        truth_path, proto.id_column, targets, proto.header, vr,
        optional_columns=proto.truth_duration_columns, id_aliases=proto.id_aliases, role="truth",
        value_aliases=proto.value_aliases, strict=strict,
    )
    pred = read_scores(
        pred_path, proto.id_column, targets, proto.header, vr,
        id_aliases=proto.id_aliases, role="prediction", value_aliases=proto.value_aliases, strict=strict,
    )
    al = align(pred, truth, strict=strict)
    input_warnings = truth.warnings + pred.warnings
    dur = None
    if durations is not None:
        dur = read_durations(durations, al.key_of_truth, truth.ids)
    elif proto.truth_duration_columns:
        dur = _durations_from_truth(truth, truth_path)
    pair_obj, pidx = None, None
    if pairs is not None:
        pair_obj = read_pairs(pairs)
        pidx = pair_positions(pair_obj, truth.ids, al.key_of_truth)

    data = EvalData(
        ids=list(truth.ids),
        pred={t: pred.values[t][al.pred_index] for t in targets},
        truth={t: truth.values[t] for t in targets},
        durations=dur,
        pairs=pair_obj,
        pair_index=pidx,
    )
    k_name = f"RMSE_top{top_k:g}%"
    result: dict = {
        "protocol": proto.name,
        "title": proto.title,
        "pred": str(pred_path),
        "truth": str(truth_path),
        "pairs_file": str(pairs) if pairs is not None else None,
        "durations_file": str(durations) if durations is not None else None,
        "n_items": len(truth),
        "id_matching": al.mode,
        "settings": {
            "bootstrap": int(n_boot),
            "seed": int(seed),
            "ci_level": level,
            "top_k_percent": top_k,
            "plcc_mapping": plcc_mapping,
            "duration_edges_s": list(edges) if dur is not None else None,
            "value_range": list(vr) if vr is not None else None,
            "final_uses": "raw SRCC and raw PLCC (no logistic mapping), as the official scripts",
        },
        "targets": {},
        "pairs": None,
        "final": None,
        "warnings": [],
    }

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reps_by: dict[str, np.ndarray] = {}
        for ti, t in enumerate(targets):
            p, y = data.pred[t], data.truth[t]
            stream = 10 * (ti + 1)  # all item-level metrics of a target share resamples
            entry: dict = {"metrics": {}, "logistic4_params": None, "duration_groups": None}
            (cp, kp), (cy, ky) = M.rank_codes(p), M.rank_codes(y)
            srcc_codes = lambda a, b, _kp=kp, _ky=ky: M.srcc_from_codes(a, b, _kp, _ky)  # noqa: E731
            # Each spec: name, point estimate on (p, y[, d]), bootstrap statistic, bootstrap arrays.
            specs: list[tuple[str, Callable, Callable, tuple, tuple]] = [
                ("SRCC", M.srcc, srcc_codes, (p, y), (cp, cy)),
                ("KRCC", M.krcc, M.krcc, (p, y), (p, y)),
                ("PLCC", M.plcc, M.fast_plcc, (p, y), (p, y)),
            ]
            if plcc_mapping == "logistic4":
                params = M.fit_logistic4(p, y)
                entry["logistic4_params"] = None if params is None else [float(x) for x in params]
                p0 = None if params is None else list(params)
                specs.append((
                    "PLCC_logistic4",
                    (lambda a, b, _p=params: math.nan if _p is None else M.plcc_logistic4(a, b, p0=list(_p))),
                    # warm start from the full-data fit: a few loose steps suffice per resample
                    (lambda a, b, _p0=p0: M.plcc_logistic4(a, b, p0=_p0, maxfev=400, tol=1e-6)),
                    (p, y),
                    (p, y),
                ))
            specs += [
                ("RMSE", M.rmse, _rmse_fast, (p, y), (p, y)),
                (k_name, lambda a, b: M.rmse_top_k(a, b, top_k), lambda a, b: M.rmse_top_k(a, b, top_k), (p, y), (p, y)),
            ]
            if dur is not None:
                groups = M.duration_groups(p, y, dur, edges)
                entry["duration_groups"] = [g.to_dict() for g in groups]
                specs.append((
                    "SRCC_duration_grouped", lambda a, b, d: _mean_defined(groups),
                    _grouped_fast(edges, kp, ky), (p, y, dur), (cp, cy, dur),
                ))
            shown = _maybe_track(specs, progress and n_boot > 0, f"{t}: {n_boot} resamples")
            for name, point, fast, arrays, boot_arrays in shown:
                entry["metrics"][name], reps_by[f"{t}:{name}"] = _metric_entry(
                    f"{t} {name}", point, fast, arrays, boot_arrays, n_boot, seed, stream, level
                )
            result["targets"][t] = entry

        if pair_obj is not None:
            s = data.pred[targets[0]]
            s1, s2 = s[pidx[0]], s[pidx[1]]
            groups_p = (
                [("Rank1", "homologous (same source)", pair_obj.homologous),
                 ("Rank2", "non-homologous", ~pair_obj.homologous)]
                if proto.rank_pairs
                else [("PairAcc", "all pairs", np.ones(len(pair_obj), dtype=bool))]
            )
            result["pairs"] = {}
            for gi, (name, kind, sel) in enumerate(groups_p):
                arrays = (s1[sel], s2[sel], pair_obj.better[sel])
                entry, reps_by[name] = _metric_entry(
                    name, M.pair_accuracy, M.pair_accuracy, arrays, arrays, n_boot, seed, 100 + gi, level
                )
                entry.update({"n_pairs": int(sel.sum()), "kind": kind})
                n_tied = int(np.sum(arrays[0] == arrays[1]))
                entry["n_tied_predictions"] = n_tied
                result["pairs"][name] = entry
            if np.all(s1 == s2):
                warnings.warn("all pair predictions are tied; every pair counts as 'first is better'", RuntimeWarning)

        if proto.final_weights:
            t0 = targets[0]
            parts, rep_parts, missing = [], [], []
            for m, w in proto.final_weights.items():
                if m in ("Rank1", "Rank2"):
                    e = (result["pairs"] or {}).get(m)
                    key = m
                else:
                    e = result["targets"][t0]["metrics"].get(m)
                    key = f"{t0}:{m}"
                if e is None:
                    missing.append(m)
                    continue
                parts.append(w * e["value"])
                rep_parts.append(w * reps_by[key])
            if missing:
                warnings.warn(
                    f"{proto.name} final score needs {', '.join(missing)} (give the rank pairs with --pairs); final is NaN",
                    RuntimeWarning,
                )
                value, ci = math.nan, (math.nan, math.nan)
            else:
                value = float(sum(parts))
                reps = np.sum(rep_parts, axis=0) if n_boot > 0 else np.array([])
                ci = percentile_interval(reps, level, "final") if (reps.size and math.isfinite(value)) else (math.nan, math.nan)
            result["final"] = {"value": value, "ci": [ci[0], ci[1]], "formula": proto.formula()}

    seen = list(input_warnings)
    for w in caught:
        msg = str(w.message)
        if msg not in seen:
            seen.append(msg)
    result["warnings"] = seen
    for msg in seen:
        warnings.warn(msg, RuntimeWarning, stacklevel=2)

    if report_dir is not None:
        from reelscore.evaluation.report import write_report

        write_report(result, data, report_dir)
    return (result, data) if return_data else result


def _maybe_track(items: list, on: bool, description: str):
    if not on:
        return items
    from reelscore.common.progress import track

    return track(items, description, unit="metric")


def _mean_defined(groups) -> float:
    vals = [g.srcc for g in groups if math.isfinite(g.srcc)]
    if not vals:
        warnings.warn("duration-grouped SRCC: no group has a defined SRCC; result is NaN", RuntimeWarning)
        return math.nan
    return float(np.mean(vals))
