"""dlib face finding (optional ``faces`` extra) and the DeepfakeBench input preset."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from benchmark.errors import DataError, VideoDecodeError

dlib = pytest.importorskip("dlib")
faces = pytest.importorskip("benchmark.dlib_faces")
if not faces.dlib_available():
    pytest.skip("face-recognition-models is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage.data import astronaut as load

    return load()  # uint8 [512, 512, 3], Eileen Collins' face near rows 80-170, cols 175-265


def test_hog_boxes_are_face_recognitions_css_boxes(astronaut):
    detector = faces.DlibHOGFaceDetector(upsample=0)
    (rect,) = dlib.get_frontal_face_detector()(astronaut, 0)
    # face_recognition: (top, right, bottom, left) = rect sides trimmed to the frame; we keep
    # (top, left, bottom, right) and slice frame[top:bottom, left:right] as GenConViT does
    expected = [max(rect.top(), 0), max(rect.left(), 0), min(rect.bottom(), 512), min(rect.right(), 512)]
    assert detector(astronaut).tolist() == [expected]
    assert detector.name == "dlib_hog"
    clone = pickle.loads(pickle.dumps(detector))
    assert np.array_equal(clone(astronaut), detector(astronaut))


def test_hog_upsampling_and_channel_order(astronaut):
    small = astronaut[::2, ::2].copy()  # a 45 px face: below HOG's 80 px window without upsampling
    assert len(faces.DlibHOGFaceDetector(upsample=0)(small)) == 0
    assert len(faces.DlibHOGFaceDetector(upsample=1)(small)) >= 1
    bgr = faces.DlibHOGFaceDetector(upsample=0, channel_order="bgr")(astronaut)
    assert len(bgr) == 1  # GenConViT detects on its BGR copy of the frame
    with pytest.raises(DataError, match="upsample must be an integer >= 0"):
        faces.DlibHOGFaceDetector(upsample=-1)
    with pytest.raises(DataError, match="channel_order"):
        faces.DlibHOGFaceDetector(channel_order="rgba")


def test_auto_detector_prefers_dlib_and_says_so():
    from benchmark.faces import build_face_detector

    assert build_face_detector({"type": "auto", "upsample": 0}).name == "dlib_hog"
    assert build_face_detector({"type": "lbp_cascade"}).name == "lbp_cascade"


def test_auto_detector_falls_back_to_the_cascade_with_a_warning(monkeypatch):
    from benchmark.faces import build_face_detector

    monkeypatch.setattr(faces, "dlib_available", lambda: False)
    with pytest.warns(UserWarning, match="LBP cascade fallback"):
        detector = build_face_detector({"type": "auto", "upsample": 0,
                                        "fallback": {"scale_factor": 1.25}})
    assert detector.name == "lbp_cascade" and detector.scale_factor == 1.25


def test_arcface_template_for_256_px_and_margin_1_3():
    # hand-worked: x = ((30.2946 + 8) * 256 / 112 + 38.4) * 256 / (256 + 76.8)
    dst = faces.arcface_template(256, 1.3)
    assert dst.shape == (5, 2) and dst.dtype == np.float32
    assert dst[0, 0] == pytest.approx(((30.2946 + 8) * 256 / 112 + 38.4) * 256 / 332.8, abs=1e-4)
    assert dst[4, 1] == pytest.approx((92.2041 * 256 / 112 + 38.4) * 256 / 332.8, abs=1e-4)


def test_similarity_matrix_recovers_a_known_transform():
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = np.array([[0, 0], [10, 0], [0, 7], [5, 5], [9, 2]], np.float32)
    dst = (src @ rot.T + shift).astype(np.float32)
    np.testing.assert_allclose(faces.similarity_matrix(src, dst), np.c_[rot, shift], atol=1e-4)


def test_aligned_crop_puts_the_landmarks_on_the_template(astronaut):
    aligner = faces.DeepfakeBenchAligner(256)
    crop = aligner(astronaut)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
    source = aligner.five_points(astronaut)
    matrix = faces.similarity_matrix(source, faces.arcface_template(256, 1.3))
    mapped = source @ matrix[:, :2].T + matrix[:, 2]  # where the warp put the landmarks
    assert np.abs(mapped - faces.arcface_template(256, 1.3)).max() < 15  # least-squares residual
    found = aligner.five_points(crop)  # the landmarks, found again on the aligned crop
    assert np.abs(found - mapped).max() < 4  # pixels: the crop is the frame warped by `matrix`
    assert aligner(np.zeros((300, 300, 3), np.uint8)) is None  # no face: the frame is dropped
    assert pickle.loads(pickle.dumps(aligner))(astronaut).shape == (256, 256, 3)


# -- the deepfakebench preset ----------------------------------------------------------------------
def _spec(**overrides):
    from benchmark.data.spec import InputSpec

    fields = dict(frames=4, sampling="clips", num_clips=2, size=64, resize="resize",
                  interpolation="cv2_bicubic", face_crop=True, preset="deepfakebench")
    return InputSpec(**{**fields, **overrides})


def _face_video(path, frames: int, blank: bool = False):
    from benchmark.data.corpus_render import encode_mp4
    from skimage.data import astronaut

    image = astronaut()[40:296, 100:356].astype(np.float32) / 255  # 256 px, face ~90 px
    video = np.stack([np.roll(image, 2 * i, axis=1) for i in range(frames)])  # a slow pan
    encode_mp4(video * 0 + 0.4 if blank else video, path, fps=25, crf=18)
    return path


def test_deepfakebench_preset_aligns_faces_then_cuts_clips(tmp_path):
    from benchmark.data.dataset import ClipReader
    from benchmark.data.presets import deepfakebench_faces
    from benchmark.data.spatial import resize_frames
    from benchmark.data.video import open_video

    path = _face_video(tmp_path / "face.mp4", frames=10)
    reader = ClipReader(_spec())
    clips = reader(str(path))  # 10 frames: linspace(0, 9, 32) -> all 10, each aligned
    # the loader keeps the first num_clips * frames = 8 crops: 2 clips, starts 0 and 4
    video = open_video(str(path))
    crops = deepfakebench_faces(reader, video)
    assert crops.shape == (10, 256, 256, 3)
    assert clips.shape == (2, 3, 4, 64, 64)
    expected = resize_frames(crops[:8], 64, 64, "cv2_bicubic")
    np.testing.assert_array_equal(clips.permute(0, 2, 3, 4, 1).reshape(8, 64, 64, 3).numpy(), expected)
    assert reader.provenance()["face_finder"] == "dlib_hog+shape_predictor_68"


def test_deepfakebench_preset_reads_frame_folders_as_crops(tmp_path):
    import cv2

    from benchmark.data.dataset import ClipReader

    folder = tmp_path / "frames" / "000"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (9, 256, 256, 3), dtype=np.uint8)  # no faces: no re-detection
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i:03d}.png"), image[..., ::-1])
    clips = ClipReader(_spec(num_clips=1))(str(folder))  # first 4 of 9 crops: one clip
    assert clips.shape == (1, 3, 4, 64, 64)
    clips = ClipReader(_spec(frames=3))(str(folder))  # first 6: 2 clips of 3, starts 0 and 3
    assert clips.shape == (2, 3, 3, 64, 64)
    expected = cv2.resize(images[3], (64, 64), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_array_equal(clips[1, :, 0].permute(1, 2, 0).numpy(), expected)


def test_deepfakebench_preset_names_videos_without_enough_faces(tmp_path):
    from benchmark.data.dataset import ClipReader

    path = _face_video(tmp_path / "blank.mp4", frames=6, blank=True)
    with pytest.raises(VideoDecodeError, match="0 of 32 sampled frames show a face"):
        ClipReader(_spec())(str(path))
