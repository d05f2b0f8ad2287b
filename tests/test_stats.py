"""benchmark.stats against references: scipy, brute-force definitions, published worked examples."""
from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from benchmark import bootstrap as B
from benchmark import metrics as M
from benchmark import stats as S
from benchmark.resampled import auc_from_counts
from benchmark.metrics import MetricInputError


def _binary(seed: int, n: int = 120, ties: bool = False, shift: float = 0.2
            ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = (0, 1)
    s = np.clip(rng.normal(0.5 + shift * (y - 0.5), 0.2), 0.0, 1.0)
    return y, (np.round(s, 1) if ties else s)


def _correlated(seed: int, n: int = 150, ties: bool = False):
    """Labels and two correlated score columns on the same videos."""
    y, a = _binary(seed, n, ties)
    rng = np.random.default_rng(seed + 100)
    b = np.clip(0.6 * a + 0.4 * rng.random(n), 0.0, 1.0)
    return y, a, (np.round(b, 1) if ties else b)


# ----------------------------------------------------------------------------- brute force
def _psi(fake: np.ndarray, real: np.ndarray) -> np.ndarray:
    """DeLong (1988) kernel psi(X_i, Y_j) for every fake i and real j: [m, n]."""
    return (fake[:, None] > real[None, :]) + 0.5 * (fake[:, None] == real[None, :])


def _delong_brute(y: np.ndarray, columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """AUCs [k] and their covariance [k, k] from the O(N^2) structural components."""
    v10, v01 = [], []
    for s in columns:
        psi = _psi(s[y == 1], s[y == 0])
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    v10, v01 = np.array(v10), np.array(v01)  # [k, m], [k, n]
    cov = np.atleast_2d(np.cov(v10)) / v10.shape[1] + np.atleast_2d(np.cov(v01)) / v01.shape[1]
    return v10.mean(axis=1), cov


# ----------------------------------------------------------------------------- resampling
@pytest.fixture
def clustered():
    """60 videos from 20 sources; 5 sources hold both classes (a real video and its fakes)."""
    rng = np.random.default_rng(3)
    source = np.repeat(np.arange(20), 3)
    y = np.where(source < 8, 0, 1)
    y[source >= 15] = np.tile([0, 1, 1], 5)  # mixed sources
    s = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    return y, s, np.array([f"src{i:02d}" for i in source])


def test_resamples_keep_class_counts_without_groups():
    y, _ = _binary(0, 50)
    counts = B.Resampler(y, None).counts(np.random.default_rng(0), 300)
    assert counts.shape == (300, 50)
    assert (counts[:, y == 1].sum(axis=1) == y.sum()).all()
    assert (counts[:, y == 0].sum(axis=1) == (1 - y).sum()).all()


def test_resamples_draw_whole_sources_within_strata(clustered):
    y, _, groups = clustered
    resampler = B.Resampler(y, groups)
    counts = resampler.counts(np.random.default_rng(1), 200)  # [200, 60]
    per_source = counts.reshape(200, 20, 3)
    assert (per_source == per_source[:, :, :1]).all(), "a source's videos must be drawn together"
    drawn = per_source[:, :, 0]  # [200, 20] times each source was drawn
    for members, size in (((0, 8), 8), ((8, 15), 7), ((15, 20), 5)):
        assert (drawn[:, members[0]:members[1]].sum(axis=1) == size).all()
    assert resampler.n_clusters == 20 and len(resampler.strata) == 3


def test_jackknife_leaves_out_one_source(clustered):
    y, _, groups = clustered
    blocks = np.concatenate(list(B.Resampler(y, groups).jackknife()))
    assert blocks.shape == (20, 60)
    assert (blocks.reshape(20, 20, 3).sum(axis=2) == 3 * (1 - np.eye(20))).all()


@pytest.mark.parametrize("ties", [False, True])
def test_vectorised_auc_equals_the_metric_on_resampled_indices(ties):
    y, s = _binary(4, 200, ties)
    counts = B.Resampler(y, None, stratify=False).counts(np.random.default_rng(2), 64)
    fast = auc_from_counts(y, s, counts)
    for row, value in zip(counts, fast):
        idx = np.repeat(np.arange(len(y)), row)
        if len(np.unique(y[idx])) < 2:
            assert math.isnan(value)
        else:
            assert value == pytest.approx(M.roc_auc(y[idx], s[idx]), abs=1e-12)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_fast_and_generic_paths_give_the_same_interval(clustered, method):
    y, s, groups = clustered
    generic = functools.partial(M.roc_auc)  # the jackknife (BCa) knows only M.roc_auc itself
    for g in (None, groups):
        fast = S.bootstrap_ci(M.roc_auc, y, s, g, n_resamples=300, seed=5, method=method)
        slow = S.bootstrap_ci(generic, y, s, g, n_resamples=300, seed=5, method=method)
        assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), abs=1e-12)
        assert fast.n_units == (60 if g is None else 20) and fast.clustered == (g is not None)


def test_bootstrap_is_deterministic_for_a_seed():
    y, s = _binary(6, 300)
    first = S.bootstrap_ci(M.average_precision, y, s, n_resamples=200, seed=11)
    assert first == S.bootstrap_ci(M.average_precision, y, s, n_resamples=200, seed=11)
    assert first != S.bootstrap_ci(M.average_precision, y, s, n_resamples=200, seed=12)
    assert first.to_dict()["seed"] == 11 and first.n_resamples == 200
    y, a, b = _correlated(0)
    for result in (first, S.paired_bootstrap(M.roc_auc, y, a, b, n_resamples=50),
                   S.delong_ci(y, a), S.delong_test(y, a, b),
                   S.mcnemar(S.correct_at(y, a), S.correct_at(y, b))):
        json.dumps(result.to_dict())  # reports store them as they are


# ----------------------------------------------------------------------------- vs scipy
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_percentile_and_bca_endpoints_match_scipy_on_its_replicates(seed):
    data = np.random.default_rng(seed).exponential(size=40)  # skewed: BCa != percentile
    for method in ("percentile", "BCa"):
        ref = sps.bootstrap((data,), np.mean, n_resamples=999, method=method, confidence_level=0.9,
                            random_state=np.random.default_rng(seed))
        reps = ref.bootstrap_distribution
        if method == "percentile":
            ours = B.percentile_interval(reps, 0.9)
        else:
            jack = (data.sum() - data) / (len(data) - 1)  # leave-one-out means
            ours = B.bca_interval(reps, data.mean(), jack, 0.9)[:2]
        assert ours == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high),
                                     rel=1e-12)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_full_bootstrap_agrees_with_scipy_within_monte_carlo_error(method):
    rng = np.random.default_rng(7)
    s = rng.exponential(size=150) / 8.0
    y = np.zeros(150, dtype=int)

    def mean_score(_labels, scores):
        return float(np.mean(scores))

    ours = S.bootstrap_ci(mean_score, y, s, n_resamples=4000, seed=1, method=method,
                          level=0.9, stratify=False)
    ref = sps.bootstrap((s,), np.mean, n_resamples=4000, confidence_level=0.9,
                        method="BCa" if method == "bca" else "percentile",
                        random_state=np.random.default_rng(2)).confidence_interval
    se = s.std() / math.sqrt(len(s))
    # Measured over 40 seeds (2000 resamples): the two implementations' mean endpoints agree to
    # 1e-4, and one run's BCa endpoint has a Monte Carlo s.d. of about 0.06 s.e.; a difference
    # of two independent runs beyond 0.25 s.e. (about 3 s.d.) means a different interval.
    assert ours.low == pytest.approx(ref.low, abs=0.25 * se)
    assert ours.high == pytest.approx(ref.high, abs=0.25 * se)


def test_auc_bootstrap_agrees_with_delong_on_large_data():
    y, s = _binary(8, 3000)
    boot = S.bootstrap_ci(M.roc_auc, y, s, n_resamples=2000, seed=0)
    delong = S.delong_ci(y, s)
    assert boot.estimate == pytest.approx(delong.auc, abs=1e-12)
    assert boot.low == pytest.approx(delong.low, abs=0.003)
    assert boot.high == pytest.approx(delong.high, abs=0.003)


# ----------------------------------------------------------------------------- degenerate
def test_undefined_resamples_are_counted_not_dropped():
    y = np.r_[np.zeros(29, int), 1]  # one fake: unstratified resamples often miss it
    s = np.linspace(0, 1, 30)
    res = S.bootstrap_ci(M.roc_auc, y, s, n_resamples=500, seed=3, stratify=False)
    rng = np.random.default_rng(3)  # the same draws, in the same blocks of 256
    resampler = B.Resampler(y, None, stratify=False)
    drawn = np.concatenate([resampler.counts(rng, 256), resampler.counts(rng, 244)])
    assert res.n_undefined == int((drawn[:, -1] == 0).sum()) > 0
    assert "undefined on" in res.note and res.low is not None


def test_one_class_only_is_undefined_not_an_error():
    res = S.bootstrap_ci(M.roc_auc, np.zeros(10, int), np.linspace(0, 1, 10), n_resamples=50)
    assert res.estimate is None and res.low is None and "only class 'real'" in res.note
    assert str(res) == "undefined"
    paired = S.paired_bootstrap(M.roc_auc, np.ones(5, int), np.ones(5) / 2, np.ones(5) / 3)
    assert paired.estimate is None and paired.p_value is None and "only class 'fake'" in paired.note


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_ties_everywhere_give_auc_one_half_with_a_point_interval(method):
    y = np.tile([0, 1], 20)
    res = S.bootstrap_ci(M.roc_auc, y, np.full(40, 0.5), n_resamples=200, method=method)
    assert (res.estimate, res.low, res.high) == (0.5, 0.5, 0.5)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_tiny_data(method):
    y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9])
    res = S.bootstrap_ci(M.roc_auc, y, s, n_resamples=300, method=method)
    assert res.estimate == 0.75 and 0.0 <= res.low <= 0.75 <= res.high <= 1.0


def test_other_metrics_through_the_generic_path():
    rng = np.random.default_rng(9)
    labels = rng.integers(0, 3, 90)
    preds = np.where(rng.random(90) < 0.7, labels, rng.integers(0, 3, 90))
    f1 = S.bootstrap_ci(M.macro_f1, labels, preds, n_resamples=100)
    assert f1.estimate == pytest.approx(M.macro_f1(labels, preds)) and f1.low <= f1.estimate
    y, s = _binary(10, 200)
    tpr = S.bootstrap_ci(functools.partial(M.tpr_at_fpr, max_fpr=0.1), y, s, n_resamples=100)
    assert tpr.low <= tpr.estimate <= tpr.high


# ----------------------------------------------------------------------------- paired bootstrap
def test_paired_bootstrap_of_identical_runs_is_zero_with_p_one():
    y, s = _binary(11, 100)
    for metric in (M.roc_auc, M.eer):
        res = S.paired_bootstrap(metric, y, s, s.copy(), n_resamples=200)
        assert (res.estimate, res.low, res.high, res.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_paired_bootstrap_uses_the_same_resamples_for_both_columns(clustered):
    y, a, groups = clustered
    b = np.clip(a + np.random.default_rng(0).normal(0, 0.2, len(a)), 0, 1)
    res = S.paired_bootstrap(M.roc_auc, y, a, b, groups, n_resamples=300, seed=4)
    one_a = S.bootstrap_ci(M.roc_auc, y, a, groups, n_resamples=300, seed=4)
    assert res.estimate_a == one_a.estimate and res.estimate == res.estimate_a - res.estimate_b
    # the same resamples: replicate by replicate, the difference of the per-column replicates
    rep = B.replicates(M.roc_auc, y, [a, b], B.Resampler(y, groups), 300, 4)
    assert (res.low, res.high) == pytest.approx(B.percentile_interval(rep[:, 0] - rep[:, 1], .95))
    assert rep[:, 0] == pytest.approx(B.replicates(M.roc_auc, y, [a], B.Resampler(y, groups),
                                                   300, 4)[:, 0])


def test_paired_bootstrap_p_value_definition_and_symmetry():
    y = np.tile([0, 1], 30)
    perfect, noise = y * 0.8 + 0.1, np.random.default_rng(0).random(60)
    res = S.paired_bootstrap(M.roc_auc, y, perfect, noise, n_resamples=999, seed=0)
    # every resampled difference is > 0: p = 2 * (0 + 1) / (999 + 1)
    assert res.p_value == pytest.approx(2 / 1000) and res.low > 0
    swapped = S.paired_bootstrap(M.roc_auc, y, noise, perfect, n_resamples=999, seed=0)
    assert swapped.estimate == -res.estimate and swapped.p_value == res.p_value
    assert (swapped.low, swapped.high) == pytest.approx((-res.high, -res.low))


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, message", [
    ({"scores": np.ones(3)}, "scores: expected one row per video (4 labels)"),
    ({"groups": ["a", "b"]}, "groups: expected one source id per video (4 labels)"),
    ({"groups": ["a", None, "b", "b"]}, "groups: expected a source id for every video"),
    ({"labels": [0, 0.5, 1, 1]}, "labels: expected class indices"),
    ({"n_resamples": 0}, "n_resamples: expected a positive integer"),
    ({"level": 95}, "level: expected a confidence level in (0, 1)"),
    ({"method": "bc"}, "method: expected one of percentile, bca, got 'bc'"),
    ({"seed": "1"}, "seed: expected an integer"),
])
def test_bad_bootstrap_input_is_named(kwargs, message):
    args = {"labels": [0, 0, 1, 1], "scores": np.array([0.1, 0.2, 0.3, 0.4]), **kwargs}
    with pytest.raises(MetricInputError) as err:
        S.bootstrap_ci(M.roc_auc, **args)
    assert message in str(err.value)


def test_scores_outside_unit_interval_are_refused_by_the_metric():
    with pytest.raises(MetricInputError, match=r"scores: expected probabilities in \[0, 1\]"):
        S.bootstrap_ci(M.roc_auc, [0, 1], [0.2, 3.0])


# ----------------------------------------------------------------------------- DeLong
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
def test_delong_matches_the_quadratic_definition(seed, ties):
    y, a, b = _correlated(seed, 40 + 30 * seed, ties)
    aucs, cov = _delong_brute(y, [a, b])
    one = S.delong_ci(y, a, level=0.9)
    assert one.auc == pytest.approx(aucs[0], abs=1e-12)
    assert one.auc == pytest.approx(M.roc_auc(y, a), abs=1e-12)
    assert one.variance == pytest.approx(cov[0, 0], rel=1e-10)
    z = sps.norm.ppf(0.95)
    assert one.low == pytest.approx(max(0, aucs[0] - z * math.sqrt(cov[0, 0])), rel=1e-10)
    test = S.delong_test(y, a, b)
    var_diff = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    assert test.difference == pytest.approx(aucs[0] - aucs[1], abs=1e-12)
    assert test.variance == pytest.approx(var_diff, rel=1e-9)
    assert test.z == pytest.approx((aucs[0] - aucs[1]) / math.sqrt(var_diff), rel=1e-9)
    assert test.p_value == pytest.approx(2 * sps.norm.sf(abs(test.z)), rel=1e-9)


def test_delong_reproduces_stata_roctab_on_hanley_mcneil():
    """Hanley & McNeil (1982), Table I: CT ratings 1-5 of 58 normal and 51 abnormal patients.

    Stata's manual, [R] roctab, runs ``roctab disease rating`` on this data (``hanley.dta``) and
    prints Obs 109, ROC area 0.8932, Std. Err. 0.0307 and the asymptotic normal 95 % interval
    0.83295 - 0.95339 (roctab's standard error is DeLong's). Hanley & McNeil report area 0.893.
    """
    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    ratings = np.arange(1, 6) / 5.0  # any increasing map of the ratings into [0, 1]
    scores = np.r_[np.repeat(ratings, normal), np.repeat(ratings, abnormal)]
    labels = np.r_[np.zeros(58, int), np.ones(51, int)]
    res = S.delong_ci(labels, scores)
    assert res.n_real + res.n_fake == 109
    assert res.auc == pytest.approx(0.8932, abs=5e-5)
    assert res.se == pytest.approx(0.0307, abs=5e-5)
    assert (res.low, res.high) == pytest.approx((0.83295, 0.95339), abs=5e-6)


def test_delong_degenerate_cases():
    y = np.tile([0, 1], 10)
    flat = S.delong_ci(y, np.full(20, 0.3))
    assert (flat.auc, flat.variance, flat.low, flat.high) == (0.5, 0.0, 0.5, 0.5)
    same = S.delong_test(y, y * 0.5 + 0.2, y * 0.5 + 0.2)
    assert (same.difference, same.z, same.p_value) == (0.0, 0.0, 1.0)
    perfect = S.delong_test(y, y * 0.5 + 0.2, np.full(20, 0.3))
    assert (perfect.difference, perfect.p_value) == (0.5, 0.0) and "variance" in perfect.note
    one = S.delong_ci(np.zeros(5, int), np.linspace(0, 1, 5))
    assert one.auc is None and "only class 'real'" in one.note
    single_fake = S.delong_ci([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.9])
    assert single_fake.auc == 1.0 and single_fake.variance is None
    assert "at least 2 real and 2 fake" in single_fake.note
    assert S.delong_test([1, 1], [0.2, 0.3], [0.1, 0.1]).p_value is None


def test_delong_bad_input():
    with pytest.raises(MetricInputError, match="labels and scores_b must have one value"):
        S.delong_test([0, 1, 1], [0.1, 0.2, 0.3], [0.1, 0.2])
    with pytest.raises(MetricInputError, match="level: expected a confidence level"):
        S.delong_ci([0, 1], [0.1, 0.2], level=1.0)
    with pytest.raises(MetricInputError, match="scores_b: expected probabilities"):
        S.delong_test([0, 1], [0.1, 0.2], [0.1, 2.0])


# ----------------------------------------------------------------------------- McNemar
def _paired_correct(a_only: int, b_only: int, both: int = 5, neither: int = 3):
    a = np.r_[np.ones(a_only), np.zeros(b_only), np.ones(both), np.zeros(neither)].astype(bool)
    b = np.r_[np.zeros(a_only), np.ones(b_only), np.ones(both), np.zeros(neither)].astype(bool)
    return a, b


def test_mcnemar_worked_example():
    """Fagerland, Lydersen & Laake (2013), BMC Med Res Methodol 13:91, Table 1: 1 and 7
    discordant pairs. By hand, X ~ Bin(8, 1/2): P(X <= 1) = (1 + 8) / 256, P(X = 1) = 8 / 256;
    exact p = 2 * 9 / 256 = 0.0703 and mid-p = 0.0703 - 0.0313 = 0.0391 (the paper's 0.070 and
    0.039)."""
    a, b = _paired_correct(1, 7)
    exact, midp = S.mcnemar(a, b), S.mcnemar(a, b, "midp")
    assert (exact.a_only, exact.b_only) == (1, 7)
    assert exact.p_value == pytest.approx(18 / 256, abs=1e-15)
    assert midp.p_value == pytest.approx(10 / 256, abs=1e-15)
    assert exact.difference == pytest.approx((1 + 5) / 16 - (7 + 5) / 16)


@pytest.mark.parametrize("a_only, b_only", [(0, 0), (0, 1), (3, 3), (2, 9), (15, 4), (40, 61),
                                            (0, 25)])
def test_mcnemar_against_scipy_binomtest_and_exact_sums(a_only, b_only):
    a, b = _paired_correct(a_only, b_only)
    n, k = a_only + b_only, min(a_only, b_only)
    exact = S.mcnemar(a, b).p_value
    midp = S.mcnemar(a, b, variant="midp").p_value
    if n == 0:
        assert exact == midp == 1.0
        return
    assert exact == pytest.approx(sps.binomtest(a_only, n, 0.5).pvalue, rel=1e-12)
    tail = sum(math.comb(n, i) for i in range(k + 1))  # exact integer arithmetic
    assert exact == pytest.approx(min(1.0, 2 * tail / 2 ** n), rel=1e-12)
    assert midp == pytest.approx(min(1.0, (2 * tail - math.comb(n, k)) / 2 ** n), rel=1e-12)
    assert midp <= exact
    if a_only == b_only:
        assert exact == midp == 1.0


def test_mcnemar_of_identical_classifiers_and_correct_at():
    y, s = _binary(12, 80)
    right = S.correct_at(y, s, 0.5)
    assert right.mean() == pytest.approx(M.accuracy(y, s, 0.5))
    res = S.mcnemar(right, right.copy(), "midp")
    assert (res.a_only, res.b_only, res.difference, res.p_value) == (0, 0, 0.0, 1.0)


def test_mcnemar_bad_input():
    with pytest.raises(MetricInputError, match="variant: expected one of exact, midp"):
        S.mcnemar([True], [False], variant="asymptotic")
    with pytest.raises(MetricInputError, match=r"correct_b: expected True/False .* 2 at index 1"):
        S.mcnemar([1, 0], [1, 2])
    with pytest.raises(MetricInputError, match="correct_a and correct_b must have one value"):
        S.mcnemar([1, 0], [1])


# ----------------------------------------------------------------------------- Holm
def test_holm_hand_worked():
    # sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> max 0.06
    assert S.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # capped at 1, ties keep their order, dict in -> dict out
    assert S.holm({"a": 0.5, "b": 0.5, "c": 0.01}) == pytest.approx({"a": 1.0, "b": 1.0,
                                                                     "c": 0.03})
    assert S.holm([]).shape == (0,)
    with pytest.raises(MetricInputError, match=r"pvalues: expected p-values in \[0, 1\]"):
        S.holm([0.2, 1.5])


@pytest.mark.parametrize("metric", ["ap", "eer", "tpr5", "tpr01", "acc", "pauc", "pauc30", "brier", "ece"])
def test_vectorised_bootstrap_metrics_equal_the_loop(metric):
    """Each vectorised form (declared with its metric, benchmark.metric_catalog) gives what calling
    the metric on the resampled videos gives, ties and undefined resamples included."""
    import functools

    from benchmark import deployment as D
    from benchmark import metrics as M
    from benchmark.bootstrap import Resampler, _evaluate, call_metric

    fn = {"ap": M.average_precision, "eer": M.eer, "tpr5": M.tpr_at_fpr,
          "tpr01": functools.partial(M.tpr_at_fpr, max_fpr=0.1),
          "acc": functools.partial(M.accuracy, threshold=0.45), "pauc": D.partial_auc,
          "pauc30": functools.partial(D.partial_auc, max_fpr=0.3), "brier": D.brier_score,
          "ece": D.expected_calibration_error}[metric]
    rng = np.random.default_rng(3)
    for _ in range(4):
        n = int(rng.integers(6, 60))
        y = (rng.random(n) < 0.4).astype(int)
        y[:2] = [0, 1]
        s = np.round(np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1), int(rng.integers(1, 3)))
        counts = Resampler(y, None, stratify=False).counts(rng, 64)  # some resamples lose a class
        fast = _evaluate(fn, y, [s], counts)[:, 0]
        slow = np.array([call_metric(fn, y[np.repeat(np.arange(n), c)], s[np.repeat(np.arange(n), c)])[0]
                         for c in counts])
        np.testing.assert_allclose(fast, slow, atol=1e-12, equal_nan=True)


def test_unique_sources_are_not_reported_as_clustered():
    y, s = _binary(13, 40)
    res = S.bootstrap_ci(M.roc_auc, y, s, [f"v{i}" for i in range(40)], n_resamples=50)
    assert (res.clustered, res.n_units) == (False, 40)


@pytest.mark.parametrize("ties", [False, True])
def test_closed_form_auc_jackknife_equals_leaving_each_source_out(clustered, ties):
    y, s, groups = clustered
    s = np.round(s, 1) if ties else s
    for g in (None, groups):
        resampler = B.Resampler(y, g)
        fast = B.jackknife(M.roc_auc, y, [s], resampler)[:, 0]
        slow = B.jackknife(functools.partial(M.roc_auc), y, [s], resampler)[:, 0]
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-15)
    lonely = B.jackknife(M.roc_auc, np.array([0, 0, 1]), [np.array([0.1, 0.5, 0.9])],
                         B.Resampler(np.array([0, 0, 1]), None))[:, 0]
    assert np.isnan(lonely[2]) and lonely[0] == lonely[1] == 1.0  # the only fake left out
