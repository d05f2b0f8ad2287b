"""Finding and cropping faces in decoded frames, offline.

Face-based detectors (GenConViT) score face crops, not whole frames. A face detector here is any
callable that takes one uint8 RGB frame ``[H, W, 3]`` and returns integer boxes ``[K, 4]`` as
``(top, left, bottom, right)`` (bottom/right exclusive) — the `FaceDetector` protocol.

The default, `LBPCascadeFaceDetector`, needs no download: opencv-python 5 no longer ships the Haar
cascade files (``cv2.data.haarcascades`` is an empty folder, and its ``CascadeClassifier`` refuses
the old LBP format), so we use scikit-image's bundled OpenCV LBP frontal-face cascade through
``skimage.feature.Cascade``. It is a weaker detector than the dlib HOG/CNN models that upstream
methods use (``face_recognition``): frontal faces only, some misses on small or turned faces.
`WholeFrameDetector` treats every frame as one face, for datasets that already hold face crops.

Detectors are plain settings until first used, so they pickle into DataLoader workers.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np

from benchmark.errors import DataError, UnknownKeyError


@runtime_checkable
class FaceDetector(Protocol):
    """Frame uint8 RGB ``[H, W, 3]`` → int64 boxes ``[K, 4]`` ``(top, left, bottom, right)``."""

    def __call__(self, frame: np.ndarray) -> np.ndarray: ...


def _check_frame(frame: np.ndarray) -> None:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", type(frame).__name__)
        raise DataError(f"face detection: expected one RGB frame [H, W, 3], got {shape}")
    if frame.dtype != np.uint8:
        raise DataError(f"face detection: expected a uint8 frame, got dtype {frame.dtype}")


class LBPCascadeFaceDetector:
    """OpenCV's LBP frontal-face cascade as shipped with scikit-image, run by skimage.

    Args:
        scale_factor: step between the scales searched (> 1; smaller finds more, slower).
        min_size_ratio: smallest face side searched, as a fraction of the frame's short side
            (also at least ``min_size`` pixels); keeps the search fast and false positives rare.
        min_size: smallest face side in pixels.
        min_neighbors: detections that must overlap for a face to be kept.
    """

    def __init__(self, scale_factor: float = 1.2, min_size_ratio: float = 0.1, min_size: int = 24,
                 min_neighbors: int = 4):
        if scale_factor <= 1:
            raise DataError(f"face detector: scale_factor must be > 1, got {scale_factor}")
        self.scale_factor, self.min_size_ratio = float(scale_factor), float(min_size_ratio)
        self.min_size, self.min_neighbors = int(min_size), int(min_neighbors)
        self._cascade = None  # loaded on first use, in the process that uses it

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_cascade": None}  # the skimage Cascade does not pickle

    def _get_cascade(self):
        if self._cascade is None:
            from skimage.data import lbp_frontal_face_cascade_filename
            from skimage.feature import Cascade

            self._cascade = Cascade(lbp_frontal_face_cascade_filename())
        return self._cascade

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        _check_frame(frame)
        height, width = frame.shape[:2]
        side = max(self.min_size, int(min(height, width) * self.min_size_ratio))
        if side > min(height, width):
            return np.zeros((0, 4), np.int64)
        found = self._get_cascade().detect_multi_scale(
            frame, scale_factor=self.scale_factor, step_ratio=1, min_size=(side, side),
            max_size=(height, width), min_neighbor_number=self.min_neighbors)
        boxes = [(d["r"], d["c"], d["r"] + d["height"], d["c"] + d["width"]) for d in found]
        return clip_boxes(np.asarray(boxes, np.int64).reshape(-1, 4), height, width)


class WholeFrameDetector:
    """Every frame is one face: for datasets whose frames already are face crops."""

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        _check_frame(frame)
        return np.array([[0, 0, frame.shape[0], frame.shape[1]]], np.int64)


FACE_DETECTORS = {"lbp_cascade": LBPCascadeFaceDetector, "whole_frame": WholeFrameDetector}


def build_face_detector(cfg: Mapping[str, Any] | None = None) -> FaceDetector:
    """A face detector from a config such as ``{"type": "lbp_cascade", "scale_factor": 1.2}``.

    Args:
        cfg: ``type`` (one of `FACE_DETECTORS`; ``lbp_cascade`` when absent) and its arguments.
    """
    cfg = dict(cfg or {})
    kind = cfg.pop("type", "lbp_cascade")
    if kind not in FACE_DETECTORS:
        raise UnknownKeyError("face detector", str(kind), FACE_DETECTORS)
    try:
        return FACE_DETECTORS[kind](**cfg)
    except TypeError as error:
        raise DataError(f"face detector '{kind}': bad arguments {sorted(cfg)} ({error})") from None


def clip_boxes(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Boxes ``[K, 4]`` clipped to the frame; empty boxes are dropped."""
    boxes = boxes.copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, height)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, width)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[keep]


def crop_faces(frame: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Crops each box of ``frame`` exactly (no margin) and resizes it to ``size`` × ``size``.

    Args:
        frame: uint8 RGB ``[H, W, 3]``.
        boxes: ``[K, 4]`` ``(top, left, bottom, right)``.
        size: output side.

    Returns:
        uint8 ``[K, size, size, 3]``.
    """
    import cv2

    boxes = clip_boxes(np.asarray(boxes, np.int64).reshape(-1, 4), *frame.shape[:2])
    out = np.empty((len(boxes), size, size, 3), np.uint8)
    for i, (top, left, bottom, right) in enumerate(boxes):
        face = np.ascontiguousarray(frame[top:bottom, left:right])
        shrink = face.shape[0] * face.shape[1] > size * size
        # INTER_AREA when shrinking, as GenConViT's face_rec does
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        cv2.resize(face, (size, size), dst=out[i], interpolation=interp)
    return out


def faces_in_frames(frames: np.ndarray, detector: FaceDetector, size: int,
                    max_faces: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every face of every frame, cropped and resized, in frame order.

    Args:
        frames: uint8 RGB ``[F, H, W, 3]``.
        detector: a `FaceDetector`.
        size: side of the crops.
        max_faces: stop after this many faces (None: all).

    Returns:
        crops uint8 ``[K, size, size, 3]`` and the frame index of each crop ``[K]``.
    """
    crops, origin = [], []
    for index, frame in enumerate(frames):
        found = crop_faces(frame, detector(frame), size)
        crops.append(found)
        origin += [index] * len(found)
        if max_faces is not None and len(origin) >= max_faces:
            break
    crops_arr = np.concatenate(crops) if crops else np.zeros((0, size, size, 3), np.uint8)
    limit = len(origin) if max_faces is None else max_faces
    return crops_arr[:limit], np.asarray(origin[:limit], np.int64)
