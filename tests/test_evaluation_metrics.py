"""Metrics against independent implementations (hand-written numpy) on random, tied and adversarial inputs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as st

from reelscore.evaluation import metrics as M
from reelscore.evaluation.bootstrap import percentile_interval, replicates


# ---------- independent reference implementations (no scipy.stats)
def ref_ranks(x):
    """Average ranks (1-based) by explicit tie groups."""
    x = np.asarray(x, dtype=float)
    order = sorted(range(len(x)), key=lambda i: x[i])
    ranks = np.empty(len(x))
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def ref_pearson(a, b):
    a = np.asarray(a, dtype=np.longdouble)
    b = np.asarray(b, dtype=np.longdouble)
    n = len(a)
    ma, mb = a.sum() / n, b.sum() / n
    cov = ((a - ma) * (b - mb)).sum()
    return float(cov / np.sqrt(((a - ma) ** 2).sum() * ((b - mb) ** 2).sum()))


def ref_spearman(a, b):
    return ref_pearson(ref_ranks(a), ref_ranks(b))


def ref_kendall_b(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    iu = np.triu_indices(len(a), 1)
    da, db = da[iu], db[iu]
    s = float(np.sum(da * db))
    n0 = len(da)
    ta = float(np.sum(da == 0))
    tb = float(np.sum(db == 0))
    return s / math.sqrt((n0 - ta) * (n0 - tb))


def cases():
    rng = np.random.default_rng(7)
    n = 200
    x = rng.normal(size=n)
    out = {
        "random": (x + rng.normal(scale=0.7, size=n), x),
        "tied": (rng.integers(0, 5, n).astype(float), rng.integers(0, 4, n).astype(float)),
        "reversed": (-np.arange(50.0), np.arange(50.0)),
        "large_offset": (1e9 + rng.normal(size=60), 1e9 + rng.normal(size=60)),
        "outlier": (np.r_[np.arange(30.0), 1e6], np.r_[np.arange(30.0), -5.0]),
        "mostly_tied": (np.r_[np.zeros(40), 1.0, 2.0], np.r_[rng.normal(size=40), 3.0, 4.0]),
        "three": (np.array([1.0, 3.0, 2.0]), np.array([0.1, 0.2, 0.3])),
    }
    return out


CASES = cases()


@pytest.mark.parametrize("name", list(CASES))
def test_correlations_match_reference(name):
    p, t = CASES[name]
    assert M.srcc(p, t) == pytest.approx(ref_spearman(p, t), abs=1e-9)
    assert M.fast_srcc(p, t) == pytest.approx(ref_spearman(p, t), abs=1e-9)
    assert M.krcc(p, t) == pytest.approx(ref_kendall_b(p, t), abs=1e-9)
    if name != "large_offset":  # float64 cancellation at 1e9 makes any non-compensated Pearson differ ~1e-7
        assert M.plcc(p, t) == pytest.approx(ref_pearson(p, t), abs=1e-9)
        assert M.fast_plcc(p, t) == pytest.approx(ref_pearson(p, t), abs=1e-9)
    else:
        assert M.fast_plcc(p, t) == pytest.approx(ref_pearson(p, t), abs=1e-5)
    assert M.rmse(p, t) == pytest.approx(math.sqrt(sum((a - b) ** 2 for a, b in zip(p, t)) / len(p)), rel=1e-12)


@pytest.mark.parametrize(
    "fn", [M.srcc, M.plcc, M.krcc, M.plcc_logistic4], ids=["srcc", "plcc", "krcc", "plcc_logistic4"]
)
@pytest.mark.parametrize(
    "p,t",
    [([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]), ([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]), ([1.0, 2.0], [1.0, 2.0]), ([], [])],
    ids=["constant_pred", "constant_truth", "two_items", "empty"],
)
def test_degenerate_is_nan_with_warning(fn, p, t):
    with pytest.warns(RuntimeWarning, match="NaN"):
        v = fn(p, t)
    assert math.isnan(v)


def test_rmse_top_k_matches_hand_selection():
    rng = np.random.default_rng(3)
    t = rng.uniform(size=95)
    p = t + rng.normal(scale=0.1, size=95)
    m = math.ceil(95 * 10 / 100)  # 10 items
    top = sorted(range(95), key=lambda i: -t[i])[:m]
    want = math.sqrt(sum((p[i] - t[i]) ** 2 for i in top) / m)
    assert M.rmse_top_k(p, t, 10) == pytest.approx(want, rel=1e-12)
    assert M.rmse_top_k(p, t, 100) == pytest.approx(M.rmse(p, t), rel=1e-12)
    # ties at the cut: the first-listed tied items are kept
    tt = np.array([5.0, 1.0, 5.0, 5.0, 0.0])
    pp = np.array([4.0, 0.0, 0.0, 100.0, 0.0])
    assert M.rmse_top_k(pp, tt, 40) == pytest.approx(math.sqrt((1 + 25) / 2))
    with pytest.warns(RuntimeWarning, match="NaN"):
        assert math.isnan(M.rmse_top_k([], [], 10))


def test_grouped_srcc_matches_hand_loop():
    rng = np.random.default_rng(11)
    n = 300
    d = rng.uniform(5, 70, n)
    t = rng.uniform(size=n)
    p = t + rng.normal(scale=0.3, size=n) + 0.01 * d
    edges = (10.0, 20.0, 30.0, 40.0, 50.0)
    bounds = [-np.inf, *edges, np.inf]
    want = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        sel = (d >= lo) & (d < hi)
        if sel.sum() >= 3:
            want.append(ref_spearman(p[sel], t[sel]))
    assert M.grouped_srcc(p, t, d, edges) == pytest.approx(float(np.mean(want)), abs=1e-9)
    groups = M.duration_groups(p, t, d, edges)
    assert sum(g.n for g in groups) == n
    assert [g.label for g in groups][0] == "<10 s"


def test_grouped_srcc_small_group_is_warned_and_left_out():
    d = np.array([12, 14, 16, 18, 25, 27], dtype=float)
    t = np.array([1, 2, 3, 4, 5, 6], dtype=float)
    p = np.array([1, 2, 4, 3, 9, 1], dtype=float)
    with pytest.warns(RuntimeWarning, match="20–30 s: 2 items"):
        v = M.grouped_srcc(p, t, d, (10, 20, 30))
    assert v == pytest.approx(ref_spearman(p[:4], t[:4]))
    with pytest.warns(RuntimeWarning):
        assert math.isnan(M.grouped_srcc(p[:2], t[:2], d[:2], (10, 20, 30)))


def test_pair_accuracy_ties_count_as_first_better():
    s1 = np.array([3.0, 1.0, 2.0, 2.0, 5.0])
    s2 = np.array([1.0, 3.0, 2.0, 2.0, 4.0])
    gt = np.array([1, 2, 1, 2, 2])
    # predicted: 1, 2, 1 (tie), 1 (tie), 1 -> matches 1,1,1,0,0
    assert M.pair_accuracy(s1, s2, gt) == pytest.approx(3 / 5)
    with pytest.warns(RuntimeWarning, match="no pairs"):
        assert math.isnan(M.pair_accuracy([], [], []))
    with pytest.raises(ValueError, match="1 .* or 2"):
        M.pair_accuracy([1.0], [2.0], [3])


def test_logistic4_fit_recovers_curve_and_mapped_plcc():
    rng = np.random.default_rng(5)
    x = rng.uniform(-3, 3, 400)
    true = (4.5, 1.2, 0.3, 0.6)
    y = M.logistic4(x, *true)
    params = M.fit_logistic4(x, y)
    assert params is not None
    np.testing.assert_allclose(M.logistic4(x, *params), y, atol=1e-4)
    assert M.plcc_logistic4(x, y) == pytest.approx(1.0, abs=1e-6)
    assert M.plcc(x, y) < 0.99  # the raw PLCC sees the non-linearity
    # mapped PLCC equals a hand Pearson of the mapped predictions
    yn = y + rng.normal(scale=0.3, size=400)
    pn = M.fit_logistic4(x, yn)
    assert M.plcc_logistic4(x, yn) == pytest.approx(ref_pearson(M.logistic4(x, *pn), yn), abs=1e-6)


def test_bootstrap_is_seeded_and_brackets_value():
    rng = np.random.default_rng(0)
    t = rng.normal(size=120)
    p = t + rng.normal(size=120)
    r1 = replicates(M.fast_srcc, (p, t), 200, seed=4)
    r2 = replicates(M.fast_srcc, (p, t), 200, seed=4)
    r3 = replicates(M.fast_srcc, (p, t), 200, seed=5)
    np.testing.assert_array_equal(r1, r2)
    assert not np.array_equal(r1, r3)
    lo, hi = percentile_interval(r1)
    assert lo < M.srcc(p, t) < hi
    # a resample replicate equals the statistic on the same hand-drawn indices
    idx = np.random.default_rng([4, 0]).integers(0, 120, 120)
    assert r1[0] == pytest.approx(ref_spearman(p[idx], t[idx]), abs=1e-9)


def test_bootstrap_interval_nan_when_most_resamples_degenerate():
    p = np.array([1.0, 1.0, 1.0, 2.0])
    t = np.array([1.0, 2.0, 3.0, 4.0])
    reps = replicates(M.fast_srcc, (p, t), 100, seed=0)
    reps[:80] = np.nan
    with pytest.warns(RuntimeWarning, match="interval is NaN"):
        lo, hi = percentile_interval(reps)
    assert math.isnan(lo) and math.isnan(hi)


def test_common_stats_agree_with_scipy_directly():
    rng = np.random.default_rng(2)
    p, t = rng.normal(size=50), rng.normal(size=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert M.srcc(p, t) == pytest.approx(st.spearmanr(p, t)[0])
        assert M.krcc(p, t) == pytest.approx(st.kendalltau(p, t)[0])
