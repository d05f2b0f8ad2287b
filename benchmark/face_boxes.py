"""The face-detector contract every finder shares: frames in, boxes out.

A face detector is any callable that takes one uint8 RGB frame ``[H, W, 3]`` and returns integer
boxes ``[K, 4]`` as ``(top, left, bottom, right)`` (bottom/right exclusive), with a ``name``
saying which finder it is. `benchmark.faces` (the finders and their registry) and
`benchmark.dlib_faces` (dlib's HOG finder and aligner) both build on this module, so neither needs
the other's internals.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from benchmark.errors import DataError


@runtime_checkable
class FaceDetector(Protocol):
    """Frame uint8 RGB ``[H, W, 3]`` → int64 boxes ``[K, 4]`` ``(top, left, bottom, right)``."""

    name: str

    def __call__(self, frame: np.ndarray) -> np.ndarray: ...


def check_frame(frame: np.ndarray) -> None:
    """Refuses anything but one uint8 RGB frame ``[H, W, 3]``."""
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", type(frame).__name__)
        raise DataError(f"face detection: expected one RGB frame [H, W, 3], got {shape}")
    if frame.dtype != np.uint8:
        raise DataError(f"face detection: expected a uint8 frame, got dtype {frame.dtype}")


def clip_boxes(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Boxes ``[K, 4]`` clipped to the frame; empty boxes are dropped."""
    boxes = boxes.copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, height)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, width)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[keep]
