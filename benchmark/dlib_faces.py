"""dlib face finding as the upstream methods ran it: HOG boxes and DeepfakeBench's aligned crops.

Optional dependency (``pip install vbench[faces]``): ``dlib-bin`` (dlib's Python module, no
compiler needed) and ``face-recognition-models`` (dlib's model files: the 5- and 68-point landmark
predictors, the face-recognition ResNet and the MMOD CNN detector). The models are located as
files inside that package; its Python module is not imported (it needs ``pkg_resources``, which
setuptools >= 81 no longer ships).

- `DlibHOGFaceDetector` is ``face_recognition.face_locations(img, number_of_times_to_upsample=k,
  model="hog")``: dlib's frontal-face HOG detector, boxes trimmed to the frame. GenConViT calls it
  with ``k=0`` on a BGR frame (it converts the decoded RGB frame with ``cv2.COLOR_RGB2BGR`` first).
- `DeepfakeBenchAligner` is DeepfakeBench's ``extract_aligned_face_dlib``: largest HOG face
  (upsample 1), five landmarks, a similarity transform onto the ArcFace template widened by a
  1.3 margin, ``cv2.warpAffine`` to 256 x 256; frames whose aligned crop shows no face to a second
  HOG pass are dropped, as upstream drops them. Upstream uses an 81-point landmark model (a
  download); its first 68 points follow the 68-point layout, so the 68-point model that ships with
  ``face-recognition-models`` gives the same five points (37, 44, 30, 49, 55) from a different
  fit: the landmark positions, and so the crops, differ by a few pixels.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from benchmark.errors import DataError
from benchmark.face_boxes import check_frame, clip_boxes

# ArcFace's five reference points on a 112 x 96 face; DeepfakeBench shifts x by 8 for a square
ARCFACE_112x96 = np.array([[30.2946, 51.6963], [65.5318, 51.5014], [48.0252, 71.7366],
                           [33.5493, 92.3655], [62.7299, 92.2041]], np.float32)
FIVE_POINTS_68 = (37, 44, 30, 49, 55)  # eyes, nose tip, mouth corners in dlib's 68-point layout
INSTALL_HINT = "pip install 'vbench[faces]' (dlib-bin and face-recognition-models)"


def dlib_available() -> bool:
    """Whether dlib and the face-recognition-models files can be used."""
    return importlib.util.find_spec("dlib") is not None and _models_dir() is not None


def _models_dir() -> Path | None:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    return folder if folder.is_dir() else None


def model_file(name: str) -> Path:
    """A dlib model file from ``face-recognition-models``, e.g. ``shape_predictor_68_face_landmarks.dat``."""
    folder = _models_dir()
    if folder is None or not (folder / name).is_file():
        raise DataError(f"dlib model file {name} not found (face-recognition-models is not "
                        f"installed); {INSTALL_HINT}")
    return folder / name


def _dlib():
    try:
        import dlib
    except ImportError:
        raise DataError(f"dlib is not installed; {INSTALL_HINT}") from None
    return dlib


def versions() -> dict[str, str]:
    """Versions of dlib and the model package, for run records."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("dlib-bin", "dlib", "face-recognition-models"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return out


class DlibHOGFaceDetector:
    """dlib's frontal-face HOG detector as ``face_recognition.face_locations(model="hog")``.

    Args:
        upsample: times the image is upsampled before detection (GenConViT: 0; finds faces down to
            about 80 px; each step doubles the side and finds smaller ones, slower).
        channel_order: ``bgr`` converts the RGB frame to BGR before detecting, as GenConViT does.
    """

    name = "dlib_hog"

    def __init__(self, upsample: int = 0, channel_order: str = "rgb"):
        if channel_order not in ("rgb", "bgr"):
            raise DataError(f"face detector: channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        if isinstance(upsample, bool) or not isinstance(upsample, int) or upsample < 0:
            raise DataError(f"face detector: upsample must be an integer >= 0, got {upsample!r}")
        self.upsample, self.channel_order = upsample, channel_order
        _dlib()  # fail at build time, in the main process, with the install hint
        self._detector = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_detector": None}  # dlib objects do not pickle

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        check_frame(frame)
        if self._detector is None:
            self._detector = _dlib().get_frontal_face_detector()
        image = np.ascontiguousarray(frame[..., ::-1] if self.channel_order == "bgr" else frame)
        rects = self._detector(image, self.upsample)
        # dlib's right/bottom are used as exclusive ends, as face_recognition's callers slice them
        boxes = np.array([[r.top(), r.left(), r.bottom(), r.right()] for r in rects], np.int64)
        return clip_boxes(boxes.reshape(-1, 4), *frame.shape[:2])


def arcface_template(size: int, scale: float) -> np.ndarray:
    """DeepfakeBench's target points for a ``size`` square crop with margin factor ``scale``.

    Computed in float32 step by step as upstream does, so the transform is bit-identical.
    """
    dst = ARCFACE_112x96.copy()
    dst[:, 0] += 8.0
    dst = dst * size / 112  # float32: (dst * size) / 112, as upstream
    margin = size * (scale - 1) / 2.0
    dst += margin
    dst *= size / (size + 2 * margin)
    return dst


def similarity_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2 x 3 least-squares similarity transform (Umeyama) taking ``src`` points onto ``dst``."""
    from skimage.transform import SimilarityTransform

    if hasattr(SimilarityTransform, "from_estimate"):  # scikit-image >= 0.26
        tform = SimilarityTransform.from_estimate(src, dst)
    else:
        tform = SimilarityTransform()
        tform.estimate(src, dst)
    return tform.params[:2]


class DeepfakeBenchAligner:
    """DeepfakeBench's face alignment: one aligned ``size`` square crop per frame, or None.

    Args:
        size: side of the crops (DeepfakeBench saves 256).
        scale: margin factor around the template (1.3).
        predictor: landmark model file name in ``face-recognition-models`` (68 points).
    """

    name = "dlib_hog+shape_predictor_68"

    def __init__(self, size: int = 256, scale: float = 1.3,
                 predictor: str = "shape_predictor_68_face_landmarks.dat"):
        self.size, self.scale, self.predictor_name = int(size), float(scale), predictor
        _dlib()
        model_file(predictor)
        self._detector = self._predictor = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_detector": None, "_predictor": None}

    def _models(self):
        if self._detector is None:
            dlib = _dlib()
            self._detector = dlib.get_frontal_face_detector()
            self._predictor = dlib.shape_predictor(str(model_file(self.predictor_name)))
        return self._detector, self._predictor

    def five_points(self, rgb: np.ndarray) -> np.ndarray | None:
        """Landmarks ``[5, 2]`` (x, y) of the largest face (HOG, upsample 1), or None."""
        detector, predictor = self._models()
        faces = detector(rgb, 1)
        if not len(faces):
            return None
        face = max(faces, key=lambda r: r.width() * r.height())  # max keeps the first of ties
        shape = predictor(rgb, face)
        return np.array([[shape.part(i).x, shape.part(i).y] for i in FIVE_POINTS_68], np.float32)

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        """uint8 RGB frame ``[H, W, 3]`` → aligned crop ``[size, size, 3]`` RGB, or None."""
        import cv2

        check_frame(frame)
        rgb = np.ascontiguousarray(frame)
        points = self.five_points(rgb)
        if points is None:
            return None
        matrix = similarity_matrix(points, arcface_template(self.size, self.scale))
        crop = cv2.warpAffine(rgb, matrix, (self.size, self.size))  # bilinear, black border
        detector, _ = self._models()
        # upstream re-detects on its BGR copy of the crop and drops the frame when nothing is found
        if not len(detector(np.ascontiguousarray(crop[..., ::-1]), 1)):
            return None
        return crop
