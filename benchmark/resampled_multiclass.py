"""Multi-class metrics on many bootstrap resamples at once (resamples as counts ``[B, N]``).

The bootstrap forms of `benchmark.metrics_multiclass`' metrics, declared beside them
(`benchmark.metric_catalog.Metric.vectorised`), as `benchmark.resampled` holds the binary ones:
each takes validated ``labels [N]`` (class indices), ``probs [N, K]`` and ``counts [B, N]`` and
returns ``[B]``, NaN where the resample leaves the metric undefined (the point function would
raise `benchmark.metrics.UndefinedMetricError` there). Predictions are ``probs.argmax(axis=1)``,
as the point functions take them. tests/test_metrics_multiclass.py checks each against its point
function on the videos each resample draws.
"""
from __future__ import annotations

import numpy as np


def weighted_confusion(labels: np.ndarray, probs: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Confusion matrices of every resample ``[B, K, K]`` (row: true class, column: argmax)."""
    k = probs.shape[1]
    cell = labels * k + probs.argmax(axis=1)  # [N] position in the flattened K x K matrix
    onehot = np.zeros((len(labels), k * k))
    onehot[np.arange(len(labels)), cell] = 1.0
    return (counts.astype(np.float64) @ onehot).reshape(len(counts), k, k)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def accuracy_from_counts(labels, probs, counts) -> np.ndarray:
    """Top-1 accuracy of each resample."""
    hit = (probs.argmax(axis=1) == labels).astype(np.float64)
    return _ratio(counts @ hit, counts.sum(axis=1).astype(np.float64))


def top_k_from_counts(labels, probs, counts, k: int = 2) -> np.ndarray:
    """Top-k accuracy of each resample (ties rank the higher class index first, as the point
    function); NaN throughout when ``k`` is not below the number of classes."""
    if k >= probs.shape[1]:
        return np.full(len(counts), np.nan)
    order = np.argsort(probs, axis=1, kind="mergesort")[:, ::-1]  # [N, K], most probable first
    hit = (order[:, :k] == labels[:, None]).any(axis=1).astype(np.float64)
    return _ratio(counts @ hit, counts.sum(axis=1).astype(np.float64))


def balanced_accuracy_from_counts(labels, probs, counts) -> np.ndarray:
    """Mean recall over the classes each resample holds; NaN with fewer than two classes."""
    confusion = weighted_confusion(labels, probs, counts)
    support = confusion.sum(axis=2)  # [B, K]
    recall = _ratio(np.diagonal(confusion, axis1=1, axis2=2), support)
    present = (support > 0).sum(axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.nansum(recall, axis=1) / np.where(present > 0, present, 1)
    return np.where(present >= 2, mean, np.nan)


def macro_f1_from_counts(labels, probs, counts) -> np.ndarray:
    """Mean F1 over the classes each resample holds or predicts; NaN with fewer than two
    classes held."""
    confusion = weighted_confusion(labels, probs, counts)
    tp, support, predicted = (np.diagonal(confusion, axis1=1, axis2=2), confusion.sum(axis=2),
                              confusion.sum(axis=1))
    seen = (support + predicted) > 0  # [B, K]: the classes the point function averages over
    f1 = np.where(seen, 2 * tp / np.where(seen, support + predicted, 1.0), 0.0)
    mean = f1.sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
    return np.where((support > 0).sum(axis=1) >= 2, mean, np.nan)


def class_prf_from_counts(labels, probs, counts, k: int) -> dict[str, np.ndarray]:
    """Precision, recall and F1 of class ``k`` in each resample (NaN where undefined)."""
    confusion = weighted_confusion(labels, probs, counts)
    tp, support, predicted = confusion[:, k, k], confusion[:, k, :].sum(axis=1), \
        confusion[:, :, k].sum(axis=1)
    return {"precision": _ratio(tp, predicted), "recall": _ratio(tp, support),
            "f1": _ratio(2 * tp, predicted + support)}


def class_precision_from_counts(labels, probs, counts, k: int) -> np.ndarray:
    return class_prf_from_counts(labels, probs, counts, k)["precision"]


def class_recall_from_counts(labels, probs, counts, k: int) -> np.ndarray:
    return class_prf_from_counts(labels, probs, counts, k)["recall"]


def class_f1_from_counts(labels, probs, counts, k: int) -> np.ndarray:
    return class_prf_from_counts(labels, probs, counts, k)["f1"]
