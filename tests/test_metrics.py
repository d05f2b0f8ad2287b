"""benchmark.metrics against scikit-learn on seeded data, plus input validation."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from benchmark import metrics as M
from benchmark.errors import DataError, VBenchError


def _dataset(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores; odd seeds round scores to 1 decimal so that many of them tie."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 300))
    y = rng.integers(0, 2, n)
    y[:2] = (0, 1)  # both classes always present
    s = np.clip(rng.normal(0.5 + 0.15 * (y - 0.5) * (seed % 4), 0.25), 0.0, 1.0)
    if seed % 2:
        s = np.round(s, 1)
    return y, s


SEEDS = range(12)


def _sk_roc(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return skm.roc_curve(y, s, drop_intermediate=False)


def _sk_eer(y: np.ndarray, s: np.ndarray) -> float:
    """EER the usual way: root of 1 - x - tpr(x) on sklearn's linearly interpolated ROC."""
    from scipy.optimize import brentq

    fpr, tpr, _ = _sk_roc(y, s)
    return brentq(lambda x: 1.0 - x - np.interp(x, fpr, tpr), 0.0, 1.0, xtol=1e-12)


# ----------------------------------------------------------------------------- vs scikit-learn
@pytest.mark.parametrize("seed", SEEDS)
def test_threshold_free_metrics_match_sklearn(seed: int) -> None:
    y, s = _dataset(seed)
    np.testing.assert_allclose(M.roc_auc(y, s), skm.roc_auc_score(y, s), atol=1e-12)
    np.testing.assert_allclose(M.average_precision(y, s), skm.average_precision_score(y, s),
                               atol=1e-12)
    np.testing.assert_allclose(M.eer(y, s), _sk_eer(y, s), atol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("max_fpr", [0.0, 0.01, 0.05, 0.1, 0.5, 1.0])
def test_tpr_at_fpr_matches_sklearn_roc(seed: int, max_fpr: float) -> None:
    y, s = _dataset(seed)
    fpr, tpr, _ = _sk_roc(y, s)
    assert M.tpr_at_fpr(y, s, max_fpr) == pytest.approx(tpr[fpr <= max_fpr].max(), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("drop", [True, False])
def test_roc_points_match_sklearn(seed: int, drop: bool) -> None:
    y, s = _dataset(seed)
    ours = M.roc_points(y, s, drop_intermediate=drop)
    ref = skm.roc_curve(y, s, drop_intermediate=drop)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.8, 1.0])
def test_accuracy_matches_sklearn(seed: int, threshold: float) -> None:
    y, s = _dataset(seed)
    assert M.accuracy(y, s, threshold) == pytest.approx(
        skm.accuracy_score(y, (s >= threshold).astype(int)), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_choose_threshold_maximises_balanced_accuracy(seed: int) -> None:
    y, s = _dataset(seed)
    t = M.choose_threshold(y, s)
    assert 0.0 <= t <= 1.0 and t in set(s)
    best = max(skm.balanced_accuracy_score(y, s >= c) for c in np.unique(s))
    assert skm.balanced_accuracy_score(y, s >= t) == pytest.approx(best, abs=1e-12)
    fpr, tpr, thr = _sk_roc(y, s)
    assert t == thr[1:][np.argmax((tpr - fpr)[1:])]


@pytest.mark.parametrize("seed", SEEDS)
def test_multiclass_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(5, 200)), int(rng.integers(2, 6))
    y = rng.integers(0, c, n)
    probs = rng.dirichlet(np.ones(c), n)
    assert M.top1_accuracy(y, probs) == pytest.approx(
        skm.accuracy_score(y, probs.argmax(1)), abs=1e-12)
    preds = np.where(rng.random(n) < 0.6, y, rng.integers(0, c + 1, n))  # c: a class never true
    assert M.macro_f1(y, preds) == pytest.approx(
        skm.f1_score(y, preds, average="macro"), abs=1e-12)


def test_hand_checked_values() -> None:
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    assert M.roc_auc(y, s) == pytest.approx(0.75)
    assert M.eer(y, s) == pytest.approx(0.5)
    assert M.roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)
    assert M.eer([0, 1], [0.2, 0.9]) == 0.0
    assert M.accuracy([0, 1], [0.5, 0.5]) == 0.5  # score == threshold counts as fake


def test_accepts_lists_bools_and_ints() -> None:
    assert M.roc_auc([False, True], [0, 1]) == 1.0
    assert M.accuracy(np.array([0.0, 1.0]), np.array([0.2, 0.7], dtype=np.float32)) == 1.0


# ----------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("labels, scores, needles", [
    ([0, 2, 1], [0.1, 0.2, 0.3], ["labels", "0 (real) or 1 (fake)", "2", "index 1"]),
    ([0, 1, np.nan], [0.1, 0.2, 0.3], ["labels", "nan", "index 2"]),
    ([[0, 1], [1, 0]], [0.1, 0.2], ["labels", "1-D", "(2, 2)"]),
    ([0, 1], [[0.1, 0.2]], ["scores", "1-D", "(1, 2)"]),
    ([0, 1, 1], [0.1, 0.2], ["one value per video", "3 labels", "2 scores"]),
    ([0, 1], [0.1, 3.2], ["scores", "[0, 1]", "3.2 at index 1", "sigmoid"]),
    ([0, 1], [-0.5, 0.2], ["scores", "[0, 1]", "-0.5", "index 0"]),
    ([0, 1], [0.1, np.nan], ["scores", "finite", "nan", "index 1"]),
    ([0, 1], [0.1, np.inf], ["scores", "finite", "inf"]),
    ([0, 1], ["a", "b"], ["scores", "numbers", "dtype"]),
    ([0, 1], [0.1, None], ["scores", "numbers", "object"]),
])
@pytest.mark.parametrize("metric", [M.roc_auc, M.average_precision, M.eer, M.accuracy,
                                    M.tpr_at_fpr, M.roc_points, M.choose_threshold,
                                    M.binary_summary])
def test_bad_binary_input_says_what_is_wrong(metric, labels, scores, needles) -> None:
    with pytest.raises(M.MetricInputError) as info:
        metric(labels, scores)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} missing from {message!r}"
    assert isinstance(info.value, DataError) and isinstance(info.value, ValueError)


def test_same_length_message() -> None:
    with pytest.raises(M.MetricInputError, match="got 3 labels and 2 scores"):
        M.roc_auc([0, 1, 1], [0.1, 0.2])


@pytest.mark.parametrize("call, needles", [
    (lambda: M.accuracy([0, 1], [0.1, 0.9], threshold=1.5), ["threshold", "[0, 1]", "1.5"]),
    (lambda: M.accuracy([0, 1], [0.1, 0.9], threshold=float("nan")), ["threshold", "nan"]),
    (lambda: M.tpr_at_fpr([0, 1], [0.1, 0.9], max_fpr=-0.1), ["max_fpr", "-0.1"]),
    (lambda: M.binary_summary([0, 1], [0.1, 0.9], val_threshold="0.5"), ["val_threshold"]),
    (lambda: M.top1_accuracy([0, 1], [[0.2, 0.8]]), ["1 rows of probs", "2 labels"]),
    (lambda: M.top1_accuracy([0, 1], [0.2, 0.8]), ["probs", "2-D", "(2,)"]),
    (lambda: M.top1_accuracy([0, 1], [[2.0, -1.0], [0.5, 0.5]]),
     ["probs", "[0, 1]", "2.0", "row 0, column 0"]),
    (lambda: M.top1_accuracy([0, 1], [[0.9, 0.9], [0.5, 0.5]]), ["row 0", "sums to 1.8"]),
    (lambda: M.top1_accuracy([0, 3], [[0.1, 0.9], [0.5, 0.5]]),
     ["class 3", "index 1", "2 classes"]),
    (lambda: M.top1_accuracy([0, -1], [[0.1, 0.9], [0.5, 0.5]]), ["labels", "class indices", "-1"]),
    (lambda: M.macro_f1([0, 1.5], [0, 1]), ["labels", "class indices", "1.5", "index 1"]),
    (lambda: M.macro_f1([0, 1], [0, 1, 1]), ["preds", "2 labels and 3 preds"]),
])
def test_bad_parameters_say_what_is_wrong(call, needles) -> None:
    with pytest.raises(M.MetricInputError) as info:
        call()
    for needle in needles:
        assert needle in str(info.value), f"{needle!r} missing from {info.value!s}"


# ----------------------------------------------------------------------------- undefined cases
@pytest.mark.parametrize("metric", [M.roc_auc, M.average_precision, M.eer, M.tpr_at_fpr,
                                    M.roc_points, M.choose_threshold])
@pytest.mark.parametrize("labels, needle", [
    ([1, 1, 1], "only class 'fake' (0 real videos"),
    ([0, 0, 0], "only class 'real' (0 fake videos"),
    ([], "no videos"),
])
def test_one_class_raises_undefined(metric, labels, needle) -> None:
    with pytest.raises(M.UndefinedMetricError) as info:
        metric(labels, np.linspace(0, 1, len(labels)))
    assert needle in str(info.value) and isinstance(info.value, VBenchError)
    assert info.value.reason in str(info.value)


def test_binary_summary_all_defined() -> None:
    y, s = _dataset(3)
    out = M.binary_summary(y, s, val_threshold=0.4)
    assert list(out) == list(M.SUMMARY_KEYS)
    assert out["n_videos"] == len(y) and out["n_fake"] == int(y.sum())
    assert out["n_real"] == len(y) - int(y.sum())
    assert out["auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert out["acc_at_val"] == pytest.approx(skm.accuracy_score(y, s >= 0.4))
    assert out["val_threshold"] == 0.4 and out["note"] == ""
    assert M.binary_summary(y, s)["acc_at_val"] is None


@pytest.mark.parametrize("labels, reason", [
    ([1, 1, 1], "test set has only class 'fake' (0 real videos"),
    ([0, 0], "test set has only class 'real' (0 fake videos"),
])
def test_binary_summary_one_class_gives_none_and_reason(labels, reason) -> None:
    out = M.binary_summary(labels, [0.2, 0.7, 0.9][:len(labels)], val_threshold=0.5)
    for key in ("auc", "ap", "eer", "tpr_at_fpr5"):
        assert out[key] is None
    assert out["acc_at_0.5"] is not None and out["acc_at_val"] is not None
    assert reason in out["note"] and "AUC" in out["note"]


def test_binary_summary_empty() -> None:
    out = M.binary_summary([], [], val_threshold=0.5)
    assert out["n_videos"] == 0 and out["auc"] is None and out["acc_at_0.5"] is None
    assert "no videos" in out["note"]


def test_binary_summary_declarations() -> None:
    scored = [m for m in M.METRICS if m.fn is not None]
    assert [m.label for m in scored] == ["AUC", "AP", "EER", "ACC@0.5", "ACC@val", "TPR@FPR5%"]
    assert {m.key for m in M.METRICS} <= set(M.SUMMARY_KEYS)
    assert not {m.key: m.higher_is_better for m in M.METRICS}["eer"]


def test_binary_decisions_match_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    from benchmark.metrics import binary_decisions

    rng = np.random.default_rng(7)
    for _ in range(5):
        y, p = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
        got = binary_decisions(y, p)
        assert got["accuracy"] == pytest.approx(accuracy_score(y, p))
        assert got["precision"] == pytest.approx(precision_score(y, p, zero_division=0))
        assert got["recall"] == pytest.approx(recall_score(y, p, zero_division=0))
        assert got["f1"] == pytest.approx(f1_score(y, p, zero_division=0))
    nothing = binary_decisions([1, 0], [0, 0])
    assert nothing["precision"] == 0.0 and nothing["f1"] == 0.0
    with pytest.raises(VBenchError, match="preds: expected 0"):
        binary_decisions([1, 0], [2, 0])
