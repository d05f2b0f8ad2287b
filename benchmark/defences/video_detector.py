"""The detector of MMVGM's pipeline (protect → generate → detect) for the embedded target.

A project detector (``build_detector(method, config)``, default MMVGM's VideoMAE ``mini`` shrunk to
the target's clip size) is trained with `benchmark.training.train_detector` to tell the target's
generated videos (label 1; from camera views of the vbench-mini photographs) from real camera clips
of the same photographs at the same size (label 0; rendered with sensor noise as the corpus renders
its real videos), so that neither size nor content gives the answer away. Its threshold is chosen on
validation (Youden's J); its AUC on its own held-out test clips is recorded beside it.
"""
from __future__ import annotations

import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class VideoDetector:
    """A trained detector, its validation threshold and how it was made."""

    detector: Any
    threshold: float
    info: dict[str, Any] = field(default_factory=dict)

    def scores(self, videos) -> np.ndarray:
        """P(generated) of float videos ``[N, 3, T, H, W]`` in [0, 1] (as uint8, like a file)."""
        from benchmark.defences.detect import clip_scores_of
        from benchmark.defences.images import to_uint8

        return clip_scores_of(self.detector, to_uint8(videos))


def detector_overrides(size: int, frames: int, epochs: int) -> dict[str, Any]:
    """``--cfg-options`` that fit MMVGM's VideoMAE mini to ``size``-pixel, ``frames``-frame clips."""
    return {"input.size": size, "input.frames": frames, "model.backbone.config.image_size": size,
            "model.backbone.config.num_frames": frames, "model.backbone.config.patch_size": 8,
            "train.epochs": epochs, "train.batch_size": 8}


def _clips(target, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 real and generated clips ``[count, 3, T, S, S]`` of the target's size."""
    import torch

    from benchmark.data.corpus_render import PHOTOS
    from benchmark.defences.images import to_uint8
    from benchmark.generation.stills import render_clips, sample_stills

    size = target.size_rule.size[0]
    stills, _ = sample_stills(seed + 7, count, size)
    x = torch.from_numpy(stills).permute(0, 3, 1, 2).contiguous()
    fake = to_uint8(target.generate(x, seed=seed)).numpy()
    frames = fake.shape[2]
    per_photo = -(-count // len(PHOTOS))
    real, _ = render_clips(seed + 11, PHOTOS, per_photo, frames, size, noise=True)
    real = (np.clip(real[:count], 0, 1) * 255).round().astype(np.uint8).transpose(0, 4, 1, 2, 3)
    return real, fake


def _manifest(real: np.ndarray, fake: np.ndarray, folder: Path, seed: int) -> pd.DataFrame:
    from benchmark.defences.detect import write_frame_folder

    rows = []
    for label, clips in ((0, real), (1, fake)):
        rng = np.random.default_rng([seed, zlib.crc32(f"split{label}".encode())])
        order = rng.permutation(len(clips))
        n_val = n_test = max(1, len(clips) // 5)
        for rank, index in enumerate(order):
            split = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"
            vid = f"{'generated' if label else 'real'}_{index:03d}"
            rows.append({"video_id": vid, "path": write_frame_folder(clips[index], folder / vid),
                         "label": label, "split": split, "generator": "target" if label else "real",
                         "source_id": vid, "dataset": "protection-detector"})
    return pd.DataFrame(rows)


def train_video_detector(target, method: str = "mmvgm_mae", config: str = "mini",
                         count: int = 60, epochs: int = 20, seed: int = 0) -> VideoDetector:
    """Trains the pipeline's detector on ``count`` real and ``count`` generated clips."""
    from mmengine.runner import set_random_seed

    from benchmark.detector import build_detector
    from benchmark.inference import predict_videos
    from benchmark.metrics import choose_threshold, roc_auc
    from benchmark.registry import registry
    from benchmark.training import train_config, train_detector

    real, fake = _clips(target, count, seed)
    cfg = registry().get(method).config(config, detector_overrides(real.shape[3], real.shape[2],
                                                                   epochs))
    set_random_seed(seed)  # as the runner's make_detector: the start state is seeded
    detector = build_detector(method, cfg)
    with tempfile.TemporaryDirectory(prefix="vbench-protect-det-") as tmp:
        rows = _manifest(real, fake, Path(tmp), seed)
        split = {s: rows[rows["split"] == s] for s in ("train", "val", "test")}
        result = train_detector(detector, split["train"], split["val"],
                                train_config(cfg, num_workers=0), seed=seed, progress=False,
                                desc="protection detector")
        val = predict_videos(detector, split["val"], num_workers=0, progress=False).score
        test = predict_videos(detector, split["test"], num_workers=0, progress=False).score
    threshold = choose_threshold(split["val"]["label"].to_numpy(), val)
    info = {"method": method, "config": config, "overrides": detector_overrides(
        real.shape[3], real.shape[2], epochs), "n_per_class": count, "best_epoch": result.best_epoch,
        "val_auc": result.best_val_auc, "threshold": threshold,
        "test_auc": roc_auc(split["test"]["label"].to_numpy(), test)}
    return VideoDetector(detector, threshold, info)
