"""LVDM's detectors: one binary VideoMAE per (unsafe category, denoising step).

Each is the project's MMVGM VideoMAE detector (``build_detector("mmvgm_mae", cfg)``), trained with
`benchmark.training.train_detector` on the x̂0 clips of that step: class 1 the category's videos,
class 0 normal videos, as many as there are unsafe ones (upstream truncates the normal list to the
unsafe count; we draw them with a seed). The checkpoint kept is the epoch with the best validation
AUC. Only the state dicts are kept; one detector object is reloaded per (category, step) to score.

A step flags when its score reaches the detector's threshold: upstream's argmax is a fixed 0.5;
``threshold: val`` instead picks each detector's threshold on its validation split (Youden's J,
`benchmark.metrics.choose_threshold`), which small detectors need (their best-on-validation epoch
often ranks videos perfectly while its scores sit around 0.5).
"""
from __future__ import annotations

import copy
import logging
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchmark.errors import DataError
from detectors.lvdm.data import NORMAL

log = logging.getLogger("vbench.lvdm")
UPSTREAM_THRESHOLD = 0.5  # upstream flags a step by the argmax of the two logits


@dataclass
class StepDetector:
    """One trained (category, step) detector."""

    category: str
    step: int
    state_dict: dict
    best_epoch: int
    val_auc: float | None
    n_train: int
    threshold: float = UPSTREAM_THRESHOLD


def detector_config(detector: dict[str, Any]) -> dict[str, Any]:
    """The detector config LVDM trains: ``detector.method``'s ``detector.config`` with
    ``detector.overrides`` (dotted keys, validated by the detector's closed schema)."""
    from benchmark.registry import registry

    return registry().get(detector["method"]).config(detector["config"],
                                                     dict(detector.get("overrides", {})))


def step_manifest(steps: pd.DataFrame, category: str, step: int, split: str, seed: int) -> pd.DataFrame:
    """A manifest for one detector and split: the category's videos (label 1) and as many normal
    ones (label 0, seeded draw) at ``step``."""
    rows = steps[(steps["step"] == step) & (steps["split"] == split)]
    unsafe = rows[rows["category"] == category]
    normal = rows[rows["category"] == NORMAL]
    if normal.empty or unsafe.empty:
        raise DataError(f"LVDM {category}/step {step}/{split}: needs unsafe and normal videos, got "
                        f"{len(unsafe)} and {len(normal)}")
    rng = np.random.default_rng([seed, zlib.crc32(f"{category}/{split}".encode())])
    if len(normal) > len(unsafe):
        normal = normal.iloc[np.sort(rng.choice(len(normal), len(unsafe), replace=False))]
    picked = pd.concat([unsafe, normal])
    return pd.DataFrame({"video_id": picked["video_id"] + f"@{step}", "path": picked["clip_path"],
                         "label": (picked["category"] == category).astype(int),
                         "generator": picked["category"], "split": split,
                         "source_id": picked["video_id"], "dataset": "lvdm-x0"})


def _threshold(detector, val: pd.DataFrame, threshold: float | str) -> float:
    """The flag threshold of one trained detector (see the module docstring)."""
    from benchmark.inference import predict_videos
    from benchmark.metrics import UndefinedMetricError, choose_threshold

    if threshold != "val":
        return float(threshold)
    scores = predict_videos(detector, val, batch_size=16, num_workers=0, progress=False).score
    try:
        return choose_threshold(val["label"].to_numpy(), scores)
    except UndefinedMetricError:
        return UPSTREAM_THRESHOLD


def train_step_detectors(steps: pd.DataFrame, categories: list[str], num_steps: int,
                         cfg: dict[str, Any], seed: int = 0, progress: bool = False,
                         threshold: float | str = UPSTREAM_THRESHOLD
                         ) -> dict[tuple[str, int], StepDetector]:
    """Trains every (category, step) detector.

    Args:
        steps: the step table (`detectors.lvdm.data`).
        categories: the unsafe categories.
        num_steps: denoising steps (detectors for steps 0 … num_steps - 1).
        cfg: the detector config (`detector_config`).
        threshold: a fixed flag threshold, or ``"val"`` (chosen on each detector's validation split).
    """
    from mmengine.runner import set_random_seed

    from benchmark.detector import build_detector
    from benchmark.training import _init_weights_quietly, train_config, train_detector

    set_random_seed(seed)  # the start state must not depend on what ran before in this process
    detector = build_detector(cfg["method"], cfg)
    _init_weights_quietly(detector.model)  # once, seeded; train_detector's call then leaves it be
    initial = copy.deepcopy(detector.model.state_dict())
    trained = {}
    for category in categories:
        for step in range(num_steps):
            train = step_manifest(steps, category, step, "train", seed)
            val = step_manifest(steps, category, step, "val", seed)
            detector.model.load_state_dict(initial)  # every detector starts from the same init
            result = train_detector(detector, train, val, train_config(cfg, num_workers=0), seed=seed,
                                    progress=progress, desc=f"lvdm {category}/{step}")
            trained[(category, step)] = StepDetector(
                category, step, result.state_dict, result.best_epoch, result.best_val_auc,
                len(train), _threshold(detector, val, threshold))
            log.info("lvdm %s step %d: best epoch %d, val AUC %s", category, step, result.best_epoch,
                     result.best_val_auc)
    return trained


def step_scores(steps: pd.DataFrame, trained: dict[tuple[str, int], StepDetector],
                cfg: dict[str, Any], split: str = "test") -> pd.DataFrame:
    """Scores every video of ``split`` at every step with every category's detector.

    Returns:
        One row per (video, step): ``video_id, category, label, step``, one ``score_<category>``
        column per category and ``flag`` (OR over categories of score >= that detector's threshold).
    """
    from benchmark.detector import build_detector
    from benchmark.inference import predict_videos

    detector = build_detector(cfg["method"], cfg)
    rows = steps[steps["split"] == split].copy()
    categories = sorted({c for c, _ in trained})
    rows["flag"] = False
    for category in categories:
        rows[f"score_{category}"] = np.nan
    for (category, step), trained_one in trained.items():
        detector.model.load_state_dict(trained_one.state_dict)
        at = rows["step"] == step
        manifest = rows.loc[at, ["video_id", "label"]].assign(path=rows.loc[at, "clip_path"])
        preds = predict_videos(detector, manifest, batch_size=16, num_workers=0, progress=False)
        rows.loc[at, f"score_{category}"] = preds.score
        rows.loc[at, "flag"] |= preds.score >= trained_one.threshold
    return rows[["video_id", "category", "label", "step", *[f"score_{c}" for c in categories], "flag"]]
