"""Binary metrics on many bootstrap resamples at once, each resample held as counts per video.

A resample is ``counts[B, N]``: how often each of the N videos was drawn in each of B resamples
(`benchmark.bootstrap.Resampler`). Each function here computes one metric of
`benchmark.metrics`/`benchmark.deployment` on every resample at once (NaN where the resample lost
a class), from validated inputs; its declaration (`benchmark.metric_catalog.Metric.vectorised`)
sits beside the point function, and tests/test_stats.py compares the two on resampled videos.
Plain numpy, so that the declaring modules can import it.
"""
from __future__ import annotations

import numpy as np


def auc_from_counts(y: np.ndarray, s: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUC of each row of counts ``[B, N]`` (ties count half) → ``[B]``."""
    order = np.argsort(s, kind="mergesort")
    s_sorted, fake = s[order], y[order].astype(bool)
    starts = np.r_[0, np.flatnonzero(np.diff(s_sorted)) + 1]  # first index of each tied run
    c = counts[:, order].astype(np.float64)
    pos = np.add.reduceat(np.where(fake, c, 0.0), starts, axis=1)  # [B, G] per distinct score
    neg = np.add.reduceat(np.where(fake, 0.0, c), starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    wins = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, wins / np.where(pairs > 0, pairs, 1.0), np.nan)


def roc_from_counts(y: np.ndarray, s: np.ndarray, counts: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted ROC of each resample: true and false positive counts at each distinct score,
    thresholds descending (``[B, G]`` each), and the totals of fakes and reals (``[B]``)."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, fake = s[order], y[order].astype(bool)
    starts = np.r_[0, np.flatnonzero(np.diff(s_sorted)) + 1]
    c = counts[:, order].astype(np.float64)
    tps = np.cumsum(np.add.reduceat(np.where(fake, c, 0.0), starts, axis=1), axis=1)
    fps = np.cumsum(np.add.reduceat(np.where(fake, 0.0, c), starts, axis=1), axis=1)
    return tps, fps, tps[:, -1], fps[:, -1]


def rates(tps, fps, n_pos, n_neg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr) ``[B, G+1]`` with the (0, 0) point first, and which rows have both classes."""
    ok = (n_pos > 0) & (n_neg > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.c_[np.zeros(len(tps)), tps / n_pos[:, None]]
        fpr = np.c_[np.zeros(len(fps)), fps / n_neg[:, None]]
    return fpr, tpr, ok


def ap_from_counts(y, s, counts) -> np.ndarray:
    """Average precision (no interpolation, as `benchmark.metrics.average_precision`)."""
    tps, fps, n_pos, n_neg = roc_from_counts(y, s, counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tps + fps > 0, tps / np.where(tps + fps > 0, tps + fps, 1.0), 0.0)
        recall = tps / n_pos[:, None]
    steps = np.diff(np.c_[np.zeros(len(tps)), recall], axis=1)
    out = np.sum(steps * precision, axis=1)
    return np.where((n_pos > 0) & (n_neg > 0), out, np.nan)


def eer_from_counts(y, s, counts) -> np.ndarray:
    """Equal error rate: where the ROC curve, linear between points, crosses FPR = 1 - TPR."""
    fpr, tpr, ok = rates(*roc_from_counts(y, s, counts))
    gap = fpr + tpr - 1.0  # -1 at (0, 0), +1 at (1, 1), never decreasing
    i = np.argmax(np.nan_to_num(gap, nan=-1.0) >= 0.0, axis=1)
    rows = np.arange(len(gap))
    prev = np.maximum(i - 1, 0)
    g0, g1 = gap[rows, prev], gap[rows, i]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(g1 > g0, -g0 / np.where(g1 > g0, g1 - g0, 1.0), 0.0)
    out = np.where(g1 == 0.0, fpr[rows, i], fpr[rows, prev] + t * (fpr[rows, i] - fpr[rows, prev]))
    return np.where(ok, out, np.nan)


def tpr_at_fpr_from_counts(y, s, counts, max_fpr: float = 0.05) -> np.ndarray:
    """Highest TPR among ROC points with FPR <= ``max_fpr``."""
    fpr, tpr, ok = rates(*roc_from_counts(y, s, counts))
    out = np.where(fpr <= max_fpr, tpr, -np.inf).max(axis=1)
    return np.where(ok, out, np.nan)


def accuracy_from_counts(y, s, counts, threshold: float = 0.5) -> np.ndarray:
    """Share of resampled videos classified right by ``score >= threshold`` → fake."""
    correct = ((s >= threshold) == (y == 1)).astype(np.float64)
    total = counts.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts @ correct / np.where(total > 0, total, 1.0), np.nan)


def pauc_from_counts(y, s, counts, max_fpr: float = 0.1, standardized: bool = True) -> np.ndarray:
    """Area under the ROC curve for FPR <= ``max_fpr`` (linear between points), McClish-standardized."""
    fpr, tpr, ok = rates(*roc_from_counts(y, s, counts))
    fpr, tpr = np.nan_to_num(fpr), np.nan_to_num(tpr)
    inside = fpr <= max_fpr
    last = inside.shape[1] - 1 - np.argmax(inside[:, ::-1], axis=1)  # last point with fpr <= max
    rows = np.arange(len(fpr))
    nxt = np.minimum(last + 1, fpr.shape[1] - 1)
    x0, x1, t0, t1 = fpr[rows, last], fpr[rows, nxt], tpr[rows, last], tpr[rows, nxt]
    with np.errstate(invalid="ignore", divide="ignore"):
        cut = np.where(x1 > x0, t0 + (max_fpr - x0) * (t1 - t0) / np.where(x1 > x0, x1 - x0, 1.0), t0)
    segments = np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2.0
    keep = inside[:, 1:]  # segments that end inside the limit (their start is inside too)
    area = np.sum(np.where(keep, segments, 0.0), axis=1)
    area += np.where(last < fpr.shape[1] - 1, (max_fpr - x0) * (t0 + cut) / 2.0, 0.0)
    if standardized:
        chance = max_fpr ** 2 / 2.0
        area = 0.5 * (1.0 + (area - chance) / (max_fpr - chance))
    return np.where(ok, area, np.nan)


def brier_from_counts(y, s, counts) -> np.ndarray:
    total = counts.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts @ ((s - y) ** 2) / np.where(total > 0, total, 1.0), np.nan)
