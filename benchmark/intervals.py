"""Every reported number with its interval: the settings and helpers protocols use.

Per table row (one test set), each metric gets a bootstrap interval (`benchmark.stats`): videos
are resampled whole, stratified by class and clustered by ``source_id`` (videos cut from one
source are resampled together). A summary over several rows (e.g. the mean AUC on unseen
generators, where every row shares the same real test videos) gets a *joint* bootstrap: the test
videos are resampled once per replicate and every row is recomputed on that resample. The
replicates of each summary are stored (with a key naming the resampled videos), so two runs over
the same data are compared *paired*, replicate by replicate, without recomputing anything.

The resampling seed is fixed (`SETTINGS`), not the run's seed: runs with other training seeds draw
the same resamples, which is what makes their replicates paired.
"""
from __future__ import annotations

import hashlib
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from benchmark.bootstrap import Resampler, percentile_interval, replicates
from benchmark.metric_catalog import CATALOG, Metric
from benchmark.resampled import auc_from_counts

SETTINGS = {"n_resamples": 1000, "level": 0.95, "method": "percentile", "seed": 0,
            "unit": "video, clustered by source_id, stratified by class"}


def interval_metrics() -> tuple[Metric, ...]:
    """The binary metrics that carry bootstrap intervals: those declared with a vectorised form
    (`benchmark.metric_catalog`), in order of declaration, those read from their row (acc_at_val)
    last: the order of a row's ``ci`` as metrics.csv has always stored it."""
    with_forms = [m for m in CATALOG.for_task("binary") if m.vectorised is not None]
    return tuple(sorted(with_forms, key=lambda m: bool(m.row_params)))


def compared_metrics() -> tuple[Metric, ...]:
    """The metrics a comparison tests (and a seed group reports per test set), in table order:
    those declared with a ``paired_test``."""
    return tuple(m for m in CATALOG if m.paired_test is not None)


def replicate_interval(reps: np.ndarray) -> dict[str, float] | None:
    """The percentile interval of bootstrap replicates (NaN: undefined, left out), or None when
    fewer than half of them (or fewer than 10) are defined."""
    defined = reps[~np.isnan(reps)]
    if len(defined) < 0.5 * len(reps) or len(defined) < 10:
        return None  # too few resamples where the metric exists to bound it
    low, high = percentile_interval(defined, SETTINGS["level"])
    return {"low": low, "high": high}


def binary_intervals(labels: np.ndarray, scores: np.ndarray, groups: np.ndarray | None,
                     row: Mapping[str, Any]) -> dict[str, dict[str, float] | None]:
    """An interval for each metric of ``row`` (a `binary_summary` + deployment row) that has a
    value; ``acc_at_val`` uses the row's validation threshold."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    if len(y) == 0 or y.min() == y.max():
        return {}
    resampler = Resampler(y, None if groups is None else np.asarray(groups).astype(str))
    out = {}
    for declared in interval_metrics():
        metric = declared.bind(row)  # acc_at_val: the row's validation threshold
        if metric is None or row.get(metric.key) is None:
            continue
        reps = replicates(metric, y, [s], resampler, SETTINGS["n_resamples"], SETTINGS["seed"])[:, 0]
        out[metric.key] = replicate_interval(reps)
    return out


def resample_key(videos: pd.DataFrame, columns: Sequence[str] = ("video_id", "label", "source_id")
                 ) -> str:
    """Names the set of resampled videos (id, stratum, source): equal keys → paired replicates."""
    table = videos[list(columns)].astype(str).sort_values("video_id")
    return hashlib.sha256(table.to_csv(index=False).encode("utf-8")).hexdigest()[:16]


def joint_auc_replicates(videos: pd.DataFrame, cells: Sequence[tuple[np.ndarray, np.ndarray]]
                         ) -> np.ndarray:
    """AUC of every cell on the same resamples of ``videos`` → ``[n_resamples, n_cells]``.

    Args:
        videos: one row per distinct video (``video_id``, ``label``, ``source_id``), sorted by id.
        cells: per cell, the positions of its videos in ``videos`` and their scores.
    """
    y = videos["label"].to_numpy(np.int64)
    resampler = Resampler(y, videos["source_id"].astype(str).to_numpy())
    rng = np.random.default_rng(SETTINGS["seed"])
    counts = resampler.counts(rng, SETTINGS["n_resamples"])  # [B, N]
    columns = [auc_from_counts(y[pos], s, counts[:, pos]) for pos, s in cells]
    return np.stack(columns, axis=1) if columns else np.empty((len(counts), 0))


def summary_interval(reps: np.ndarray) -> dict[str, Any]:
    """The interval of a summary's replicates and the replicates themselves (for pairing)."""
    return {"interval": replicate_interval(reps), "n_undefined": int(np.isnan(reps).sum()),
            "replicates": [None if np.isnan(v) else round(float(v), 6) for v in reps]}


def paired_difference(reps_a: Sequence[float | None], reps_b: Sequence[float | None]
                      ) -> dict[str, Any] | None:
    """Interval and two-sided p-value of a - b from stored replicates of the same resamples
    (`benchmark.stats.paired_bootstrap`'s definition of p)."""
    a = np.array([np.nan if v is None else v for v in reps_a], dtype=float)
    b = np.array([np.nan if v is None else v for v in reps_b], dtype=float)
    if len(a) != len(b) or not len(a):
        return None
    return difference_interval(a - b)


def difference_interval(d: np.ndarray) -> dict[str, Any] | None:
    """Interval and two-sided p-value (against 0) of replicates ``d`` of a difference; None when
    fewer than 10 are defined."""
    defined = d[~np.isnan(d)]
    if len(defined) < 10:
        return None
    low, high = percentile_interval(defined, SETTINGS["level"])
    tail = min(np.sum(defined <= 0), np.sum(defined >= 0)) + 1
    return {"low": low, "high": high, "p_value": min(1.0, 2.0 * tail / (len(defined) + 1))}


def with_interval(value: Any, interval: Mapping[str, float] | None, digits: int = 3) -> str:
    """``"0.873 [0.812, 0.931]"``, or the value alone, or ``n/a``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    text = f"{value:.{digits}f}"
    if interval:
        text += f" [{interval['low']:.{digits}f}, {interval['high']:.{digits}f}]"
    return text
