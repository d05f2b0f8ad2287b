"""Scoring videos with a detector: decoding in DataLoader workers overlaps the model's forward.

Binary detection gives one score per video; with ``class_probs`` (multi-class tasks) each video
gets its class probabilities instead, aggregated over its clips like scores.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Predictions:
    """Per-video output of `predict_videos`, aligned with the manifest rows it was given."""

    video_id: list[str]
    score: np.ndarray        # [V] float, NaN where the video failed
    n_clips: np.ndarray      # [V] int
    error: list[str | None]  # None where the video was scored
    seconds: float
    probs: np.ndarray | None = None  # [V, K] class probabilities (class_probs=True), NaN rows failed

    def table(self):
        """One row per video; with class probabilities, one ``prob_<k>`` column per class."""
        import pandas as pd

        table = pd.DataFrame({"video_id": self.video_id, "score": self.score,
                              "n_clips": self.n_clips,
                              "status": ["ok" if e is None else "failed" for e in self.error],
                              "error": [e or "" for e in self.error]})
        if self.probs is not None:
            for k in range(self.probs.shape[1]):
                table[prob_column(k)] = self.probs[:, k]
        return table


def prob_column(k: int) -> str:
    """The score-table column of class ``k``'s probability."""
    return f"prob_{k}"


def predict_videos(detector, manifest, batch_size: int = 8, num_workers: int = 2,
                   progress: bool = True, desc: str = "eval", class_probs: bool = False,
                   cost=None, forward_threads: int | None = None) -> Predictions:
    """Scores every video of ``manifest`` (one score per video, aggregated over its clips).

    Videos that cannot be decoded are recorded with their reason; the rest are scored. Under
    torchrun each rank scores every ``world_size``-th video and all ranks return the full result.

    Args:
        class_probs: return each video's class probabilities ``[V, K]`` (`Detector.class_probs`
            per clip, aggregated by `Detector.aggregate_probs`) instead of a P(generated) score,
            which is then NaN: in a K-way task no single class means "generated".
        cost: a `benchmark.cost_meter.CostMeter` that records the loader's read time, the
            forward time, the memory peak and (once) the FLOPs of one clip; None: not measured.
        forward_threads: None: the forward runs in this process while ``num_workers`` workers
            decode. A number (with ``num_workers >= 1``): each worker decodes a batch and runs
            the forward on it with this many torch threads (`benchmark.worker_forward`; chosen by
            `benchmark.parallelism` on a CPU of >= 2 cores). The batches and scores are the same.
    """
    from benchmark.distributed import gather, shard, world

    start = time.perf_counter()
    args = (batch_size, num_workers, progress, desc, class_probs, cost, forward_threads)
    if world()[1] == 1:
        preds = _predict(detector, manifest, *args)
    else:
        positions = shard(len(manifest))
        local = _predict(detector, manifest.iloc[positions], *args)
        preds = _merge(len(manifest), list(manifest["video_id"]), gather((positions, local)))
    preds.seconds = time.perf_counter() - start
    return preds


def _merge(n: int, video_ids: list[str], pieces: list) -> Predictions:
    """Puts every rank's `Predictions` back at its manifest positions."""
    score, n_clips = np.full(n, np.nan), np.zeros(n, dtype=np.int64)
    error: list[str | None] = [None] * n
    width = next((local.probs.shape[1] for _, local in pieces if local.probs is not None), None)
    probs = None if width is None else np.full((n, width), np.nan)
    for positions, local in pieces:
        score[positions], n_clips[positions] = local.score, local.n_clips
        if probs is not None:
            probs[positions] = local.probs
        for position, reason in zip(positions, local.error):
            error[position] = reason
    return Predictions(video_ids, score, n_clips, error, 0.0, probs)


def _predict(detector, manifest, batch_size: int, num_workers: int, progress: bool,
             desc: str, class_probs: bool = False, cost=None, forward_threads: int | None = None
             ) -> Predictions:
    import torch
    from tqdm.auto import tqdm

    from benchmark.data.dataset import ClipDataset, make_loader
    from benchmark.parallelism import forwards_in_workers
    from benchmark.worker_forward import ScoreBatches, score_batch, worker_context

    start = time.perf_counter()
    n = len(manifest)
    clips_per_video = np.zeros(n, dtype=np.int64)
    errors: list[str | None] = [None] * n
    values = None  # [V] scores or [V, K] probabilities, allocated at the first scored batch
    in_workers = forwards_in_workers(forward_threads, num_workers)
    loader = make_loader(ClipDataset(manifest, detector.spec, train=False,
                                     reader=detector.clip_reader()), batch_size=batch_size,
                         shuffle=False, num_workers=num_workers, seed=0,
                         **(dict(collate_fn=ScoreBatches(detector, class_probs, forward_threads),
                                 multiprocessing_context=worker_context()) if in_workers else {}))
    with tqdm(total=n, desc=desc, unit="video", disable=not progress, leave=False) as bar, \
            _evaluating(cost, detector):
        for item in loader:
            scored = item if in_workers else score_batch(detector, item, class_probs)
            for index, (_, error) in zip(scored.failed_indices, scored.failures):
                errors[index] = error
            if scored.values is not None:
                if cost is not None:
                    cost.add(detector, torch.from_numpy(scored.first_clip), scored.num_videos,
                             sum(scored.read_seconds), scored.forward_s, scored.n_clips,
                             scored.peak_mb)
                if values is None:
                    values = np.full((n, *scored.values.shape[1:]), np.nan)
                values[scored.indices] = scored.values
                clips_per_video[scored.indices] = scored.clips_per_video
            bar.update(scored.num_videos + len(scored.failures))
    if values is None:  # no video decoded
        values = np.full((n, detector.num_classes) if class_probs else n, np.nan)
    scores, probs = (np.full(n, np.nan), values) if class_probs else (values, None)
    return Predictions(list(manifest["video_id"]), scores, clips_per_video, errors,
                       time.perf_counter() - start, probs)


def _evaluating(cost, detector):
    """The cost meter's pass around an evaluation, or nothing."""
    from contextlib import nullcontext

    return nullcontext() if cost is None else cost.evaluating(detector)


def predict_views(detector, manifest, views, pset=None, batch_size: int = 8, num_workers: int = 0,
                  progress: bool = True, desc: str = "eval", decode_once: bool = True, cost=None,
                  forward_threads: int | None = None):
    """Scores every video of ``manifest`` under every view (clean and perturbed), decoding each
    video once (`benchmark.data.views`).

    Returns:
        ``(predictions, timings)``: one `Predictions` per view, in order, and the seconds spent
        decoding (per video) and reading each view (per video: perturbing, finding faces or
        flow, resizing). ``cost``: as `predict_videos`'; each scored (video, view) counts as
        a video, read time the decode once plus the view's read. ``forward_threads``: as
        `predict_videos`' (the forward in the workers).
    """
    import torch
    from tqdm.auto import tqdm
    from torch.utils.data import DataLoader

    from benchmark.data.views import ViewDataset, collate_views
    from benchmark.parallelism import forwards_in_workers
    from benchmark.worker_forward import ScoreViews, score_batch, worker_context

    start, n = time.perf_counter(), len(manifest)
    scores = [np.full(n, np.nan) for _ in views]
    clips = [np.zeros(n, dtype=np.int64) for _ in views]
    errors: list[list[str | None]] = [[None] * n for _ in views]
    timings = {"decode": [], "views": [[] for _ in views]}
    dataset = ViewDataset(manifest, detector.clip_reader(), views, pset, decode_once)
    in_workers = forwards_in_workers(forward_threads, num_workers)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        **(dict(collate_fn=ScoreViews(detector, False, forward_threads),
                                multiprocessing_context=worker_context()) if in_workers
                           else dict(collate_fn=collate_views)))
    with tqdm(total=n, desc=desc, unit="video", disable=not progress, leave=False) as bar, \
            _evaluating(cost, detector):
        for batches, times in loader:
            if not in_workers:
                batches = [score_batch(detector, batch) for batch in batches]
            timings["decode"] += times["decode"]
            read = sum(times["decode"])  # counted with the first view that scores videos
            for v, scored in enumerate(batches):
                timings["views"][v] += times["views"][v]
                for index, (_, error) in zip(scored.failed_indices, scored.failures):
                    errors[v][index] = error
                if scored.values is not None:
                    scores[v][scored.indices] = scored.values
                    if cost is not None:
                        cost.add(detector, torch.from_numpy(scored.first_clip), scored.num_videos,
                                 read + sum(times["views"][v]), scored.forward_s, scored.n_clips,
                                 scored.peak_mb)
                        read = 0.0
                    clips[v][scored.indices] = scored.clips_per_video
            bar.update(batches[0].num_videos + len(batches[0].failures) if batches else 0)
    seconds = time.perf_counter() - start
    ids = list(manifest["video_id"])
    return ([Predictions(ids, scores[v], clips[v], errors[v], seconds) for v in range(len(views))],
            timings)
