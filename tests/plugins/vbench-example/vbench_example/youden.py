"""Youden's J statistic of a detector's scores: max over thresholds of TPR - FPR.

J is the largest vertical distance between the ROC curve and the chance diagonal, 0 for a useless
detector and 1 for a perfect one, higher is better (W. J. Youden, "Index for rating diagnostic
tests", Cancer 3(1), 1950). This module has no vbench import beyond `benchmark.api`'s errors, so
the function can be tested before the metric catalog exists (`metrics.py` declares the Metric).
"""
from __future__ import annotations

import numpy as np
from benchmark.api import MetricInputError, UndefinedMetricError


def youden_j(labels, scores) -> float:
    """max(TPR - FPR) over every threshold of ``scores``, including the one that flags nothing.

    Args:
        labels: 0 (real) or 1 (generated) per video.
        scores: finite scores per video, higher = more likely generated.

    Raises:
        MetricInputError: labels other than 0/1, non-finite scores, or lengths that differ.
        UndefinedMetricError: only one class present.
    """
    y, s = _checked(labels, scores)
    n_fake = int(y.sum())
    n_real = len(y) - n_fake
    if n_fake == 0 or n_real == 0:
        raise UndefinedMetricError("Youden's J", f"needs both classes, got {n_real} real and "
                                                 f"{n_fake} fake videos")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last index of each distinct score
    tp = np.cumsum(y)[last]
    fp = last + 1 - tp
    return float(max(0.0, np.max(tp / n_fake - fp / n_real)))


def _checked(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y, s = np.asarray(labels).ravel(), np.asarray(scores, dtype=float).ravel()
    if y.shape != s.shape:
        raise MetricInputError(f"Youden's J: {y.size} labels but {s.size} scores")
    if not np.isin(y, (0, 1)).all():
        raise MetricInputError(f"Youden's J: labels must be 0 (real) or 1 (generated), got "
                               f"{sorted(set(y.tolist()) - {0, 1})[:5]}")
    if not np.isfinite(s).all():
        raise MetricInputError(f"Youden's J: {int((~np.isfinite(s)).sum())} scores are not finite")
    return y.astype(np.int64), s
