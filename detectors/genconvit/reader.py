"""Video → face-crop clips for GenConViT (runs in DataLoader workers; no model, picklable).

Upstream (``model/pred_func.py``, ``df_face`` and ``face_rec``) decodes 15 frames at
``linspace(0, N - 1, 15)`` truncated to integers (repeated indices of short videos included) with
decord, runs ``face_recognition.face_locations(bgr, number_of_times_to_upsample=0, model="hog")``
on each frame converted to BGR, crops every box exactly (no margin), resizes it to 224 with
OpenCV's ``INTER_AREA`` and keeps at most 15 faces, in frame order. A frame folder gives its first
15 images (upstream: the first 15 of ``glob`` order; here in natural order, which is
deterministic). Each crop is one clip ``[3, 1, S, S]``, so the video score (mean over clips) is the
mean over faces.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from benchmark.data import video as video_io
from benchmark.data.dataset import ClipReader, clips_tensor
from benchmark.data.spec import InputSpec
from benchmark.errors import VideoDecodeError
from benchmark.faces import build_face_detector, crop_faces, faces_in_frames


class NoFaceError(VideoDecodeError):
    """No face in any sampled frame: the video is reported as failed (upstream scores it 0.5)."""

    def __init__(self, path: str, num_frames: int):
        super().__init__(path, f"no face found in {num_frames} sampled frames")


class FaceClipReader(ClipReader):
    """Samples ``spec.frames`` frames, returns every face in them as one-frame clips.

    Args:
        spec: the input spec (frames sampled, sampling, size of the crops).
        face_detector: `benchmark.faces.build_face_detector` config (the paper config: ``auto``,
            dlib's HOG detector as upstream, the LBP cascade where dlib is not installed).
        max_faces: cap on the faces per video; None means ``spec.frames`` (upstream keeps at most
            as many faces as frames).
    """

    def __init__(self, spec: InputSpec, face_detector: Mapping[str, Any] | None = None,
                 max_faces: int | None = None):
        super().__init__(spec)
        self.detector = build_face_detector(face_detector)
        self.max_faces = max_faces or spec.frames

    @property
    def face_finder(self) -> str:
        """Which face finder runs (``dlib_hog``, ``lbp_cascade`` fallback, ``whole_frame``)."""
        return self.detector.name

    def provenance(self) -> dict[str, Any]:
        """What decides this reader's faces, for run records (``face_finder`` and versions)."""
        from benchmark.dlib_faces import versions

        found = {"face_finder": self.face_finder}
        return {**found, **versions()} if self.face_finder == "dlib_hog" else found

    def sampled_indices(self, video, rng: np.random.Generator | None) -> np.ndarray:
        """Frame indices ``[T]``: the spec's sampling for video files (repeats kept, as upstream
        scores a repeated frame's faces again), the first ``frames`` images of a folder."""
        if isinstance(video, video_io.FrameFolder) and rng is None:
            return np.arange(min(self.spec.frames, video.num_frames), dtype=np.int64)
        return self.frame_indices(video.num_frames, rng).reshape(-1)

    def __call__(self, path: str, rng: np.random.Generator | None = None) -> torch.Tensor:
        """uint8 face clips ``[K, 3, 1, S, S]`` (K = 1 in training: one random face); raises
        `NoFaceError` when no sampled frame holds a face."""
        video = self.open(path)
        try:
            indices = self.sampled_indices(video, rng)  # [T]
            frames = self.load(video, indices)  # [T, H, W, 3] at the video's own resolution
        finally:
            video.close()
        if rng is not None:
            crop = self._one_random_face(frames, rng)  # training: one clip per video
            crops = crop[None] if crop is not None else np.zeros((0,), np.uint8)
        else:
            crops, _ = faces_in_frames(frames, self.detector, self.spec.size, self.max_faces,
                                       self.spec.interpolation)
        if len(crops) == 0:
            raise NoFaceError(path, len(indices))
        return clips_tensor(crops[:, None])  # [K, 1, S, S, 3] -> [K, 3, 1, S, S]

    def _one_random_face(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
        """A random face of the first frame (in random order) that has one; None if none has."""
        for index in rng.permutation(len(frames)):
            boxes = self.detector(frames[index])
            if len(boxes):
                box = boxes[int(rng.integers(len(boxes)))]
                return crop_faces(frames[index], box[None], self.spec.size,
                                  self.spec.interpolation)[0]  # [S, S, 3]
        return None
