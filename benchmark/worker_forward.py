"""Scoring batches, in the main process or inside the DataLoader's worker processes.

`score_batch` runs the detector on one collated batch. `benchmark.inference` calls it in the main
process, or hands it to the loader as part of its ``collate_fn`` (`ScoreBatches`, `ScoreViews`):
then each worker decodes a batch *and* runs the forward on it, so that on a CPU every core holds
one process doing both, the shape that measured fastest on 2 cores (docs/MEASUREMENTS.md,
"Default threads and workers"), and the main process only gathers scores. The loader cuts the same
batches either way and each worker runs the forward with the torch threads it is given (one on
2 cores, as the main process under the 2-core default), so the scores are the in-process ones.

Workers are forked where the platform allows it, so the model is shared copy-on-write and not
pickled; the forward runs under ``torch.inference_mode`` and writes nothing to it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Scored:
    """One batch after the forward: what the caller needs of it, in plain numpy and Python, so that
    a worker's result crosses to the main process pickled inline (torch tensors would each go
    through a shared-memory file and a passed descriptor: 6 % of StA mini's evaluation rate on
    2 cores, measured).

    Attributes:
        indices: dataset index of each decoded video.
        failures: ``(video_id, reason)`` of each video that could not be read.
        failed_indices: dataset index of each failed video, in the order of ``failures``.
        read_seconds: the loader's read time of each decoded video.
        clips_per_video: int ``[B]``, the clips scored per decoded video.
        first_clip: uint8 ``[1, 3, T, H, W]``, the batch's first clip (the cost meter counts FLOPs
            on it); empty when no video decoded.
        values: ``[B]`` video scores or ``[B, K]`` class probabilities; None when no video decoded.
        forward_s: seconds of the forward.
        peak_mb: the peak resident memory of the worker that ran it (None in the main process,
            whose own peak the cost meter reads).
    """

    indices: list[int]
    failures: list[tuple[str, str]]
    failed_indices: list[int]
    read_seconds: list[float]
    clips_per_video: np.ndarray
    first_clip: np.ndarray
    values: np.ndarray | None
    forward_s: float
    peak_mb: float | None = None

    @property
    def num_videos(self) -> int:
        return len(self.indices)

    @property
    def n_clips(self) -> int:
        return int(self.clips_per_video.sum())


def video_values(detector, batch, class_probs: bool = False) -> np.ndarray:
    """A batch's per-video scores ``[B]``, or class probabilities ``[B, K]``."""
    if class_probs:
        clip_probs = detector.class_probs(batch.clips)  # [N_clips, K]
        video = detector.aggregate_probs(clip_probs, batch.video_index, batch.num_videos)
    else:
        video = detector.video_scores(batch.clips, batch.video_index, batch.num_videos,
                                      batch.valid)  # [B]
    return video.cpu().numpy()


def score_batch(detector, batch, class_probs: bool = False, memory=None) -> Scored:
    """The forward on ``batch`` (a `benchmark.data.dataset.Batch`; nothing when no video in it
    decoded). ``memory``: in a loader worker, its `benchmark.cost_meter.PeakMemory`, read into
    ``peak_mb``."""
    values, seconds = None, 0.0
    if batch.num_videos:
        start = time.perf_counter()
        values = video_values(detector, batch, class_probs)
        seconds = time.perf_counter() - start
    peak = None if memory is None else memory.read()
    counts = np.bincount(batch.video_index.numpy(), minlength=batch.num_videos)
    return Scored(list(batch.indices), list(batch.failures), list(batch.failed_indices),
                  list(batch.read_seconds), counts, batch.clips[:1].numpy().copy(), values,
                  seconds, peak)


class _InWorker:
    """At a worker's first batch: its torch threads set (the loader's worker start sets one) and
    its memory peak started afresh (a forked worker would carry its parent's, e.g. training's)."""

    def __init__(self, detector, class_probs: bool, threads: int):
        self.detector, self.class_probs, self.threads = detector, class_probs, threads
        self.memory = None  # per worker: each holds its own copy of this object

    def _start(self):
        if self.memory is None:
            import torch

            from benchmark.cost_meter import PeakMemory

            if torch.get_num_threads() != self.threads:
                torch.set_num_threads(self.threads)
            self.memory = PeakMemory("cpu")
            self.memory.reset()
        return self.memory


class ScoreBatches(_InWorker):
    """``collate_fn`` of `benchmark.inference.predict_videos` with the forward in the workers."""

    def __call__(self, items) -> Scored:
        from benchmark.data.dataset import collate_clips

        memory = self._start()
        return score_batch(self.detector, collate_clips(items), self.class_probs, memory)


class ScoreViews(_InWorker):
    """``collate_fn`` of `benchmark.inference.predict_views` with the forward in the workers:
    every view's batch scored, and the items' timings."""

    def __call__(self, items) -> tuple[list[Scored], dict]:
        from benchmark.data.views import collate_views

        memory = self._start()
        batches, timings = collate_views(items)
        return [score_batch(self.detector, b, self.class_probs, memory) for b in batches], timings


def worker_context():
    """The start method of forwarding workers: fork where there is one (the model is shared, not
    pickled), else the platform's default."""
    import multiprocessing

    return "fork" if "fork" in multiprocessing.get_all_start_methods() else None
