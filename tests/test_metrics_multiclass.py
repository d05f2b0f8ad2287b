"""Multi-class metrics against scikit-learn on seeded data, plus hand-worked and bad inputs."""
import numpy as np
import pytest
import sklearn.metrics as skm

import benchmark.metrics as M

SEEDS = range(8)


def _draw(seed: int):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 150)), int(rng.integers(3, 7))
    y = rng.integers(0, k, n)
    probs = rng.dirichlet(np.ones(k), n)
    # mostly right, some wrong, and class k-1 sometimes never predicted
    preds = np.where(rng.random(n) < 0.55, y, rng.integers(0, k - 1, n))
    return y, probs, preds, k


@pytest.mark.parametrize("seed", SEEDS)
def test_match_sklearn(seed: int) -> None:
    y, probs, preds, k = _draw(seed)
    assert M.balanced_accuracy(y, preds) == pytest.approx(skm.balanced_accuracy_score(y, preds),
                                                          abs=1e-12)
    assert M.top_k_accuracy(y, probs, 2) == pytest.approx(
        skm.top_k_accuracy_score(y, probs, k=2, labels=np.arange(k)), abs=1e-12)
    assert (M.confusion_matrix(y, preds, k) == skm.confusion_matrix(y, preds, labels=np.arange(k))).all()
    ours = M.per_class_prf(y, preds, k)
    p, r, f, s = skm.precision_recall_fscore_support(y, preds, labels=np.arange(k),
                                                     zero_division=np.nan)
    np.testing.assert_allclose(ours["precision"], p, atol=1e-12)
    np.testing.assert_allclose(ours["recall"], r, atol=1e-12)
    np.testing.assert_allclose(ours["f1"], f, atol=1e-12)
    assert (ours["support"] == s).all()


def test_top_k_ties_rank_like_sklearn() -> None:
    y = np.array([0, 1, 2, 2])
    probs = np.array([[0.25, 0.25, 0.25, 0.25], [0.4, 0.3, 0.3, 0.0], [0.5, 0.25, 0.25, 0.0],
                      [0.1, 0.1, 0.1, 0.7]])
    assert M.top_k_accuracy(y, probs, 2) == skm.top_k_accuracy_score(y, probs, k=2, labels=range(4))


def test_hand_worked_values() -> None:
    y, preds = [0, 0, 0, 1, 2, 2], [0, 0, 1, 1, 2, 0]
    assert M.balanced_accuracy(y, preds) == pytest.approx((2 / 3 + 1 + 1 / 2) / 3)
    counts = M.confusion_matrix(y, preds, 4)
    assert counts.tolist() == [[2, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    norm = M.row_normalised(counts)
    assert norm[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0, 0]) and np.isnan(norm[3]).all()
    prf = M.per_class_prf(y, preds, 4)
    assert prf["precision"][:3] == pytest.approx([2 / 3, 1 / 2, 1.0])
    assert np.isnan(prf["precision"][3]) and np.isnan(prf["recall"][3]) and np.isnan(prf["f1"][3])
    assert M.unknown_scores([[0.7, 0.3], [0.5, 0.5]]) == pytest.approx([0.3, 0.5])


def test_open_set_auroc_from_known_probabilities() -> None:
    """Known videos are confident, unknown ones spread out: AUROC counted by hand."""
    probs = np.array([[0.9, 0.05, 0.05], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1],   # known
                      [0.4, 0.35, 0.25], [0.5, 0.4, 0.1], [0.34, 0.33, 0.33]])  # unknown
    unknown = np.array([0, 0, 0, 1, 1, 1])
    scores = M.unknown_scores(probs)  # 0.1, 0.4, 0.3 | 0.6, 0.5, 0.66
    # every unknown scores above every known: all 9 pairs ordered right
    assert M.roc_auc(unknown, scores) == 1.0
    probs[1] = [0.45, 0.3, 0.25]  # a known video less sure (0.55) than unknown 0.5: 8 of 9 pairs
    assert M.roc_auc(unknown, M.unknown_scores(probs)) == pytest.approx(8 / 9)
    assert M.roc_auc(unknown, M.unknown_scores(probs)) == pytest.approx(
        skm.roc_auc_score(unknown, 1 - probs.max(axis=1)))


def test_summary_row_and_undefined_cases() -> None:
    y = np.array([0, 1, 2, 2])
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.5, 0.1, 0.4]])
    row = M.multiclass_summary(y, probs)
    assert row["accuracy"] == 0.75 and row["note"] == ""
    assert row["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, probs.argmax(1)))
    assert row["top2_accuracy"] == 1.0
    one = M.multiclass_summary([2, 2], probs[2:])
    assert one["accuracy"] == 0.5 and one["balanced_accuracy"] is None and one["macro_f1"] is None
    assert "only class 2" in one["note"]
    two = M.multiclass_summary([0, 1], [[0.6, 0.4], [0.3, 0.7]])
    assert two["top2_accuracy"] is None and "1 by construction with 2 classes" in two["note"]
    empty = M.multiclass_summary(np.zeros(0, int), np.zeros((0, 3)))
    assert empty["accuracy"] is None and "no videos" in empty["note"]


@pytest.mark.parametrize("call, needles", [
    (lambda: M.balanced_accuracy([0, 1], [0]), ["preds", "2 labels and 1 preds"]),
    (lambda: M.balanced_accuracy([0, -2], [0, 1]), ["labels", "class indices", "-2"]),
    (lambda: M.confusion_matrix([0, 4], [0, 1], 3), ["class 4", "n_classes=3"]),
    (lambda: M.confusion_matrix([0, 1], [0, 1], 0), ["n_classes", "int >= 1", "0"]),
    (lambda: M.top_k_accuracy([0, 1], [[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]], k=0), ["k", "0"]),
    (lambda: M.top_k_accuracy([0, 5], [[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]], 2), ["class 5"]),
    (lambda: M.top_k_accuracy([0], [[0.5, 0.6, 0.0]], 2), ["sums to 1.1"]),
    (lambda: M.unknown_scores([[0.5, 0.7]]), ["sums to 1.2"]),
])
def test_bad_inputs_say_what_is_wrong(call, needles) -> None:
    with pytest.raises(M.MetricInputError) as info:
        call()
    for needle in needles:
        assert needle in str(info.value), f"{needle!r} missing from {info.value!s}"


def test_no_videos_is_undefined() -> None:
    for call in (lambda: M.balanced_accuracy([], []), lambda: M.confusion_matrix([], []),
                 lambda: M.top_k_accuracy(np.zeros(0, int), np.zeros((0, 3)), 2)):
        with pytest.raises(M.UndefinedMetricError, match="no videos"):
            call()
