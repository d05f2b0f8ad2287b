"""Geometric and temporal perturbations: resize, crop, letterbox, platform resolution, frame rate."""
from __future__ import annotations

import numpy as np

from benchmark.perturb.errors import PerturbationError
from benchmark.perturb.functions import frame_function


def resize_frames(frames: np.ndarray, width: int, height: int, interpolation: str = "auto"
                  ) -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` -> ``[T, height, width, 3]``; ``auto`` = area when shrinking (no
    aliasing), bilinear when enlarging."""
    import cv2

    t, h, w, _ = frames.shape
    if (h, w) == (height, width):
        return frames.copy()
    if interpolation == "auto":
        interpolation = "area" if width * height < w * h else "linear"
    flag = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
            "nearest": cv2.INTER_NEAREST}[interpolation]
    out = np.empty((t, height, width, 3), np.uint8)
    for i in range(t):
        cv2.resize(frames[i], (width, height), dst=out[i], interpolation=flag)
    return out


def scaled_size(width: int, height: int, scale: float, name: str, even: bool = False
                ) -> tuple[int, int]:
    """``(round(width * scale), round(height * scale))``, rounded down to even numbers if ``even``
    (yuv420p); raises `PerturbationError` when a side would vanish."""
    new_w, new_h = int(round(width * scale)), int(round(height * scale))
    if even:
        new_w, new_h = new_w - new_w % 2, new_h - new_h % 2
    if min(new_w, new_h) < (2 if even else 1):
        raise PerturbationError(name, f"scale {scale} leaves no pixel of {width}x{height} frames")
    return new_w, new_h


@frame_function(bounds={"scale": (0.0, 1.0)}, choices={"up": ("linear", "cubic", "nearest")})
def resize_down_up(frames: np.ndarray, rng: np.random.Generator, scale: float,
                   up: str = "linear") -> np.ndarray:
    """Area downscale by ``scale`` and ``up`` interpolation back to the original size."""
    _, h, w, _ = frames.shape
    small = resize_frames(frames, *scaled_size(w, h, scale, "resize_down_up"), "area")
    return resize_frames(small, w, h, up)


@frame_function(bounds={"keep": (0.0, 1.0)}, changes=("size",))
def crop(frames: np.ndarray, rng: np.random.Generator, keep: float,
         restore: bool = True) -> np.ndarray:
    """Centre crop keeping ``keep`` of each side; with ``restore``, resized back to the original
    size (a player or platform zooming in to fill its frame), else returned smaller."""
    _, h, w, _ = frames.shape
    new_w, new_h = scaled_size(w, h, keep, "crop")
    top, left = (h - new_h) // 2, (w - new_w) // 2
    out = frames[:, top: top + new_h, left: left + new_w]
    return resize_frames(out, w, h, "linear") if restore else out.copy()


@frame_function(bounds={"bars": (0.0, 1.0), "fill": (0, 255)})
def letterbox(frames: np.ndarray, rng: np.random.Generator, bars: float,
              fill: int = 0) -> np.ndarray:
    """The whole picture shrunk by ``1 - bars`` and centred in a frame of the original size filled
    with ``fill`` (black bars on every side, as when a platform fits a video into a fixed player
    frame). The frame size does not change."""
    t, h, w, _ = frames.shape
    new_w, new_h = scaled_size(w, h, 1.0 - bars, "letterbox")
    out = np.full_like(frames, fill)
    top, left = (h - new_h) // 2, (w - new_w) // 2
    out[:, top: top + new_h, left: left + new_w] = resize_frames(frames, new_w, new_h, "area")
    return out


@frame_function(bounds={"short_side": (2, None)}, changes=("size",))
def fit_short_side(frames: np.ndarray, rng: np.random.Generator, short_side: int,
                   upscale: bool = False) -> np.ndarray:
    """Resizes so the short side is ``short_side`` (even sizes, aspect kept), as a platform's
    rendition ladder does; never enlarges unless ``upscale``."""
    _, h, w, _ = frames.shape
    scale = short_side / min(h, w)
    if scale >= 1.0 and not upscale:
        return frames.copy()
    return resize_frames(frames, *scaled_size(w, h, scale, "fit_short_side", even=True))


def frame_rate_indices(num_frames: int, ratio: float) -> np.ndarray:
    """Source frame of each output frame when the frame rate is multiplied by ``ratio``.

    The clip keeps its duration: ``round(num_frames * ratio)`` output frames, output frame k shows
    the source frame on screen at its start time, ``floor(k / ratio)`` (sample and hold, as a
    frame-rate converter that drops or repeats frames; no blending).
    """
    count = int(round(num_frames * ratio))
    return np.minimum(np.floor(np.arange(count) / ratio + 1e-9).astype(np.int64), num_frames - 1)


@frame_function(scope="video", bounds={"ratio": (0.01, 100.0)}, changes=("frames",))
def frame_rate(frames: np.ndarray, rng: np.random.Generator, ratio: float) -> np.ndarray:
    """Changes the frame rate by ``ratio`` (0.5: 30 -> 15 fps, every other frame dropped; 2.0:
    30 -> 60 fps, every frame shown twice), keeping the clip's duration.

    Raises:
        PerturbationError: the video has a single frame (it has no frame rate to change), or the
            new rate leaves no frame.
    """
    t = len(frames)
    if t < 2:
        raise PerturbationError("frame_rate", f"needs at least 2 frames, the video has {t}")
    index = frame_rate_indices(t, ratio)
    if len(index) == 0:
        raise PerturbationError("frame_rate", f"ratio {ratio} leaves no frame of {t}")
    return frames[index]
