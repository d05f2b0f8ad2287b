"""Finding and cropping faces in decoded frames, offline.

Face-based detectors (GenConViT) score face crops, not whole frames. A face detector here is any
callable that takes one uint8 RGB frame ``[H, W, 3]`` and returns integer boxes ``[K, 4]`` as
``(top, left, bottom, right)`` (bottom/right exclusive) — the `FaceDetector` protocol of
`benchmark.face_boxes` — and has a ``name`` saying which finder it is (run records name the
finder that ran).

- ``dlib_hog`` (`benchmark.dlib_faces.DlibHOGFaceDetector`): what upstream methods use
  (``face_recognition``'s HOG model); needs the optional ``faces`` extra.
- ``lbp_cascade`` (`LBPCascadeFaceDetector`): the offline fallback, no extra package: scikit-image's
  bundled OpenCV LBP frontal-face cascade through ``skimage.feature.Cascade`` (opencv-python 5
  ships no cascade files). Weaker than dlib's HOG: frontal faces only, more misses on small or
  turned faces, a different box geometry — scores are then not upstream's.
- ``auto``: ``dlib_hog`` where dlib is installed, else ``lbp_cascade`` with a warning.
- ``whole_frame`` (`WholeFrameDetector`): every frame is one face, for datasets of face crops.

Detectors are plain settings until first used, so they pickle into DataLoader workers.
"""
from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np

from benchmark import dlib_faces
from benchmark.errors import DataError, UnknownKeyError
from benchmark.face_boxes import FaceDetector, check_frame, clip_boxes

__all__ = ["FACE_DETECTORS", "FaceDetector", "LBPCascadeFaceDetector", "WholeFrameDetector",
           "build_face_detector", "clip_boxes", "crop_faces", "faces_in_frames"]


class LBPCascadeFaceDetector:
    """OpenCV's LBP frontal-face cascade as shipped with scikit-image, run by skimage (fallback).

    Args:
        scale_factor: step between the scales searched (> 1; smaller finds more, slower).
        min_size_ratio: smallest face side searched, as a fraction of the frame's short side
            (also at least ``min_size`` pixels); keeps the search fast and false positives rare.
        min_size: smallest face side in pixels.
        min_neighbors: detections that must overlap for a face to be kept.
    """

    name = "lbp_cascade"

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
        check_frame(frame)
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

    name = "whole_frame"

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        check_frame(frame)
        return np.array([[0, 0, frame.shape[0], frame.shape[1]]], np.int64)


def _dlib_hog(**kwargs) -> FaceDetector:
    return dlib_faces.DlibHOGFaceDetector(**kwargs)


def _auto(fallback: Mapping[str, Any] | None = None, **kwargs) -> FaceDetector:
    """dlib's HOG detector (``kwargs``) where dlib is installed, else the LBP cascade
    (``fallback`` arguments), with a warning: the run then does not find faces as upstream."""
    if dlib_faces.dlib_available():
        return _dlib_hog(**kwargs)
    warnings.warn(f"face detector 'auto': dlib is not installed, using the LBP cascade fallback, "
                  f"which finds other faces than upstream's dlib HOG detector; "
                  f"{dlib_faces.INSTALL_HINT}", stacklevel=3)
    return LBPCascadeFaceDetector(**dict(fallback or {}))


FACE_DETECTORS = {"auto": _auto, "dlib_hog": _dlib_hog, "lbp_cascade": LBPCascadeFaceDetector,
                  "whole_frame": WholeFrameDetector}


def build_face_detector(cfg: Mapping[str, Any] | None = None) -> FaceDetector:
    """A face detector from a config such as ``{"type": "dlib_hog", "upsample": 0}``.

    Args:
        cfg: ``type`` (one of `FACE_DETECTORS`; ``lbp_cascade`` when absent) and its arguments;
            ``auto`` takes dlib's arguments plus ``fallback:`` (the LBP cascade's). The built
            detector's ``name`` says which finder it is.
    """
    cfg = dict(cfg or {})
    kind = cfg.pop("type", "lbp_cascade")
    if kind not in FACE_DETECTORS:
        raise UnknownKeyError("face detector", str(kind), FACE_DETECTORS)
    try:
        return FACE_DETECTORS[kind](**cfg)
    except TypeError as error:
        raise DataError(f"face detector '{kind}': bad arguments {sorted(cfg)} ({error})") from None


def crop_faces(frame: np.ndarray, boxes: np.ndarray, size: int,
               interpolation: str = "cv2_area") -> np.ndarray:
    """Crops each box of ``frame`` exactly (no margin) and resizes it to ``size`` × ``size``.

    Args:
        frame: uint8 RGB ``[H, W, 3]``.
        boxes: ``[K, 4]`` ``(top, left, bottom, right)``.
        size: output side.
        interpolation: a `benchmark.data.spatial.INTERPOLATIONS` filter; GenConViT resizes every
            crop with OpenCV's ``INTER_AREA``, enlarging ones too (``cv2_area``).

    Returns:
        uint8 ``[K, size, size, 3]``.
    """
    from benchmark.data.spatial import resize_image

    boxes = clip_boxes(np.asarray(boxes, np.int64).reshape(-1, 4), *frame.shape[:2])
    out = np.empty((len(boxes), size, size, 3), np.uint8)
    for i, (top, left, bottom, right) in enumerate(boxes):
        out[i] = resize_image(frame[top:bottom, left:right], size, size, interpolation)
    return out


def faces_in_frames(frames: np.ndarray, detector: FaceDetector, size: int,
                    max_faces: int | None = None, interpolation: str = "cv2_area"
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Every face of every frame, cropped and resized, in frame order.

    Args:
        frames: uint8 RGB ``[F, H, W, 3]``.
        detector: a `FaceDetector`.
        size: side of the crops.
        max_faces: stop after this many faces (None: all).
        interpolation: the crops' resize filter (see `crop_faces`).

    Returns:
        crops uint8 ``[K, size, size, 3]`` and the frame index of each crop ``[K]``.
    """
    crops, origin = [], []
    for index, frame in enumerate(frames):
        found = crop_faces(frame, detector(frame), size, interpolation)
        crops.append(found)
        origin += [index] * len(found)
        if max_faces is not None and len(origin) >= max_faces:
            break
    crops_arr = np.concatenate(crops) if crops else np.zeros((0, size, size, 3), np.uint8)
    limit = len(origin) if max_faces is None else max_faces
    return crops_arr[:limit], np.asarray(origin[:limit], np.int64)
