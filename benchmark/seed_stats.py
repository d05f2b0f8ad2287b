"""Numbers over training seeds: the mean, the across-seed spread, and an interval that combines
training seeds and test resampling (docs/REGRESSION.md, "Seed groups").

The combined interval is a two-level percentile bootstrap. Replicate ``b`` draws ``S`` seeds with
replacement from the group's ``S`` seeds; for each drawn seed it takes that seed's metric on test
resample ``b`` and averages them. Test resample ``b`` is the one `benchmark.intervals` draws for a
single run (videos clustered by source, stratified by class, resampling seed fixed): seeds whose
runs hold the same test videos therefore see the *same* resampled videos in one replicate, as the
paired bootstrap does, and with one seed, or seeds that all give the same scores, the interval is
exactly the single run's. The seed draws are seeded too (`SEED_DRAWS`), so two groups with the
same seeds draw the same seeds in every replicate: their replicates pair, and the difference of two
groups is the two-level bootstrap of the per-seed differences.

Every function here is pure, over numpy arrays.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from benchmark.bootstrap import Resampler, call_metric, replicates
from benchmark.intervals import SETTINGS, difference_interval, replicate_interval
from benchmark.metric_catalog import Metric

SEED_DRAWS = 1  # the seed of the seed-level draws; the test resamples keep SETTINGS["seed"]
METHOD = ("two-level percentile bootstrap: per replicate, seeds drawn with replacement, then the "
          "test videos (clustered by source_id, stratified by class; the same resample for every "
          "seed over the same videos); the replicate is the mean over the drawn seeds")


def seed_draws(n_seeds: int, n_resamples: int) -> np.ndarray:
    """``[n_resamples, n_seeds]``: which seeds each replicate draws (with replacement)."""
    rng = np.random.default_rng(SEED_DRAWS)
    return rng.integers(0, n_seeds, size=(n_resamples, n_seeds))


def combine(reps: np.ndarray) -> np.ndarray:
    """Per-seed test replicates ``[S, B]`` → the two-level replicates of the seed mean ``[B]``
    (NaN where a drawn seed's replicate is undefined)."""
    reps = np.asarray(reps, dtype=float)
    n_seeds, n_resamples = reps.shape
    draws = seed_draws(n_seeds, n_resamples)  # [B, S]
    return reps[draws, np.arange(n_resamples)[:, None]].mean(axis=1)


def spread(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean, sample standard deviation (ddof 1), min and max over seeds; all None when a seed's
    value is missing (a mean over the other seeds would be another number)."""
    vals = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            for v in values]
    out: dict[str, Any] = {"values": vals, "n_seeds": len(vals)}
    if not vals or any(v is None for v in vals):
        return {**out, "mean": None, "sd": None, "min": None, "max": None}
    arr = np.array(vals)
    return {**out, "mean": float(arr.mean()), "sd": float(arr.std(ddof=1)) if len(arr) > 1 else None,
            "min": float(arr.min()), "max": float(arr.max())}


def over_seeds(values: Sequence[float | None], reps: np.ndarray | None) -> dict[str, Any]:
    """`spread` of the per-seed values, with the combined interval of per-seed replicates
    ``[S, B]`` (None: no interval) and its replicates (for pairing)."""
    out = spread(values)
    if reps is None or out["mean"] is None:
        return {**out, "interval": None, "replicates": None}
    combined = combine(reps)
    return {**out, "interval": replicate_interval(combined),
            "replicates": [None if np.isnan(v) else round(float(v), 6) for v in combined]}


def _arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return frame["label"].to_numpy(np.int64), frame["source_id"].astype(str).to_numpy()


def cell_replicates(frame: pd.DataFrame, metric: Metric) -> tuple[float | None, np.ndarray]:
    """One seed's value of ``metric`` on one test set (``video_id, label, score, source_id``) and
    its test replicates ``[B]``, drawn as `benchmark.intervals.binary_intervals` draws them."""
    y, groups = _arrays(frame)
    s = frame["score"].to_numpy(float)
    n = SETTINGS["n_resamples"]
    if len(y) == 0 or y.min() == y.max():
        return None, np.full(n, np.nan)
    value = call_metric(metric, y, s)[0]
    reps = replicates(metric, y, [s], Resampler(y, groups), n, SETTINGS["seed"])[:, 0]
    return (None if math.isnan(value) else value), reps


def paired_cell_replicates(a: pd.DataFrame, b: pd.DataFrame, metric: Metric
                           ) -> tuple[float | None, float | None, np.ndarray, int]:
    """One seed's ``metric`` of runs a and b on the videos both scored in one test set, and the
    replicates of a - b ``[B]`` (both on the same resamples); the last item: the shared videos."""
    both = a.merge(b[["video_id", "score"]], on="video_id", suffixes=("_a", "_b"))
    y, groups = _arrays(both)
    n = SETTINGS["n_resamples"]
    if len(y) == 0 or y.min() == y.max():
        return None, None, np.full(n, np.nan), len(both)
    sa, sb = both["score_a"].to_numpy(float), both["score_b"].to_numpy(float)
    va, vb = call_metric(metric, y, sa)[0], call_metric(metric, y, sb)[0]
    reps = replicates(metric, y, [sa, sb], Resampler(y, groups), n, SETTINGS["seed"])  # [B, 2]
    return (None if math.isnan(va) else va), (None if math.isnan(vb) else vb), \
        reps[:, 0] - reps[:, 1], len(both)


def paired_over_seeds(a_values: Sequence[float | None], b_values: Sequence[float | None],
                      diff_reps: np.ndarray) -> dict[str, Any]:
    """Group a - group b from per-seed values and per-seed difference replicates ``[S, B]``: the
    seed means, the mean difference, its combined interval and two-sided p-value."""
    a, b = spread(a_values), spread(b_values)
    out: dict[str, Any] = {"a": a["mean"], "b": b["mean"], "difference": None, "low": None,
                           "high": None, "p_value": None, "test": "two-level bootstrap (seeds x videos)",
                           "note": ""}
    if a["mean"] is None or b["mean"] is None:
        return {**out, "note": "undefined on at least one seed"}
    out["difference"] = a["mean"] - b["mean"]
    out["per_seed"] = [x - y for x, y in zip(a["values"], b["values"])]
    interval = difference_interval(combine(diff_reps))
    if interval is None:
        return {**out, "note": "too few defined replicates"}
    return {**out, **interval}
