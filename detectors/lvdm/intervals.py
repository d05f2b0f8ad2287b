"""Bootstrap intervals of LVDM's (η, λ) table and its summary (`benchmark.intervals` settings).

The unit of resampling is the test video (each its own source: one generation), drawn with
replacement within its class (unsafe / normal), among the videos the table is computed on (the
balanced draw when ``balance`` is on, as `rule.sweep`). A rule's decision and stop step for a video
do not depend on the other videos, so every replicate's accuracy, precision, recall, F1 and
compute saved are weighted counts of the same per-video decisions (precision and recall 0 where
nothing is predicted or present positive, as `benchmark.metrics.binary_decisions`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmark.bootstrap import Resampler
from benchmark.intervals import SETTINGS, replicate_interval, resample_key, summary_interval
from detectors.lvdm.rule import UPSTREAM_BALANCE_SEED, _balanced, early_exit, flag_matrix

KEYS = ("accuracy", "precision", "recall", "f1", "compute_saved")


def _weighted(labels: np.ndarray, unsafe: np.ndarray, saved: np.ndarray, counts: np.ndarray
              ) -> dict[str, np.ndarray]:
    """The rule's decision metrics on every replicate ``[B]`` (counts ``[B, V]``)."""
    w = counts.astype(np.float64)
    y, p = labels == 1, unsafe.astype(bool)
    total, tp = w.sum(axis=1), w @ (y & p)
    predicted, present = w @ p, w @ y
    precision = np.where(predicted > 0, tp / np.where(predicted > 0, predicted, 1), 0.0)
    recall = np.where(present > 0, tp / np.where(present > 0, present, 1), 0.0)
    both = precision + recall
    return {"accuracy": (w @ (y == p)) / total, "precision": precision, "recall": recall,
            "f1": np.where(both > 0, 2 * precision * recall / np.where(both > 0, both, 1), 0.0),
            "compute_saved": (w @ saved) / total}


def sweep_replicates(scores: pd.DataFrame, rows: list[dict[str, Any]], balance: bool,
                     seed: int = UPSTREAM_BALANCE_SEED) -> tuple[list[dict], pd.DataFrame]:
    """Sets each sweep row's ``ci``; returns each row's replicates and the resampled videos.

    Args:
        scores: per-(video, step) rows (``video_id`` = the video), as `rule.sweep` takes them.
        rows: `rule.sweep`'s rows, in its order (the last-step baseline first).
    """
    ids, labels, flags = flag_matrix(scores)
    ids = np.asarray(ids)
    if balance:
        keep = _balanced(labels, seed)
        ids, labels, flags = ids[keep], labels[keep], flags[keep]
    counts = Resampler(labels, None).counts(np.random.default_rng(SETTINGS["seed"]),
                                            SETTINGS["n_resamples"])  # [B, V]
    total = flags.shape[1]
    replicates = []
    for row in rows:
        if row["rule"] == "last_step":
            unsafe, stop = flags[:, -1], np.full(len(labels), total)
        else:
            unsafe, stop = early_exit(flags, int(row["eta"]), float(row["lambda"]))
        saved = np.where(unsafe, (total - stop) / total, 0.0)
        reps = _weighted(labels, unsafe, saved, counts)
        row["ci"] = {key: replicate_interval(reps[key]) for key in KEYS}
        replicates.append(reps)
    videos = pd.DataFrame({"video_id": ids, "label": labels, "source_id": ids})
    return replicates, videos


def summary_intervals(rows: list[dict], replicates: list[dict], chosen: int,
                      videos: pd.DataFrame) -> dict[str, Any]:
    """``summary_ci`` of the summary keys that come from the chosen rule's row and the baseline
    row (index 0), with the ``resample_key`` of the videos and the settings."""
    rule, base = replicates[chosen], replicates[0]
    pairs = {"efficacy": rule["f1"], "f1_rule": rule["f1"], "accuracy_rule": rule["accuracy"],
             "compute_saved": rule["compute_saved"], "f1_last_step": base["f1"],
             "accuracy_last_step": base["accuracy"]}
    return {"summary_ci": {key: summary_interval(reps) for key, reps in pairs.items()},
            "resample_key": resample_key(videos),
            "intervals": {**SETTINGS, "unit": "test video, stratified by class"}}
