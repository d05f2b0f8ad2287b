"""Metrics a deployment asks for: operating points at low FPR, partial AUC, calibration.

Same conventions as `benchmark.metrics` (whose validators these reuse): ``labels`` 0 real / 1 fake,
``scores`` = P(generated) in [0, 1], one per video; bad input raises
:class:`~benchmark.metrics.MetricInputError`, a metric without a value on the data raises
:class:`~benchmark.metrics.UndefinedMetricError`, which :func:`deployment_summary` turns into None
plus a note. Kept apart from `benchmark.metrics` only for file size; :func:`deployment_summary` is
the one call a report needs (its keys sit beside `benchmark.metrics.binary_summary`'s).

Definitions (tested against scikit-learn in tests/test_deployment.py):

- :func:`operating_point`: the ROC point with the highest TPR among points with FPR <= max_fpr (as
  `benchmark.metrics.tpr_at_fpr`), and the FPR it actually reaches: with N real videos FPR moves
  in steps of 1/N, so "TPR at FPR 0.1 %" on 200 real videos is TPR at FPR 0.
- :func:`partial_auc`: area under the ROC curve for FPR in [0, max_fpr], the curve linear between
  points and cut at max_fpr; standardized by McClish (1989) by default, as
  ``sklearn.metrics.roc_auc_score(max_fpr=...)`` (0.5 = chance, 1 = perfect), else the raw area
  in [0, max_fpr].
- :func:`expected_calibration_error`: sum over bins of (videos in bin / N) x |mean P(fake) -
  fraction fake|, over bins of P(fake) (the binary reliability diagram of
  ``sklearn.calibration.calibration_curve``, not the top-label max(p, 1 - p) variant). A bin
  holds the scores in (low, high], the first also its low edge. ``"equal-width"``: n_bins bins of
  width 1/n_bins (default 15); ``"equal-mass"``: edges at score quantiles (equal counts up to ties).
- :func:`brier_score`: mean (score - label)^2; lower is better.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from benchmark import metrics as M
from benchmark import resampled as R
from benchmark.metric_catalog import Metric
from benchmark.metrics import (ArrayLike, MetricInputError, UndefinedMetricError, _check_binary,
                               _check_threshold, _full_roc)

BINNINGS = ("equal-width", "equal-mass")
DEFAULT_BINS = 15
DEPLOYMENT_KEYS: tuple[str, ...] = (
    "tpr_at_fpr1", "fpr_reached_at_fpr1", "tpr_at_fpr0.1", "fpr_reached_at_fpr0.1", "pauc_fpr10",
    "pauc_standardized", "ece", "ece_bins", "ece_binning", "brier", "note",
)


class OperatingPoint(NamedTuple):
    """A point of the ROC curve: the rule ``score >= threshold`` gives these rates."""

    tpr: float
    fpr: float
    threshold: float  # inf: no video is called fake


def operating_point(labels: ArrayLike, scores: ArrayLike, max_fpr: float = 0.01
                    ) -> OperatingPoint:
    """Highest TPR at FPR <= ``max_fpr``, with the FPR reached and the threshold that gives it.

    Among points of equal TPR the one with the lowest FPR (highest threshold) is returned.

    Raises:
        UndefinedMetricError: only one class is present.
    """
    max_fpr = _check_threshold(max_fpr, "max_fpr")
    y, s = _check_binary(labels, scores)
    fpr, tpr, thresholds = _full_roc(y, s, f"TPR@FPR{max_fpr:g}")
    allowed = np.flatnonzero(fpr <= max_fpr)  # never empty: the (0, 0) point
    best = allowed[np.argmax(tpr[allowed])]  # first maximum: lowest FPR on a flat stretch
    return OperatingPoint(float(tpr[best]), float(fpr[best]), float(thresholds[best]))


def partial_auc(labels: ArrayLike, scores: ArrayLike, max_fpr: float = 0.1,
                standardized: bool = True) -> float:
    """Area under the ROC curve for FPR <= ``max_fpr`` (see the module docstring).

    Args:
        labels: 0 real, 1 fake.
        scores: P(generated) in [0, 1].
        max_fpr: upper FPR limit in (0, 1].
        standardized: McClish-standardize (scikit-learn's value); False gives the raw area.
    """
    max_fpr = _check_threshold(max_fpr, "max_fpr")
    if max_fpr == 0.0:
        raise MetricInputError("max_fpr: expected a number in (0, 1], got 0")
    y, s = _check_binary(labels, scores)
    fpr, tpr, _ = _full_roc(y, s, f"pAUC@FPR{max_fpr:g}")
    stop = int(np.searchsorted(fpr, max_fpr, side="right"))  # points with fpr <= max_fpr
    if stop < len(fpr):  # cut the segment that crosses max_fpr
        cut = np.interp(max_fpr, fpr[stop - 1:stop + 1], tpr[stop - 1:stop + 1])
        fpr, tpr = np.r_[fpr[:stop], max_fpr], np.r_[tpr[:stop], cut]
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
    if not standardized:
        return area
    chance, perfect = max_fpr ** 2 / 2.0, max_fpr
    return 0.5 * (1.0 + (area - chance) / (perfect - chance))


def brier_score(labels: ArrayLike, scores: ArrayLike) -> float:
    """Mean squared difference between P(fake) and the label; lower is better."""
    y, s = _check_binary(labels, scores)
    if len(y) == 0:
        raise UndefinedMetricError("Brier score", "the input has no videos")
    return float(np.mean((s - y) ** 2))


# ----------------------------------------------------------------------------- calibration
def _check_bins(n_bins: int, binning: str) -> None:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise MetricInputError(f"n_bins: expected a positive integer, got {n_bins!r}")
    if binning not in BINNINGS:
        raise MetricInputError(f"binning: expected one of {', '.join(BINNINGS)}, got {binning!r}")


def bin_edges(scores: np.ndarray, n_bins: int = DEFAULT_BINS, binning: str = "equal-width"
              ) -> np.ndarray:
    """``n_bins + 1`` bin edges over [0, 1] (equal-mass: quantiles of ``scores``)."""
    _check_bins(n_bins, binning)
    if binning == "equal-width":
        return np.linspace(0.0, 1.0, n_bins + 1)
    # quantile levels written as scikit-learn does, so that edges (often data values) agree bit
    # for bit and a score on an edge falls in the same bin
    return np.percentile(scores, np.linspace(0.0, 1.0, n_bins + 1) * 100)


def _binned(labels: ArrayLike, scores: ArrayLike, n_bins: int, binning: str
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges ``[B+1]``, and per bin: count, sum of scores, number of fakes ``[B]``."""
    y, s = _check_binary(labels, scores)
    _check_bins(n_bins, binning)
    if len(y) == 0:
        raise UndefinedMetricError("calibration", "the input has no videos")
    edges = bin_edges(s, n_bins, binning)
    which = np.searchsorted(edges[1:-1], s, side="left")  # (low, high]; the first bin from 0
    count = np.bincount(which, minlength=n_bins)
    return (edges, count, np.bincount(which, weights=s, minlength=n_bins),
            np.bincount(which, weights=y, minlength=n_bins))


def reliability_diagram(labels: ArrayLike, scores: ArrayLike, n_bins: int = DEFAULT_BINS,
                        binning: str = "equal-width") -> list[dict[str, Any]]:
    """Per bin of P(fake): edges, video count, mean P(fake) and observed fraction of fakes.

    Returns:
        One JSON-able dict per bin, ``{low, high, count, mean_score, fraction_fake}``; the two
        means are None for an empty bin.
    """
    edges, count, total, fakes = _binned(labels, scores, n_bins, binning)
    return [{"low": float(edges[i]), "high": float(edges[i + 1]), "count": int(count[i]),
             "mean_score": float(total[i] / count[i]) if count[i] else None,
             "fraction_fake": float(fakes[i] / count[i]) if count[i] else None}
            for i in range(n_bins)]


def expected_calibration_error(labels: ArrayLike, scores: ArrayLike, n_bins: int = DEFAULT_BINS,
                               binning: str = "equal-width") -> float:
    """Count-weighted mean over bins of |mean P(fake) - fraction fake|; 0 is perfect."""
    _, count, total, fakes = _binned(labels, scores, n_bins, binning)
    return float(np.sum(np.abs(total - fakes)) / np.sum(count))


def ece_from_counts(y: np.ndarray, s: np.ndarray, counts: np.ndarray, n_bins: int = DEFAULT_BINS,
                    binning: str = "equal-width") -> np.ndarray:
    """ECE of every resample ``counts[B, N]`` → ``[B]``, with the bins of the full data (equal-mass
    edges are not re-drawn per resample)."""
    edges = bin_edges(s, n_bins, binning)
    which = np.searchsorted(edges[1:-1], s, side="left")
    onehot = np.eye(n_bins)[which]  # [N, K]
    c = counts.astype(np.float64)
    total, fakes, n = c @ (onehot * s[:, None]), c @ (onehot * y[:, None]), c.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.abs(total - fakes).sum(axis=1) / np.where(n > 0, n, 1.0), np.nan)


# ----------------------------------------------------------------------------- declarations
METRICS: tuple[Metric, ...] = (
    Metric("tpr_at_fpr1", "TPR@FPR1%", fn=M.tpr_at_fpr, vectorised=R.tpr_at_fpr_from_counts,
           params={"max_fpr": 0.01}),
    Metric("tpr_at_fpr0.1", "TPR@FPR0.1%", fn=M.tpr_at_fpr, vectorised=R.tpr_at_fpr_from_counts,
           params={"max_fpr": 0.001}),
    Metric("pauc_fpr10", "pAUC@FPR10%", fn=partial_auc, vectorised=R.pauc_from_counts,
           description="McClish-standardized partial AUC to FPR 10 %"),
    Metric("ece", "ECE", False, fn=expected_calibration_error, vectorised=ece_from_counts,
           description="expected calibration error, 15 equal-width bins of P(fake)"),
    Metric("brier", "Brier", False, fn=brier_score, vectorised=R.brier_from_counts),
    Metric("fpr_reached_at_fpr1", "FPR reached (1%)", False,
           description="the FPR the TPR@FPR1% operating point actually reaches"),
    Metric("fpr_reached_at_fpr0.1", "FPR reached (0.1%)", False,
           description="the FPR the TPR@FPR0.1% operating point actually reaches"),
)


# ----------------------------------------------------------------------------- summary
def deployment_summary(labels: ArrayLike, scores: ArrayLike, n_bins: int = DEFAULT_BINS,
                       binning: str = "equal-width") -> dict[str, Any]:
    """The deployment metrics of one test set, as a dict with :data:`DEPLOYMENT_KEYS`.

    TPR at FPR 1 % and 0.1 % (with the FPR reached), McClish-standardized partial AUC to FPR 10 %,
    ECE (its bins recorded in ``ece_bins``/``ece_binning``) and Brier score. Undefined metrics are
    None and ``note`` says why; it also warns when there are too few real videos to resolve an FPR.
    """
    y, s = _check_binary(labels, scores)
    _check_bins(n_bins, binning)
    out: dict[str, Any] = {"pauc_standardized": "mcclish", "ece_bins": int(n_bins),
                           "ece_binning": binning}
    notes: list[str] = []
    for key, limit in (("1", 0.01), ("0.1", 0.001)):
        point = M._or_none(lambda: operating_point(y, s, limit), notes)
        out[f"tpr_at_fpr{key}"] = None if point is None else point.tpr
        out[f"fpr_reached_at_fpr{key}"] = None if point is None else point.fpr
    n_real = int(len(y) - y.sum())
    if 0 < n_real < 1000:
        notes.append(f"{n_real} real videos resolve FPR only in steps of {1 / n_real:.2%}")
    out["pauc_fpr10"] = M._or_none(lambda: partial_auc(y, s, 0.1), notes)
    out["ece"] = M._or_none(lambda: expected_calibration_error(y, s, n_bins, binning), notes)
    out["brier"] = M._or_none(lambda: brier_score(y, s), notes)
    out["note"] = "; ".join(dict.fromkeys(notes))
    return {key: out[key] for key in DEPLOYMENT_KEYS}
