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


# ----------------------------------------------------------------------------- bootstrap forms
def _point_or_nan(metric, y, probs) -> float:
    try:
        return metric(y, probs)
    except M.UndefinedMetricError:
        return np.nan


@pytest.mark.parametrize("seed", range(4))
def test_bootstrap_forms_equal_the_point_functions_on_each_resample(seed: int) -> None:
    """Each declared vectorised form, on counts, gives the point function on the videos drawn."""
    from dataclasses import replace

    from benchmark.bootstrap import Resampler
    from benchmark.metrics_multiclass import (ACCURACY, BALANCED_ACCURACY, F1, MACRO_F1,
                                              PRECISION, RECALL, TOP2_ACCURACY)

    y, probs, _, k = _draw(seed)
    counts = Resampler(y, None).counts(np.random.default_rng(seed), 30)  # [30, N]
    metrics = [ACCURACY, BALANCED_ACCURACY, MACRO_F1, TOP2_ACCURACY] + [
        replace(m, params={**m.params, "k": c}) for m in (PRECISION, RECALL, F1) for c in range(k)]
    for metric in metrics:
        fast = metric.on_counts(y, probs, counts)
        for b, row in enumerate(counts):
            idx = np.repeat(np.arange(len(y)), row)
            np.testing.assert_allclose(fast[b], _point_or_nan(metric, y[idx], probs[idx]),
                                       atol=1e-12, err_msg=f"{metric.key} {metric.params}")


def _tracing_table(class_index, probs, sources=None, known=None):
    import pandas as pd

    k, n = len(probs[0]), len(class_index)
    frame = pd.DataFrame({"video_id": [f"v{i:04d}" for i in range(n)], "class_index": class_index,
                          "split": "test", "status": "ok", "unit": "u",
                          "class_name": [f"c{c}" for c in class_index],
                          "source_id": sources if sources is not None else [f"s{i}" for i in range(n)],
                          "known": known if known is not None else [c >= 0 for c in class_index]})
    probs = np.asarray(probs, dtype=float)
    for i in range(k):
        frame[f"prob_{i}"] = probs[:, i]
    frame["classes"] = [[f"c{i}" for i in range(k)]] * n
    frame["held_out"] = [[]] * n
    return frame


def _half_right(n_per_class: int, copies: int = 1):
    """Two classes, each predicted right on exactly half its videos; ``copies`` of every video."""
    y = np.repeat([0, 1], n_per_class)
    right = np.tile([True, False], n_per_class)
    probs = np.where((y == 0) == right, 0.8, 0.2)[:, None] * [1, 0] + \
        np.where((y == 0) == right, 0.2, 0.8)[:, None] * [0, 1]
    sources = [f"s{i}" for i in range(len(y))]
    return (np.repeat(y, copies), np.repeat(probs, copies, axis=0),
            [s for s in sources for _ in range(copies)])


def test_tracing_interval_has_the_known_binomial_width() -> None:
    """Accuracy 0.5 on 400 independent videos, class-stratified: the bootstrap's 95 % interval
    is the binomial one, 0.5 ± 1.96 · sqrt(0.25 / 400) = ± 0.049."""
    from protocols import source_tracing

    y, probs, sources = _half_right(200)
    (row,) = source_tracing.metrics(_tracing_table(y, probs, sources), {})["rows"]
    assert row["accuracy"] == 0.5
    half = 1.96 * np.sqrt(0.25 / 400)
    assert row["ci"]["accuracy"]["low"] == pytest.approx(0.5 - half, abs=0.01)
    assert row["ci"]["accuracy"]["high"] == pytest.approx(0.5 + half, abs=0.01)


def test_tracing_intervals_resample_whole_sources() -> None:
    """Four copies of each video under one source: the interval keeps the width of the videos
    themselves; counted as independent videos it would be half as wide."""
    from protocols import source_tracing

    def width(sources_of) -> float:
        y, probs, sources = _half_right(60, copies=4)
        table = _tracing_table(y, probs, sources_of(sources))
        ci = source_tracing.metrics(table, {})["rows"][0]["ci"]["accuracy"]
        return ci["high"] - ci["low"]

    clustered = width(lambda sources: sources)
    independent = width(lambda sources: [f"{s}-{i}" for i, s in enumerate(sources)])
    y, probs, sources = _half_right(60)
    single = source_tracing.metrics(_tracing_table(y, probs, sources), {})["rows"][0]["ci"]
    assert clustered == pytest.approx(single["accuracy"]["high"] - single["accuracy"]["low"],
                                      rel=0.2)
    assert clustered > 1.6 * independent


def test_tracing_intervals_contain_the_points_and_summaries_pair() -> None:
    from protocols import source_tracing

    rng = np.random.default_rng(3)
    y = np.r_[rng.integers(0, 3, 90), np.full(30, -1)]  # 30 videos of a held-out generator
    probs = rng.dirichlet(np.ones(3), len(y))
    hit = rng.random(len(y)) < 0.6  # a model mostly right on the known classes
    probs[hit & (y >= 0)] = np.eye(3)[y[hit & (y >= 0)]] * 0.7 + 0.1
    results = source_tracing.metrics(_tracing_table(y, probs), {})
    (row,) = results["rows"]
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "top2_accuracy", "auroc_unknown"):
        band = row["ci"][key]
        assert band["low"] <= row[key] <= band["high"] and band["low"] < band["high"], key
        summary = results["summary_ci"][key]
        assert summary["interval"] == pytest.approx(band) and len(summary["replicates"]) == 1000
    for class_row in results["per_class"]:
        for key in ("precision", "recall", "f1"):
            band = class_row["ci"][key]
            assert band["low"] <= class_row[key] <= band["high"], (class_row["class"], key)
    assert len(results["resample_key"]) == 16 and results["intervals"]["n_resamples"] == 1000


def test_tracing_degenerate_cases_give_none_not_a_crash() -> None:
    from protocols import source_tracing

    one_class = _tracing_table([2, 2, 2], [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    (row,) = source_tracing.metrics(one_class, {})["rows"]
    assert row["ci"]["balanced_accuracy"] is None and row["ci"]["macro_f1"] is None
    assert "only class 2" in row["note"]  # the reason, once, in the row's note
    assert row["ci"]["auroc_unknown"] is None  # closed set: no unknown videos
    assert row["ci"]["accuracy"] is not None and row["ci"]["top2_accuracy"] is not None
    failed = one_class.assign(status="failed")
    results = source_tracing.metrics(failed, {})
    assert all(v is None for v in results["rows"][0]["ci"].values())
    assert results["summary_ci"] == {}
    # one source holding every video: each resample draws it whole, so the interval is the point
    one_source = _tracing_table([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], ["a"] * 3)
    (row,) = source_tracing.metrics(one_source, {})["rows"]
    assert row["ci"]["accuracy"] == {"low": pytest.approx(2 / 3), "high": pytest.approx(2 / 3)}
