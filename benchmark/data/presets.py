"""Input presets: a published preprocessing that decides which frames make up a video.

``deepfakebench`` — what DeepfakeBench's ``preprocessing/preprocess.py`` (``fixed_num_frames``
mode) and its ``abstract_dataset.py`` video-level loader do, so that a method trained on
DeepfakeBench data (StA) sees from an mp4 what it saw in training:

1. 32 frames at ``linspace(0, N - 1, 32)`` truncated to integers (a repeated index is one frame);
2. each frame's largest dlib face aligned onto the ArcFace template with a 1.3 margin, 256 x 256
   (`benchmark.dlib_faces.DeepfakeBenchAligner`); frames without a face are dropped;
3. the first ``num_clips * frames`` crops (StA: 32) cut into clips by DeepfakeBench's rule
   (`benchmark.data.sampling.segment_clips`);
4. the spec's spatial transform (StA: 256 → 224, OpenCV bicubic, as the loader's ``load_rgb``).

A frame folder (DeepfakeBench's own output, ``frames/<video>/000.png``) already holds the aligned
crops: steps 1-2 are skipped and its images, in natural order, are the sequence.
"""
from __future__ import annotations

from typing import Any

import numpy as np

PRESETS = {
    "deepfakebench": "DeepfakeBench preprocessing: 32 frames at linspace, dlib-aligned 256 px face "
                     "crops, then its video-level clip rule; frame folders are read as crops",
}
EXTRACT_FRAMES = 32   # DeepfakeBench preprocessing/config.yaml: num_frames
CROP_SIZE = 256       # extract_aligned_face_dlib(res=256)


def preset_provenance(preset: str | None) -> dict[str, Any]:
    """What a preset runs, for run records (empty without a preset)."""
    if preset != "deepfakebench":
        return {}
    from benchmark.dlib_faces import DeepfakeBenchAligner, versions

    return {"preset": preset, "face_finder": DeepfakeBenchAligner.name, **versions()}


def read_preset(reader, video, rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``[F, S, S, 3]`` and clip index ``[K, T]`` of an open video under ``reader.spec.preset``.

    Args:
        reader: the `benchmark.data.dataset.ClipReader` (its `load` decodes, `transform` resizes).
        video: an open video file or frame folder.
        rng: training offsets, or None.
    """
    from benchmark.data import video as video_io

    spec = reader.spec
    if isinstance(video, video_io.FrameFolder):
        sequence, source = None, video
        count = video.num_frames
    else:
        sequence = deepfakebench_faces(reader, video)  # [F, 256, 256, 3]
        count = len(sequence)
        if count < spec.frames:
            from benchmark.errors import VideoDecodeError

            raise VideoDecodeError(video.path, f"{count} of {EXTRACT_FRAMES} sampled frames show a "
                                               f"face (dlib), a clip needs {spec.frames}")
    index = clip_index(count, spec, rng, getattr(video, "path", "<video>"))  # [K, T]
    unique, inverse = np.unique(index, return_inverse=True)
    frames = sequence[unique] if sequence is not None else reader.load(source, unique)
    return reader.transform(frames), inverse.reshape(index.shape)


def clip_index(count: int, spec, rng: np.random.Generator | None, path: str) -> np.ndarray:
    """DeepfakeBench's clips over ``count`` face frames; a too-short sequence names the video."""
    from benchmark.data.sampling import ShortVideoError, segment_clips

    try:
        return segment_clips(count, spec.frames, spec.num_clips * spec.frames, rng)
    except ShortVideoError as error:
        raise ShortVideoError(error.num_frames, error.needed, path) from None


_ALIGNERS: dict[int, Any] = {}  # one aligner (and its loaded dlib models) per worker process


def deepfakebench_faces(reader, video) -> np.ndarray:
    """Aligned 256 px face crops of the 32 linspace frames that show a face, in frame order."""
    import os

    from benchmark.dlib_faces import DeepfakeBenchAligner

    aligner = _ALIGNERS.get(os.getpid())
    if aligner is None:
        aligner = _ALIGNERS.setdefault(os.getpid(), DeepfakeBenchAligner(CROP_SIZE))
    picks = np.unique(np.linspace(0, video.num_frames - 1, EXTRACT_FRAMES).astype(np.int64))
    crops = [aligner(frame) for frame in reader.load(video, picks)]
    kept = [crop for crop in crops if crop is not None]
    if not kept:
        return np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    return np.stack(kept)
