"""Multi-class (attribution) metrics as small functions over validated numpy inputs.

Labels and predictions are class indices ``0..K-1``; ``probs`` are class probabilities ``[N, K]``
whose rows sum to 1. Every function is tested against scikit-learn on seeded data
(tests/test_metrics_multiclass.py). They live beside `benchmark.metrics` (which also exports them)
because that module holds the binary metrics and its input checks.
"""
from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from benchmark import resampled_multiclass as R
from benchmark.metric_catalog import Metric
from benchmark.metrics import (ArrayLike, MetricInputError, UndefinedMetricError, _check_classes,
                               _check_probs, _same_length, macro_f1, top1_accuracy)


def _labels_preds(labels: ArrayLike, preds: ArrayLike, metric: str) -> tuple[np.ndarray, np.ndarray]:
    y, p = _check_classes(labels, "labels"), _check_classes(preds, "preds")
    _same_length(y, p, ("labels", "preds"))
    if len(y) == 0:
        raise UndefinedMetricError(metric, "the input has no videos")
    return y, p


def _n_classes(n_classes: int | None, *arrays: np.ndarray) -> int:
    """``n_classes`` checked against the largest index seen (or inferred from it when None)."""
    largest = max(int(a.max()) for a in arrays if len(a)) + 1 if any(len(a) for a in arrays) else 0
    if n_classes is None:
        return largest
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise MetricInputError(f"n_classes: expected an int >= 1, got {n_classes!r}")
    if largest > n_classes:
        raise MetricInputError(f"labels/preds: class {largest - 1} is out of range for "
                               f"n_classes={n_classes}")
    return int(n_classes)


def balanced_accuracy(labels: ArrayLike, preds: ArrayLike) -> float:
    """Mean recall over the classes present in ``labels`` (scikit-learn's balanced accuracy).

    Each true class weighs the same, so a large class (e.g. ``real``) cannot dominate.
    """
    y, p = _labels_preds(labels, preds, "balanced accuracy")
    return float(np.mean([np.mean(p[y == c] == c) for c in np.unique(y)]))


def top_k_accuracy(labels: ArrayLike, probs: ArrayLike, k: int = 2) -> float:
    """Fraction of videos whose true class is among the ``k`` most probable ones.

    Ties in probability rank the higher class index first, as scikit-learn does.

    Raises:
        UndefinedMetricError: ``k`` is not below the number of classes (the metric would be 1
            whatever the model does), or there are no videos.
    """
    y = _check_classes(labels, "labels")
    p = _check_probs(probs, len(y))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise MetricInputError(f"k: expected an int >= 1, got {k!r}")
    if len(y) == 0:
        raise UndefinedMetricError(f"top-{k} accuracy", "the input has no videos")
    if k >= p.shape[1]:
        raise UndefinedMetricError(f"top-{k} accuracy", f"it is 1 by construction with "
                                   f"{p.shape[1]} classes (needs more than {k})")
    _n_classes(p.shape[1], y)
    order = np.argsort(p, axis=1, kind="mergesort")[:, ::-1]  # [N, K], most probable first
    return float(np.mean((order[:, :k] == y[:, None]).any(axis=1)))


def confusion_matrix(labels: ArrayLike, preds: ArrayLike, n_classes: int | None = None) -> np.ndarray:
    """Counts ``[K, K]``: row = true class, column = predicted class."""
    y, p = _labels_preds(labels, preds, "confusion matrix")
    k = _n_classes(n_classes, y, p)
    return np.bincount(y * k + p, minlength=k * k).reshape(k, k)


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """Each row of a confusion matrix divided by its total (NaN for a class with no videos)."""
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.where(totals > 0, totals, 1), np.nan)


def per_class_prf(labels: ArrayLike, preds: ArrayLike,
                  n_classes: int | None = None) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of each class.

    Undefined values are NaN, never 0: precision of a class never predicted, recall of a class
    with no videos, F1 where both are undefined (scikit-learn with ``zero_division=np.nan``).

    Returns:
        ``{"precision", "recall", "f1", "support"}``, each ``[K]``.
    """
    counts = confusion_matrix(labels, preds, n_classes).astype(np.float64)
    tp, predicted, support = np.diag(counts), counts.sum(axis=0), counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
        denom = predicted + support
        f1 = np.where(denom > 0, 2 * tp / denom, np.nan)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)}


def unknown_scores(probs: ArrayLike) -> np.ndarray:
    """Open-set "unknown generator" scores ``[N]`` in [0, 1]: one minus the maximum softmax
    probability (Hendrycks & Gimpel, 2017), so an unsure model scores a video as unknown."""
    p = _check_probs(probs, len(np.asarray(probs)))
    return 1.0 - p.max(axis=1)


def multiclass_summary(labels: ArrayLike, probs: ArrayLike) -> dict[str, Any]:
    """Closed-set metrics of one test set, as one table row (undefined → None plus a note).

    Args:
        labels: true class index per video ``[N]``.
        probs: class probabilities ``[N, K]``.
    """
    y = _check_classes(labels, "labels")
    p = _check_probs(probs, len(y))
    preds = p.argmax(axis=1) if len(y) else np.zeros(0, dtype=np.int64)
    present = np.unique(y)
    out: dict[str, Any] = {"n_videos": len(y), "n_classes_present": len(present)}
    notes: list[str] = []
    for key, compute in (("accuracy", lambda: top1_accuracy(y, p)),
                         ("balanced_accuracy", lambda: balanced_accuracy(y, preds)),
                         ("macro_f1", lambda: macro_f1(y, preds)),
                         ("top2_accuracy", lambda: top_k_accuracy(y, p, 2))):
        out[key] = None
        if key in ("balanced_accuracy", "macro_f1") and len(present) == 1:
            notes.append(f"{key} undefined: the test set has only class {int(present[0])}, so "
                         f"it cannot tell classes apart")
            continue
        try:
            out[key] = compute()
        except UndefinedMetricError as err:
            notes.append(str(err))
    out["note"] = "; ".join(dict.fromkeys(notes))
    return out


# ----------------------------------------------------------------------------- on probabilities
# The point functions the bootstrap forms mirror: class probabilities in, decisions by argmax, as
# `multiclass_summary` and the per-class rows take them.
def _argmax(labels: ArrayLike, probs: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = _check_classes(labels, "labels")
    p = _check_probs(probs, len(y))
    return y, p, (p.argmax(axis=1) if len(y) else np.zeros(0, dtype=np.int64))


def balanced_accuracy_of_probs(labels: ArrayLike, probs: ArrayLike) -> float:
    """`balanced_accuracy` of the most probable classes; undefined with one class present (it
    cannot tell classes apart), as in `multiclass_summary`."""
    y, _, preds = _argmax(labels, probs)
    if len(np.unique(y)) == 1:
        raise UndefinedMetricError("balanced accuracy", "the test set has one class")
    return balanced_accuracy(y, preds)


def macro_f1_of_probs(labels: ArrayLike, probs: ArrayLike) -> float:
    """`macro_f1` of the most probable classes; undefined with one class present."""
    y, _, preds = _argmax(labels, probs)
    if len(np.unique(y)) == 1:
        raise UndefinedMetricError("macro F1", "the test set has one class")
    return macro_f1(y, preds)


def class_prf(labels: ArrayLike, probs: ArrayLike, k: int, which: str) -> float:
    """Precision, recall or F1 (``which``) of class ``k`` (`per_class_prf` of the argmax)."""
    y, p, preds = _argmax(labels, probs)
    if len(y) == 0:
        raise UndefinedMetricError(f"class {k} {which}", "the input has no videos")
    value = per_class_prf(y, preds, p.shape[1])[which][k]
    if np.isnan(value):
        raise UndefinedMetricError(f"class {k} {which}", "its denominator is 0 (class never "
                                   "predicted, or absent)")
    return float(value)


# ----------------------------------------------------------------------------- declarations
MULTICLASS = ("multiclass",)
DECISIONS = ("multiclass", "unsafe_generation")  # per-class rows and hard binary decisions
ACCURACY = Metric("accuracy", "accuracy", fn=top1_accuracy, vectorised=R.accuracy_from_counts,
                  tasks=DECISIONS,
                  description="top-1 accuracy (multiclass); share of right decisions (binary)")
BALANCED_ACCURACY = Metric("balanced_accuracy", "balanced accuracy",
                           fn=balanced_accuracy_of_probs,
                           vectorised=R.balanced_accuracy_from_counts, tasks=MULTICLASS,
                           description="mean recall over the classes present (of argmax)")
MACRO_F1 = Metric("macro_f1", "macro-F1", fn=macro_f1_of_probs, vectorised=R.macro_f1_from_counts,
                  tasks=MULTICLASS, description="unweighted mean of per-class F1 (of argmax)")
TOP2_ACCURACY = Metric("top2_accuracy", "top-2 accuracy", fn=top_k_accuracy,
                       vectorised=R.top_k_from_counts, tasks=MULTICLASS, params={"k": 2})
# per class: bind the class with ``dataclasses.replace(metric, params={"k": k, ...})``
PRECISION = Metric("precision", "precision", fn=partial(class_prf, which="precision"),
                   vectorised=R.class_precision_from_counts, tasks=DECISIONS,
                   description="of one class, or of decisions")
RECALL = Metric("recall", "recall", fn=partial(class_prf, which="recall"),
                vectorised=R.class_recall_from_counts, tasks=DECISIONS,
                description="of one class, or of decisions")
F1 = Metric("f1", "F1", fn=partial(class_prf, which="f1"), vectorised=R.class_f1_from_counts,
            tasks=DECISIONS, description="of one class, or of decisions")
METRICS: tuple[Metric, ...] = (
    ACCURACY, BALANCED_ACCURACY, MACRO_F1, TOP2_ACCURACY, PRECISION, RECALL, F1,
    Metric("n_classes_present", "classes present", tasks=(), format="count"),
)

