"""Scoring in-memory clips with a project detector, the way its data pipeline would read them.

Generated videos and x̂0 clips live in memory as uint8 ``[N, 3, T, H, W]``. `clip_scores_of` hands
each one to the detector's own `ClipReader` (frame sampling, crop/resize to the detector's input
spec) through an in-memory video, so a clip scores the same here as from a lossless file.
"""
from __future__ import annotations

import numpy as np


class ArrayVideo:
    """An in-memory video with the reader interface of `benchmark.data.video` (frames ``[T, H, W, 3]``)."""

    def __init__(self, frames: np.ndarray):
        self.frames = frames
        self.num_frames = len(frames)

    def read(self, indices) -> np.ndarray:
        return self.frames[np.asarray(indices)]

    def close(self) -> None:
        """Nothing to release."""


def reader_clips(detector, clip: np.ndarray):
    """One uint8 clip ``[3, T, H, W]`` → the detector's input clips ``[K, 3, T', S, S]``."""
    from benchmark.data.dataset import clips_tensor

    reader = detector.clip_reader()
    video = ArrayVideo(np.ascontiguousarray(clip.transpose(1, 2, 3, 0)))  # [T, H, W, 3]
    frames, index = reader.decode(video, reader.frame_indices(video.num_frames, None), None)
    return clips_tensor(frames[index])


def clip_scores_of(detector, clips) -> np.ndarray:
    """P(generated/unsafe) per clip, uint8 ``[N, 3, T, H, W]`` (tensor or array) → ``[N]``.

    Each clip's reader clips are scored and averaged with the detector's aggregation.
    """
    import torch

    clips = clips.numpy() if hasattr(clips, "numpy") else np.asarray(clips)
    if clips.dtype != np.uint8 or clips.ndim != 5 or clips.shape[1] != 3:
        raise ValueError(f"clip_scores_of: expected uint8 clips [N, 3, T, H, W], got {clips.dtype} "
                         f"{clips.shape}")
    pieces = [reader_clips(detector, clip) for clip in clips]
    index = torch.cat([torch.full((len(p),), i) for i, p in enumerate(pieces)])
    scores = detector.clip_scores(torch.cat(pieces))
    return detector.aggregate(scores, index, len(pieces)).cpu().numpy()


def write_frame_folder(clip: np.ndarray, folder) -> str:
    """Writes a uint8 clip ``[3, T, H, W]`` as lossless PNG frames (a frame folder any
    `benchmark.data` reader opens); returns the folder."""
    import os

    import cv2

    os.makedirs(folder, exist_ok=True)
    for t, frame in enumerate(clip.transpose(1, 2, 3, 0)):  # [H, W, 3] RGB
        cv2.imwrite(os.path.join(folder, f"{t:04d}.png"), np.ascontiguousarray(frame[..., ::-1]))
    return str(folder)
