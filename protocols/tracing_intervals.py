"""Bootstrap intervals of source tracing's numbers (`benchmark.intervals` settings).

The scored test videos of all units are resampled together, once per replicate: whole sources
(``source_id``) drawn with replacement within strata of the classes they hold (``class_name``;
a held-out generator is a class of its own), as every protocol's intervals are. Every unit's
metrics are recomputed on each replicate through their declared bootstrap forms
(`benchmark.resampled_multiclass`, AUC's for the open set), so

- each row's ``ci`` holds accuracy, balanced accuracy, macro-F1, top-2 accuracy and the AUROC of
  unknown generators (closed-set metrics over the known classes' videos of the replicate);
- each per-class row's ``ci`` holds that class's precision, recall and F1;
- each summary (the mean over units) gets its replicates and interval in ``summary_ci``, with the
  ``resample_key`` of the videos, so runs over the same videos rank and compare paired.

A metric without a value has no interval (None); one whose replicates are too often undefined
(`benchmark.intervals.replicate_interval`) gets None and its row's note says so.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from benchmark.bootstrap import Resampler
from benchmark.inference import prob_column
from benchmark.intervals import SETTINGS, replicate_interval, resample_key, summary_interval
from benchmark.metric_catalog import Metric
from benchmark.metrics import unknown_scores
from benchmark.metrics_multiclass import (ACCURACY, BALANCED_ACCURACY, F1, MACRO_F1, PRECISION,
                                          RECALL, TOP2_ACCURACY)

CLOSED_SET = (ACCURACY, BALANCED_ACCURACY, MACRO_F1, TOP2_ACCURACY)
PER_CLASS = (PRECISION, RECALL, F1)


def shared_counts(test: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct scored test videos (sorted by id) and their resamples ``[B, V]``."""
    videos = test.drop_duplicates("video_id").sort_values("video_id").reset_index(drop=True)
    strata = pd.factorize(videos["class_name"].astype(str))[0]
    resampler = Resampler(strata, videos["source_id"].astype(str).to_numpy())
    counts = resampler.counts(np.random.default_rng(SETTINGS["seed"]), SETTINGS["n_resamples"])
    return videos, counts


def unit_replicates(ok: pd.DataFrame, counts: np.ndarray, row: dict, per_class: list[dict],
                    auroc_unknown: Metric) -> dict[str, np.ndarray]:
    """Fills ``row["ci"]`` and each per-class row's ``ci`` from ``counts`` (the unit's columns of
    the shared resamples, ``[B, len(ok)]``); returns the row metrics' replicates ``[B]``."""
    n_classes = len(ok["classes"].iloc[0]) if len(ok) else 0
    probs = ok[[prob_column(k) for k in range(n_classes)]].to_numpy(dtype=np.float64)  # [N, K]
    known = ok["known"].to_numpy(dtype=bool)
    labels = ok["class_index"].to_numpy(dtype=np.int64)
    reps: dict[str, np.ndarray] = {}
    for metric in CLOSED_SET:
        if row.get(metric.key) is not None:
            reps[metric.key] = metric.on_counts(labels[known], probs[known], counts[:, known])
    if row.get(auroc_unknown.key) is not None:
        reps[auroc_unknown.key] = auroc_unknown.on_counts(
            (~known).astype(np.int64), unknown_scores(probs), counts)
    row["ci"] = _intervals(row, [m.key for m in (*CLOSED_SET, auroc_unknown)], reps)
    for k, class_row in enumerate(per_class):
        class_reps = {m.key: replace(m, params={"k": k}).on_counts(
            labels[known], probs[known], counts[:, known])
            for m in PER_CLASS if class_row.get(m.key) is not None}
        class_row["ci"] = {key: replicate_interval(v) for key, v in class_reps.items()} | {
            m.key: None for m in PER_CLASS if m.key not in class_reps}
    return reps


def _intervals(row: dict, keys: list[str], reps: dict[str, np.ndarray]
               ) -> dict[str, dict[str, float] | None]:
    out, notes = {}, []
    for key in keys:
        out[key] = replicate_interval(reps[key]) if key in reps else None
        if key in reps and out[key] is None:
            defined = int((~np.isnan(reps[key])).sum())
            notes.append(f"no interval for {key}: defined in {defined} of {len(reps[key])} "
                         f"resamples")
    if notes:
        row["note"] = "; ".join(n for n in (row.get("note"), *notes) if n)
    return out


def summary_intervals(videos: pd.DataFrame, unit_reps: list[dict[str, np.ndarray]],
                      keys: list[str]) -> dict[str, Any]:
    """Each summary (the mean over the units where the metric has a value) on every shared
    resample: its interval and replicates, and the key naming the resampled videos."""
    out = {}
    for key in keys:
        columns = [reps[key] for reps in unit_reps if key in reps]
        if columns:
            out[key] = summary_interval(np.mean(np.stack(columns, axis=1), axis=1))
    return {"summary_ci": out,
            "resample_key": resample_key(videos, ("video_id", "class_name", "source_id"))}
