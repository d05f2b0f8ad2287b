"""Detection metrics as small functions over validated numpy inputs.

Binary metrics take ``labels`` (0 real, 1 generated/fake) and ``scores`` = P(generated) in [0, 1],
one value per video; a higher score means "more likely generated" and ``score >= threshold`` calls a
video fake. Scores outside [0, 1] are an error, never rescaled: a detector that emits logits must
apply its own sigmoid/softmax, so that every stored score means the same thing.

Everything is plain numpy, tested against scikit-learn on seeded data (tests/test_metrics.py).
Threshold-free metrics (AUC, AP, EER, TPR@FPR) need both classes; on one class they raise
:class:`UndefinedMetricError`, which :func:`binary_summary` turns into ``None`` plus a note.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence, Union

import numpy as np

from benchmark import resampled as R
from benchmark.errors import DataError, VBenchError
from benchmark.metric_catalog import Metric

ArrayLike = Union[Sequence[Any], np.ndarray]


class MetricInputError(DataError, ValueError):
    """Labels, scores or probabilities that a metric cannot take as given."""


class UndefinedMetricError(VBenchError):
    """A metric has no value on this data, e.g. AUC when only one class is present."""

    def __init__(self, metric: str, reason: str):
        self.metric, self.reason = metric, reason
        super().__init__(f"{metric} undefined: {reason}")


SUMMARY_KEYS: tuple[str, ...] = (
    "n_videos", "n_real", "n_fake", "auc", "ap", "eer", "acc_at_0.5", "acc_at_val",
    "val_threshold", "tpr_at_fpr5", "note",
)


# ----------------------------------------------------------------------------- input validation
def _as_1d(values: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except ValueError as exc:  # ragged nested lists
        raise MetricInputError(f"{name}: expected a 1-D array of numbers, got {exc}") from exc
    if arr.ndim != 1:
        raise MetricInputError(
            f"{name}: expected a 1-D array (one value per video), got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        first = f" (first value {arr[:1].tolist()[0]!r})" if arr.size else ""
        raise MetricInputError(f"{name}: expected numbers, got dtype {arr.dtype}{first}")
    return arr


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> str:
    """"3.2 at index 4 (2 bad values)" for the first offending entry of a 1-D or 2-D array."""
    where = np.argwhere(bad)
    pos = tuple(int(i) for i in where[0])
    at = f"index {pos[0]}" if len(pos) == 1 else f"row {pos[0]}, column {pos[1]}"
    count = f"{len(where)} bad value{'s' * (len(where) > 1)}"
    return f"{arr[pos].item()!r} at {at} ({count})"


def _check_labels(labels: ArrayLike, name: str = "labels") -> np.ndarray:
    arr = _as_1d(labels, name)
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        raise MetricInputError(
            f"{name}: expected 0 (real) or 1 (fake), got {_first_bad(arr, bad)}")
    return arr.astype(np.int64)


def _check_unit_interval(arr: np.ndarray, name: str, what: str) -> np.ndarray:
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise MetricInputError(f"{name}: expected finite {what}, got "
                               f"{_first_bad(arr, ~np.isfinite(arr))}")
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        raise MetricInputError(
            f"{name}: expected {what} in [0, 1], got {_first_bad(arr, bad)}; range "
            f"[{arr.min():.4g}, {arr.max():.4g}]. Apply the sigmoid/softmax in the detector: "
            "metrics never rescale their inputs")
    return arr


def _check_scores(scores: ArrayLike, name: str = "scores") -> np.ndarray:
    return _check_unit_interval(_as_1d(scores, name), name, "probabilities")


def _check_threshold(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise MetricInputError(f"{name}: expected a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:  # also rejects NaN
        raise MetricInputError(f"{name}: expected a number in [0, 1], got {value!r}")
    return float(value)


def _same_length(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if len(a) != len(b):
        raise MetricInputError(f"{names[0]} and {names[1]} must have one value per video each, "
                               f"got {len(a)} {names[0]} and {len(b)} {names[1]}")


def _check_binary(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y, s = _check_labels(labels), _check_scores(scores)
    _same_length(y, s, ("labels", "scores"))
    return y, s


def _class_problem(n_real: int, n_fake: int) -> str | None:
    """Why threshold-free metrics are undefined for these class counts, or None."""
    if n_real + n_fake == 0:
        return "has no videos"
    if n_real == 0:
        return f"has only class 'fake' (0 real videos, {n_fake} fake)"
    if n_fake == 0:
        return f"has only class 'real' (0 fake videos, {n_real} real)"
    return None


def _require_both_classes(y: np.ndarray, metric: str) -> None:
    n_fake = int(y.sum())
    problem = _class_problem(len(y) - n_fake, n_fake)
    if problem:
        raise UndefinedMetricError(
            metric, f"the input {problem}; it needs both real and fake videos")


# ----------------------------------------------------------------------------- ROC machinery
def _roc_counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False/true positive counts at each distinct score, thresholds descending."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    # the last index of each run of tied scores: ties enter the curve together
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]
    tps = np.cumsum(y_sorted)[last]
    fps = last + 1 - tps
    return fps, tps, s_sorted[last]


def _rates(fps: np.ndarray, tps: np.ndarray, thresholds: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts -> (fpr, tpr, thresholds), prefixed with the (0, 0) point at threshold inf."""
    return np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]], np.r_[np.inf, thresholds]


def _full_roc(y: np.ndarray, s: np.ndarray, metric: str
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    _require_both_classes(y, metric)
    return _rates(*_roc_counts(y, s))


def roc_points(labels: ArrayLike, scores: ArrayLike, drop_intermediate: bool = True
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve, as ``sklearn.metrics.roc_curve`` returns it.

    Args:
        labels: 0 real, 1 fake.
        scores: P(generated) in [0, 1].
        drop_intermediate: drop points on straight runs of the curve (scikit-learn's rule); the
            plotted curve and its area do not change.

    Returns:
        ``(fpr, tpr, thresholds)``, starting at (0, 0) with threshold ``inf``; point i is the
        rule ``score >= thresholds[i]``.

    Raises:
        UndefinedMetricError: only one class is present.
    """
    y, s = _check_binary(labels, scores)
    _require_both_classes(y, "ROC")
    fps, tps, thresholds = _roc_counts(y, s)
    if drop_intermediate and len(fps) > 2:
        # integer counts, so "same step as the neighbours" is an exact test
        straight = ~np.logical_or(np.diff(fps, 2), np.diff(tps, 2))
        keep = np.flatnonzero(np.r_[True, ~straight, True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    return _rates(fps, tps, thresholds)


def roc_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve; tied scores count half (trapezoid rule)."""
    y, s = _check_binary(labels, scores)
    fpr, tpr, _ = _full_roc(y, s, "AUC")
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def average_precision(labels: ArrayLike, scores: ArrayLike) -> float:
    """Average precision: sum over thresholds of (recall step) x precision, no interpolation."""
    y, s = _check_binary(labels, scores)
    _require_both_classes(y, "AP")
    fps, tps, _ = _roc_counts(y, s)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def eer(labels: ArrayLike, scores: ArrayLike) -> float:
    """Equal error rate: where the ROC curve (linear between points) crosses FPR = 1 - TPR.

    On that point the false positive rate equals the false negative rate; lower is better.
    """
    y, s = _check_binary(labels, scores)
    fpr, tpr, _ = _full_roc(y, s, "EER")
    gap = fpr + tpr - 1.0  # -1 at (0, 0), +1 at (1, 1), never decreasing along the curve
    i = int(np.argmax(gap >= 0.0))
    if gap[i] == 0.0:
        return float(fpr[i])
    t = -gap[i - 1] / (gap[i] - gap[i - 1])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def tpr_at_fpr(labels: ArrayLike, scores: ArrayLike, max_fpr: float = 0.05) -> float:
    """Highest true positive rate among ROC points whose false positive rate is <= ``max_fpr``."""
    max_fpr = _check_threshold(max_fpr, "max_fpr")
    y, s = _check_binary(labels, scores)
    fpr, tpr, _ = _full_roc(y, s, f"TPR@FPR{max_fpr:g}")
    return float(tpr[fpr <= max_fpr].max())


def accuracy(labels: ArrayLike, scores: ArrayLike, threshold: float = 0.5) -> float:
    """Fraction of videos classified right by the rule ``score >= threshold`` -> fake."""
    threshold = _check_threshold(threshold, "threshold")
    y, s = _check_binary(labels, scores)
    if len(y) == 0:
        raise UndefinedMetricError("accuracy", "the input has no videos")
    return float(np.mean((s >= threshold) == (y == 1)))


def choose_threshold(labels: ArrayLike, scores: ArrayLike) -> float:
    """Pick the decision threshold on a validation set by Youden's J.

    J = TPR - FPR = 2 * balanced_accuracy - 1 for the rule ``score >= t`` -> fake, so the chosen
    ``t`` also maximises balanced accuracy and does not favour the larger class. Candidates are the
    distinct validation scores; on ties the highest threshold wins (fewest videos called fake).

    Returns:
        A threshold in [0, 1], to pass as ``val_threshold`` to :func:`binary_summary`.

    Raises:
        UndefinedMetricError: the validation set has only one class.
    """
    y, s = _check_binary(labels, scores)
    fpr, tpr, thresholds = _full_roc(y, s, "threshold choice")
    best = int(np.argmax((tpr - fpr)[1:])) + 1  # index 0 is the "call nothing fake" point
    return float(thresholds[best])


# ----------------------------------------------------------------------------- summary
def _threshold_free(y: np.ndarray, s: np.ndarray) -> dict[str, Callable[[], float]]:
    return {
        "auc": lambda: roc_auc(y, s),
        "ap": lambda: average_precision(y, s),
        "eer": lambda: eer(y, s),
        "tpr_at_fpr5": lambda: tpr_at_fpr(y, s, 0.05),
    }


def binary_summary(labels: ArrayLike, scores: ArrayLike,
                   val_threshold: float | None = None) -> dict[str, Any]:
    """All binary metrics of one test set, as one table row.

    Args:
        labels: 0 real, 1 fake.
        scores: P(generated) in [0, 1].
        val_threshold: threshold chosen on validation data (:func:`choose_threshold`), or None.

    Returns:
        A dict with :data:`SUMMARY_KEYS`. Undefined metrics are None and ``note`` says why
        (empty string when everything is defined); ``acc_at_val`` is None without a threshold.
    """
    y, s = _check_binary(labels, scores)
    if val_threshold is not None:
        val_threshold = _check_threshold(val_threshold, "val_threshold")
    n_fake = int(y.sum())
    out: dict[str, Any] = {"n_videos": len(y), "n_real": len(y) - n_fake, "n_fake": n_fake}
    notes: list[str] = []
    problem = _class_problem(len(y) - n_fake, n_fake)
    if len(y) == 0:
        out.update(dict.fromkeys(SUMMARY_KEYS[3:], None), val_threshold=val_threshold,
                   note=f"all metrics undefined: test set {problem}")
        return {key: out[key] for key in SUMMARY_KEYS}
    for key, compute in _threshold_free(y, s).items():
        out[key] = None if problem else _or_none(compute, notes)
    if problem:
        undefined = [_LABELS[k] for k in _threshold_free(y, s)]
        notes.insert(0, f"{', '.join(undefined)} undefined: test set {problem}")
    out["acc_at_0.5"] = _or_none(lambda: accuracy(y, s, 0.5), notes)
    out["acc_at_val"] = (None if val_threshold is None
                         else _or_none(lambda: accuracy(y, s, val_threshold), notes))
    out["val_threshold"] = val_threshold
    out["note"] = "; ".join(dict.fromkeys(notes))
    return {key: out[key] for key in SUMMARY_KEYS}


def _or_none(compute: Callable[[], float], notes: list[str]) -> float | None:
    try:
        return compute()
    except UndefinedMetricError as err:
        notes.append(str(err))
        return None


# ----------------------------------------------------------------------------- multi-class
def _check_classes(values: ArrayLike, name: str) -> np.ndarray:
    arr = _as_1d(values, name)
    bad = ~np.isfinite(arr.astype(np.float64)) | (arr < 0) | (arr != np.round(arr))
    if bad.any():
        raise MetricInputError(
            f"{name}: expected class indices (integers >= 0), got {_first_bad(arr, bad)}")
    return arr.astype(np.int64)


def _check_probs(probs: ArrayLike, n_rows: int) -> np.ndarray:
    arr = np.asarray(probs)
    if arr.ndim != 2 or arr.dtype.kind not in "biuf":
        raise MetricInputError("probs: expected a 2-D numeric array [n_videos, n_classes], got "
                               f"shape {arr.shape} dtype {arr.dtype}")
    if arr.shape[0] != n_rows:
        raise MetricInputError(f"labels and probs must have one row per video each, "
                               f"got {n_rows} labels and {arr.shape[0]} rows of probs")
    arr = _check_unit_interval(arr, "probs", "class probabilities")
    sums = arr.sum(axis=1)
    bad = np.abs(sums - 1.0) > 1e-3
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise MetricInputError(f"probs: expected each row to sum to 1 (softmax output), row {row} "
                               f"sums to {sums[row]:.6g}")
    return arr


def top1_accuracy(labels: ArrayLike, probs: ArrayLike) -> float:
    """Fraction of videos whose most probable class is the true class.

    Args:
        labels: true class index per video, ``[N]``.
        probs: class probabilities, ``[N, C]``; rows sum to 1.
    """
    y = _check_classes(labels, "labels")
    p = _check_probs(probs, len(y))
    if len(y) == 0:
        raise UndefinedMetricError("top-1 accuracy", "the input has no videos")
    if y.max() >= p.shape[1]:
        i = int(np.argmax(y >= p.shape[1]))
        raise MetricInputError(f"labels: class {y[i]} at index {i} has no column in probs "
                               f"({p.shape[1]} classes)")
    return float(np.mean(p.argmax(axis=1) == y))


def macro_f1(labels: ArrayLike, preds: ArrayLike) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``labels`` or ``preds``.

    Args:
        labels: true class index per video, ``[N]``.
        preds: predicted class index per video, ``[N]``.
    """
    y, p = _check_classes(labels, "labels"), _check_classes(preds, "preds")
    _same_length(y, p, ("labels", "preds"))
    if len(y) == 0:
        raise UndefinedMetricError("macro F1", "the input has no videos")
    scores = []
    for c in np.union1d(y, p):
        tp = np.sum((y == c) & (p == c))
        fp_fn = np.sum(y == c) + np.sum(p == c) - 2 * tp
        scores.append(2.0 * tp / (2.0 * tp + fp_fn))
    return float(np.mean(scores))


def binary_decisions(labels: ArrayLike, preds: ArrayLike) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of hard binary decisions (1 = positive).

    Precision (recall) is 0.0 when nothing is predicted (present) positive, as scikit-learn's
    ``zero_division=0``.

    Args:
        labels: true labels in {0, 1}, ``[N]``.
        preds: decisions in {0, 1}, ``[N]``.
    """
    y, p = _check_labels(labels, "labels"), _check_labels(preds, "preds")
    _same_length(y, p, ("labels", "preds"))
    if len(y) == 0:
        raise UndefinedMetricError("binary decisions", "the input has no videos")
    tp = float(np.sum((y == 1) & (p == 1)))
    precision = tp / p.sum() if p.sum() else 0.0
    recall = tp / y.sum() if y.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float(np.mean(y == p)), "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


# ----------------------------------------------------------------------------- declarations
def _count(key: str, label: str) -> Metric:
    return Metric(key, label, tasks=(), format="count", description="videos in the test set")


# The keys of a binary summary, in table order (`benchmark.metric_catalog`).
METRICS: tuple[Metric, ...] = (
    Metric("auc", "AUC", fn=roc_auc, vectorised=R.auc_from_counts, paired_test="delong"),
    Metric("ap", "AP", fn=average_precision, vectorised=R.ap_from_counts,
           paired_test="bootstrap"),
    Metric("eer", "EER", False, fn=eer, vectorised=R.eer_from_counts, paired_test="bootstrap"),
    Metric("acc_at_0.5", "ACC@0.5", fn=accuracy, vectorised=R.accuracy_from_counts,
           params={"threshold": 0.5}, paired_test="mcnemar"),
    Metric("acc_at_val", "ACC@val", fn=accuracy, vectorised=R.accuracy_from_counts,
           row_params={"threshold": "val_threshold"},
           description="accuracy at the threshold chosen on validation videos"),
    Metric("tpr_at_fpr5", "TPR@FPR5%", fn=tpr_at_fpr, vectorised=R.tpr_at_fpr_from_counts,
           params={"max_fpr": 0.05}, paired_test="bootstrap"),
    Metric("val_threshold", "val threshold", None, tasks=(),
           description="decision threshold chosen on validation videos (Youden's J)"),
    _count("n_videos", "videos"), _count("n_real", "real"), _count("n_fake", "fake"),
)
_LABELS = {m.key: m.label for m in METRICS}


# The other multi-class metrics live in benchmark/metrics_multiclass.py (file size); they are
# importable from here too, loaded on first use (that module imports this one).
_MULTICLASS = ("balanced_accuracy", "top_k_accuracy", "confusion_matrix", "row_normalised",
               "per_class_prf", "unknown_scores", "multiclass_summary")


def __getattr__(name: str) -> Any:
    from benchmark.registry import lazy_exports

    return lazy_exports(__name__, dict.fromkeys(_MULTICLASS, "benchmark.metrics_multiclass"))(name)
