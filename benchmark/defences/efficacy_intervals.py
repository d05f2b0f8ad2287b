"""Bootstrap intervals of the protection measurements (`benchmark.defences.efficacy`).

The unit of resampling is the protected image (the table's ``source_id``): every setting, model
and condition measures the same images, so a replicate draws the images once, with replacement
(`benchmark.bootstrap.Resampler`, one stratum: every image is a clean/protected pair, there are no
classes), and every group row's means and every summary are recomputed on that draw, with the
seeded settings of `benchmark.intervals`. The intervals show how far the numbers depend on which
images were protected; the targets, the generator's seed and the detector stay fixed (the
detector's own test AUC is not an image mean and gets no interval).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from benchmark.bootstrap import Resampler
from benchmark.intervals import SETTINGS, replicate_interval, resample_key, summary_interval

NOT_RESAMPLED = ("detector_test_auc",)  # the pipeline detector's AUC on its own test videos


def _image_counts(table: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct images (sorted) and their resamples ``[B, n_images]``."""
    names = np.sort(table["source_id"].astype(str).unique())
    images = pd.DataFrame({"video_id": names, "label": 0, "source_id": names})
    resampler = Resampler(np.zeros(len(names), dtype=np.int64), names)
    rng = np.random.default_rng(SETTINGS["seed"])
    return images, resampler.counts(rng, SETTINGS["n_resamples"])


def _group_replicates(part: pd.DataFrame, weights: np.ndarray, measures) -> dict[str, np.ndarray]:
    """Each of the group's means on every replicate, ``[B]`` (weights ``[B, n_images]``)."""
    total = weights.sum(axis=1).astype(np.float64)

    def mean(values) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (weights @ np.asarray(values, dtype=np.float64)) / total

    reps = {key: mean(part[key]) for key in measures if key in part.columns}
    reps["flagged_rate"] = mean(part["flagged"])
    reps["clean_flagged_rate"] = mean(part["clean_score"] >= part["detector_threshold"])
    reps["video_departure"] = 1 - reps["video_ssim"]
    reps["departure_beyond_degradation"] = reps["baseline_video_ssim"] - reps["video_ssim"]
    reps["detector_test_auc"] = np.full(len(weights), float(part["detector_test_auc"].iloc[0]))
    return reps


def protection_intervals(table: pd.DataFrame, groups: list[tuple[dict[str, Any], pd.DataFrame]],
                         frame: pd.DataFrame, measures: Sequence[str],
                         summarise: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Sets each group row's ``ci``; returns ``summary_ci`` (interval and replicates of each
    summary), the ``resample_key`` of the images and the interval settings.

    Args:
        table: the per-image table; groups: each group's row (its point values) and its rows of
            ``table``; frame: the group rows as a frame (index = position in ``groups``);
        measures: the per-image columns the rows average; summarise: `benchmark.defences.
            efficacy.protection_summary`, called with a ``mean`` over replicates.
    """
    images, counts = _image_counts(table)
    position = pd.Series(np.arange(len(images)), index=images["video_id"])
    replicates = []
    for row, part in groups:
        columns = position.loc[part["source_id"].astype(str)].to_numpy(dtype=np.int64)
        reps = _group_replicates(part, counts[:, columns], measures)
        row["ci"] = {key: replicate_interval(values) for key, values in reps.items()
                     if key not in NOT_RESAMPLED and _has_value(row.get(key))}
        replicates.append(reps)

    def mean(subset: pd.DataFrame, column: str):
        if not len(subset):
            return None
        return np.mean(np.stack([replicates[i][column] for i in subset.index], axis=1), axis=1)

    summary = summarise(frame, mean) if len(frame) else {}
    summary_ci = {key: summary_interval(values) for key, values in summary.items()
                  if isinstance(values, np.ndarray) and key not in NOT_RESAMPLED}
    return {"summary_ci": summary_ci, "resample_key": resample_key(images),
            "intervals": {**SETTINGS, "unit": "protected image (source_id), one stratum"}}


def _has_value(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))
