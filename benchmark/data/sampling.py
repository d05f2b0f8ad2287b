"""Which frames of a video make its clips.

Strategies (``span`` = ``(clip_len - 1) * stride + 1``, the frames one clip covers):

- ``first``: the first clip (MMVGM: the first N consecutive frames). One clip.
- ``uniform``: ``clip_len`` frames spread over the whole video, ``linspace(0, n - 1)`` truncated to
  integers as GenConViT and DeepfakeBench do; ``stride`` is ignored. One clip. A video shorter than
  ``clip_len`` repeats frames, as ``linspace`` does upstream.
- ``clips``: ``num_clips`` clips whose starts are spread evenly over ``[0, n - span]`` (StA: 32
  frames = 4 clips of 8). With an ``rng`` (training) the starts are drawn at random, then sorted.
- ``random``: one clip at a random start (training); without an ``rng``, the centre clip.
- ``all``: consecutive, non-overlapping clips over the whole video (``n // span`` of them;
  ``num_clips`` is ignored), for methods that score every frame (AIGVDet, ``clip_len=1``).

A video shorter than one clip raises `ShortVideoError`: MMVGM drops such videos silently, we
report them.

`segment_clips` is DeepfakeBench's video-level clip rule over a short frame sequence (StA).
"""
from __future__ import annotations

import numpy as np

from benchmark.errors import UnknownKeyError, VideoDecodeError

STRATEGIES = ("first", "uniform", "clips", "random", "all")
ONE_CLIP_STRATEGIES = ("first", "uniform", "random")


class ShortVideoError(VideoDecodeError):
    """The video has fewer frames than one clip needs."""

    def __init__(self, num_frames: int, needed: int, path: str = "<video>"):
        self.num_frames, self.needed = num_frames, needed
        super().__init__(path, f"video has {num_frames} frames, clip needs {needed}")


def clip_span(clip_len: int, strategy: str, stride: int = 1) -> int:
    """How many frames a video needs for one clip (``uniform`` repeats frames of short videos)."""
    return 1 if strategy == "uniform" else (clip_len - 1) * stride + 1


def _check(clip_len: int, strategy: str, num_clips: int, stride: int) -> None:
    if strategy not in STRATEGIES:
        raise UnknownKeyError("sampling strategy", strategy, STRATEGIES)
    for name, value in (("clip_len", clip_len), ("num_clips", num_clips), ("stride", stride)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if strategy in ONE_CLIP_STRATEGIES and num_clips != 1:
        raise ValueError(f"sampling '{strategy}' makes one clip, got num_clips={num_clips}")


def _starts(num_frames: int, span: int, strategy: str, num_clips: int, rng) -> np.ndarray:
    room = num_frames - span  # last possible start
    if strategy == "first":
        return np.zeros(1, np.int64)
    if strategy == "random":
        start = room // 2 if rng is None else int(rng.integers(0, room + 1))
        return np.array([start], np.int64)
    if strategy == "all":
        return np.arange(0, room + 1, span, dtype=np.int64)
    if rng is None:  # "clips", evaluation
        return np.rint(np.linspace(0, room, num_clips)).astype(np.int64)
    return np.sort(rng.integers(0, room + 1, size=num_clips)).astype(np.int64)


def sample_clips(
    num_frames: int,
    clip_len: int,
    strategy: str,
    num_clips: int = 1,
    stride: int = 1,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Frame indices of the clips to decode from one video.

    Args:
        num_frames: frames in the video.
        clip_len: frames per clip (T).
        strategy: one of `STRATEGIES` (see the module docstring).
        num_clips: clips per video (K) for ``clips``; 1 for the one-clip strategies.
        stride: step between the frames of a clip (not used by ``uniform``).
        rng: random offsets for training (``clips``, ``random``); None samples deterministically.

    Returns:
        int64 indices ``[K, clip_len]``, each in ``[0, num_frames)``.

    Raises:
        ShortVideoError: the video is shorter than one clip.
    """
    _check(clip_len, strategy, num_clips, stride)
    span = clip_span(clip_len, strategy, stride)
    if num_frames < span:
        raise ShortVideoError(num_frames, span)
    if strategy == "uniform":
        return np.linspace(0, num_frames - 1, clip_len).astype(np.int64)[None]  # [1, T]
    starts = _starts(num_frames, span, strategy, num_clips, rng)  # [K]
    return starts[:, None] + np.arange(clip_len, dtype=np.int64)[None] * stride  # [K, T]


def segment_clips(num_frames: int, clip_len: int, max_frames: int,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """DeepfakeBench's video-level clips (``abstract_dataset.py``, ``video_mode``) over a sequence.

    The first ``n = min(num_frames, max_frames)`` frames are cut into ``k = n // clip_len`` slots;
    with ``step = (n - clip_len) // (k - 1)``, clip i starts in ``[i * step, min((i + 1) * step,
    n - clip_len + 1))``. Upstream draws each start at random, at test time too; evaluation here
    takes each slot's first start (for 32 frames and clips of 8: starts 0, 8, 16, 24, every frame
    once); with ``rng`` (training) the starts are drawn as upstream draws them.

    Returns:
        int64 indices ``[k, clip_len]``.

    Raises:
        ShortVideoError: fewer than ``clip_len`` frames (upstream skips such videos).
    """
    n = min(int(num_frames), int(max_frames))
    if n < clip_len:
        raise ShortVideoError(n, clip_len)
    k = n // clip_len
    step = (n - clip_len) // (k - 1) if k > 1 else n - clip_len + 1
    lows = np.arange(k, dtype=np.int64) * (step if k > 1 else 0)
    highs = np.minimum(lows + step, n - clip_len + 1)
    starts = lows if rng is None else np.array([rng.integers(a, b) for a, b in zip(lows, highs)])
    return starts[:, None].astype(np.int64) + np.arange(clip_len, dtype=np.int64)[None]
