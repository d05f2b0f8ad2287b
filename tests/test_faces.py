"""benchmark.faces: the offline face detector, exact crops, and the per-frame face listing."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from benchmark.errors import DataError, UnknownKeyError
from benchmark.faces import (FaceDetector, LBPCascadeFaceDetector, WholeFrameDetector,
                             build_face_detector, clip_boxes, crop_faces, faces_in_frames)

# skimage.data.astronaut(): Eileen Collins' face, found by the cascade at rows 70-163, cols 175-268
ASTRONAUT_FACE = (70, 175, 163, 268)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage.data import astronaut as load

    return load()  # uint8 [512, 512, 3]


def _iou(a, b) -> float:
    top, left = max(a[0], b[0]), max(a[1], b[1])
    bottom, right = min(a[2], b[2]), min(a[3], b[3])
    inter = max(bottom - top, 0) * max(right - left, 0)
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def test_default_detector_finds_the_one_face_of_a_real_photo(astronaut):
    detector = build_face_detector()
    assert isinstance(detector, LBPCascadeFaceDetector) and isinstance(detector, FaceDetector)
    boxes = detector(astronaut)
    assert boxes.shape == (1, 4) and boxes.dtype == np.int64
    assert _iou(boxes[0], ASTRONAUT_FACE) > 0.6


def test_no_face_in_a_blank_or_noisy_frame():
    detector = LBPCascadeFaceDetector()
    noise = np.random.default_rng(0).integers(0, 256, (160, 160, 3), dtype=np.uint8)
    assert detector(np.zeros((160, 160, 3), np.uint8)).shape == (0, 4)
    assert detector(noise).shape == (0, 4)
    assert detector(np.zeros((10, 10, 3), np.uint8)).shape == (0, 4)  # smaller than a face


def test_detector_pickles_after_use(astronaut):
    detector = LBPCascadeFaceDetector(scale_factor=1.25)
    detector(astronaut[:128, :128])
    clone = pickle.loads(pickle.dumps(detector))
    assert clone.scale_factor == 1.25
    assert np.array_equal(clone(astronaut), detector(astronaut))


def test_crop_is_exact_without_margin_and_resized():
    frame = np.zeros((60, 80, 3), np.uint8)
    frame[10:30, 20:50] = (200, 10, 10)  # a 20 x 30 red patch; the crop must hold only it
    crops = crop_faces(frame, np.array([[10, 20, 30, 50]]), size=16)
    assert crops.shape == (1, 16, 16, 3) and crops.dtype == np.uint8
    assert (crops[0] == (200, 10, 10)).all()


def test_boxes_are_clipped_and_empty_ones_dropped():
    boxes = clip_boxes(np.array([[-5, -5, 10, 10], [50, 50, 70, 90], [5, 5, 5, 9]]), 60, 80)
    assert boxes.tolist() == [[0, 0, 10, 10], [50, 50, 60, 80]]


def test_faces_in_frames_keeps_frame_order_and_cap(astronaut):
    frames = np.stack([np.zeros_like(astronaut), astronaut, astronaut])  # [3, 512, 512, 3]
    crops, origin = faces_in_frames(frames, LBPCascadeFaceDetector(), size=32)
    assert crops.shape == (2, 32, 32, 3) and origin.tolist() == [1, 2]
    crops, origin = faces_in_frames(frames, WholeFrameDetector(), size=32, max_faces=2)
    assert crops.shape == (2, 32, 32, 3) and origin.tolist() == [0, 1]
    crops, origin = faces_in_frames(frames[:1], LBPCascadeFaceDetector(), size=32)
    assert crops.shape == (0, 32, 32, 3) and origin.shape == (0,)


def test_whole_frame_detector_returns_the_frame():
    assert WholeFrameDetector()(np.zeros((7, 9, 3), np.uint8)).tolist() == [[0, 0, 7, 9]]


def test_bad_configs_and_frames_are_named():
    with pytest.raises(UnknownKeyError, match="face detector 'haar'"):
        build_face_detector({"type": "haar"})
    with pytest.raises(DataError, match="lbp_cascade.*bad arguments"):
        build_face_detector({"type": "lbp_cascade", "scale": 2})
    with pytest.raises(DataError, match="scale_factor must be > 1"):
        LBPCascadeFaceDetector(scale_factor=1.0)
    with pytest.raises(DataError, match="uint8"):
        LBPCascadeFaceDetector()(np.zeros((40, 40, 3), np.float32))
    with pytest.raises(DataError, match=r"\[H, W, 3\]"):
        WholeFrameDetector()(np.zeros((40, 40), np.uint8))
