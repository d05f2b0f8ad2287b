"""benchmark.deployment against scikit-learn on seeded data, hand-worked bins, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from benchmark import deployment as D
from benchmark import metrics as M
from benchmark.metrics import MetricInputError, UndefinedMetricError


def _dataset(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores; odd seeds round scores to 1 decimal so that many of them tie."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 3000))
    y = rng.integers(0, 2, n)
    y[:2] = (0, 1)
    s = np.clip(rng.normal(0.5 + 0.15 * (y - 0.5) * (seed % 4), 0.25), 0.0, 1.0)
    return y, (np.round(s, 1) if seed % 2 else s)


SEEDS = range(10)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("max_fpr", [0.0, 0.001, 0.01, 0.1, 1.0])
def test_operating_point_matches_sklearn_roc_and_counts(seed, max_fpr):
    y, s = _dataset(seed)
    point = D.operating_point(y, s, max_fpr)
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    best = tpr[fpr <= max_fpr].max()
    assert point.tpr == pytest.approx(best, abs=1e-12)
    assert point.tpr == M.tpr_at_fpr(y, s, max_fpr)
    assert point.fpr == pytest.approx(fpr[(fpr <= max_fpr) & (tpr == best)].min(), abs=1e-12)
    called = s >= point.threshold  # the threshold really gives these rates
    assert called[y == 1].mean() == pytest.approx(point.tpr, abs=1e-12)
    assert called[y == 0].mean() == pytest.approx(point.fpr, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("max_fpr", [0.01, 0.05, 0.1, 0.37, 1.0])
def test_partial_auc_matches_sklearn_mcclish(seed, max_fpr):
    y, s = _dataset(seed)
    ref = skm.roc_auc_score(y, s, max_fpr=max_fpr)
    assert D.partial_auc(y, s, max_fpr) == pytest.approx(ref, abs=1e-12)
    # the raw area, from sklearn's standardized value by inverting McClish's map
    chance, perfect = max_fpr ** 2 / 2, max_fpr
    raw = chance + (2 * ref - 1) * (perfect - chance)
    assert D.partial_auc(y, s, max_fpr, standardized=False) == pytest.approx(raw, abs=1e-12)


def test_partial_auc_hand_worked():
    # ROC points (0,0) (0,.5) (.5,.5) (.5,1) (1,1); to FPR .25: rectangle .25 x .5 = .125
    y, s = np.array([1, 0, 1, 0]), np.array([0.9, 0.7, 0.5, 0.3])
    assert D.partial_auc(y, s, 0.25, standardized=False) == pytest.approx(0.125)
    assert D.partial_auc(y, s, 0.25) == pytest.approx(0.5 * (1 + (0.125 - 0.03125) / 0.21875))


@pytest.mark.parametrize("seed", SEEDS)
def test_brier_matches_sklearn(seed):
    y, s = _dataset(seed)
    assert D.brier_score(y, s) == pytest.approx(skm.brier_score_loss(y, s), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("binning, strategy", [("equal-width", "uniform"),
                                               ("equal-mass", "quantile")])
@pytest.mark.parametrize("n_bins", [5, 15])
def test_reliability_bins_match_sklearn_calibration_curve(seed, binning, strategy, n_bins):
    y, s = _dataset(seed)
    bins = D.reliability_diagram(y, s, n_bins, binning)
    assert len(bins) == n_bins and sum(b["count"] for b in bins) == len(y)
    full = [b for b in bins if b["count"]]
    frac, mean = calibration_curve(y, s, n_bins=n_bins, strategy=strategy)
    np.testing.assert_allclose([b["fraction_fake"] for b in full], frac, atol=1e-12)
    np.testing.assert_allclose([b["mean_score"] for b in full], mean, atol=1e-12)
    # ECE from sklearn's bins: count-weighted |mean - fraction|
    counts = np.array([b["count"] for b in full])
    ece = np.sum(counts * np.abs(mean - frac)) / len(y)
    assert D.expected_calibration_error(y, s, n_bins, binning) == pytest.approx(ece, abs=1e-12)


def test_calibration_hand_worked_and_bin_edges():
    # 2 equal-width bins: [0, .5] holds .1, .1, .5 (edge goes low); (.5, 1] holds .9, .9
    y, s = np.array([0, 1, 1, 1, 1]), np.array([0.1, 0.1, 0.5, 0.9, 0.9])
    bins = D.reliability_diagram(y, s, n_bins=2)
    assert [b["count"] for b in bins] == [3, 2]
    assert bins[0]["mean_score"] == pytest.approx(0.7 / 3) and bins[0]["fraction_fake"] == 2 / 3
    ece = (3 * abs(0.7 / 3 - 2 / 3) + 2 * abs(0.9 - 1.0)) / 5
    assert D.expected_calibration_error(y, s, n_bins=2) == pytest.approx(ece)
    empty = D.reliability_diagram(y, s, n_bins=4)[2]  # (.5, .75]: nothing
    assert empty == {"low": 0.5, "high": 0.75, "count": 0, "mean_score": None,
                     "fraction_fake": None}
    perfect = D.expected_calibration_error([0, 0, 1, 1], [0.0, 0.0, 1.0, 1.0])
    assert perfect == 0.0


def test_deployment_summary_keys_and_values():
    y, s = _dataset(2)
    out = D.deployment_summary(y, s)
    assert tuple(out) == D.DEPLOYMENT_KEYS
    assert out["tpr_at_fpr1"] == D.operating_point(y, s, 0.01).tpr
    assert out["fpr_reached_at_fpr0.1"] == D.operating_point(y, s, 0.001).fpr
    assert out["pauc_fpr10"] == pytest.approx(skm.roc_auc_score(y, s, max_fpr=0.1))
    assert out["brier"] == pytest.approx(skm.brier_score_loss(y, s))
    assert (out["ece_bins"], out["ece_binning"], out["pauc_standardized"]) == (
        15, "equal-width", "mcclish")
    assert {m.key for m in D.METRICS} <= set(out)
    assert (y == 0).sum() >= 1000 and out["note"] == ""
    few = D.deployment_summary(y[:400], s[:400])  # FPR steps of 1/n_real > 0.1 %
    assert f"{int((y[:400] == 0).sum())} real videos resolve FPR only in steps" in few["note"]
    assert few["fpr_reached_at_fpr0.1"] == 0.0


def test_deployment_summary_on_one_class_and_no_videos():
    one = D.deployment_summary(np.zeros(6, int), np.linspace(0, 0.5, 6))
    assert one["tpr_at_fpr1"] is None and one["pauc_fpr10"] is None
    assert one["brier"] == pytest.approx(np.mean(np.linspace(0, 0.5, 6) ** 2))
    assert one["ece"] is not None and "only class 'real'" in one["note"]
    none = D.deployment_summary([], [])
    assert none["ece"] is None and none["brier"] is None and "no videos" in none["note"]


@pytest.mark.parametrize("call, message", [
    (lambda: D.partial_auc([0, 1], [0.2, 0.8], 0.0), "max_fpr: expected a number in (0, 1]"),
    (lambda: D.partial_auc([0, 1], [0.2, 0.8], 1.5), "max_fpr: expected a number in [0, 1]"),
    (lambda: D.operating_point([0, 1], [0.2, 1.8]), "scores: expected probabilities in [0, 1]"),
    (lambda: D.expected_calibration_error([0, 1], [0.2, 0.8], n_bins=0),
     "n_bins: expected a positive integer, got 0"),
    (lambda: D.reliability_diagram([0, 1], [0.2, 0.8], binning="quantile"),
     "binning: expected one of equal-width, equal-mass, got 'quantile'"),
    (lambda: D.brier_score([0, 2], [0.2, 0.8]), "labels: expected 0 (real) or 1 (fake)"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(MetricInputError) as err:
        call()
    assert message in str(err.value)


def test_undefined_raise_the_metrics_error():
    with pytest.raises(UndefinedMetricError, match="only class 'fake'"):
        D.partial_auc([1, 1], [0.2, 0.3])
    with pytest.raises(UndefinedMetricError, match="no videos"):
        D.brier_score([], [])
