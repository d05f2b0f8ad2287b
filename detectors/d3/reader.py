"""Upstream's spatial preprocessing: cut a fraction off both ends of the long side, then resize.

``data/datasets.py`` ``crop_center_by_percentage(image, 0.1)``: when the frame is wider than tall,
``int(0.1 * width)`` columns go from the left and from the right; otherwise (square frames too)
``int(0.1 * height)`` rows from the top and the bottom. ``albumentations.Resize(224, 224)`` then
resizes to the square ignoring the aspect ratio (OpenCV ``INTER_LINEAR``): the spec's
``resize: resize`` with ``interpolation: cv2_linear``.

With ``frames_from="ffmpeg_jpeg"`` (the paper config) the frames are upstream's: ffmpeg's 8 fps
JPEG files of a 3 s window (`detectors.d3.frames`), read back, then the same crop and resize. A
frame folder is read as it is (it already holds extracted frames, as upstream's evaluation reads).
"""
from __future__ import annotations

import math

import numpy as np

from benchmark.api import ClipReader
from detectors.d3 import frames as d3_frames


def crop_long_side(frames: np.ndarray, fraction: float) -> np.ndarray:
    """uint8 ``[F, H, W, 3]`` → ``[F, H', W', 3]`` with ``int(fraction * side)`` cut from both
    ends of the long side (the height when square), as upstream."""
    h, w = frames.shape[1:3]
    if w > h:
        cut = int(w * fraction)
        return frames[:, :, cut:w - cut]
    cut = int(h * fraction)
    return frames[:, cut:h - cut]


class D3ClipReader(ClipReader):
    """`ClipReader` whose spatial transform first applies upstream's long-side crop.

    Args:
        spec: the input spec.
        crop_fraction: fraction cut from each end of the long side (upstream 0.1; 0: none).
    """

    def __init__(self, spec, crop_fraction: float, augment=None, frames_from: str = "decoded",
                 fps: float = 8.0, window_s: float = 3.0, start: str = "first"):
        super().__init__(spec, augment=augment)
        self.crop_fraction = crop_fraction
        self.frames_from, self.fps, self.window_s, self.start = frames_from, fps, window_s, start

    def read_frames(self, path: str, rng=None) -> tuple[np.ndarray, np.ndarray]:
        if self.frames_from != "ffmpeg_jpeg" or (self.opener is None and d3_frames_is_folder(path)):
            return super().read_frames(path, rng)
        count = self.spec.frames
        video = self.open(path)
        try:
            info = video.info
            duration = info.num_frames / info.fps if info.fps else 0.0
            start = d3_frames.start_second(duration, self.window_s, self.start, path)
            if self.opener is None:
                frames = d3_frames.extract_jpeg_frames(path, count, self.fps, self.window_s, start)
            else:  # a perturbed view: only its decoded frames exist
                first = int(round(start * info.fps))
                last = min(info.num_frames, first + int(math.ceil(self.window_s * info.fps)))
                decoded = video.read(list(range(first, last)))
                frames = d3_frames.encode_jpeg_frames(decoded, info.fps, count, self.fps, path)
        finally:
            video.close()
        index = np.arange(count)[None]  # one clip: the first `count` extracted frames
        return self.transform(frames, rng), index

    def transform(self, frames: np.ndarray, crop_rng=None) -> np.ndarray:
        if self.crop_fraction:
            frames = np.ascontiguousarray(crop_long_side(frames, self.crop_fraction))
        return super().transform(frames, crop_rng)

    def provenance(self) -> dict:
        out = {**super().provenance(), "long_side_crop": self.crop_fraction,
               "frames_from": self.frames_from}
        if self.frames_from == "ffmpeg_jpeg":
            out.update(frame_extraction=f"ffmpeg -ss START -t {self.window_s:g} -i VIDEO -vf "
                                        f"fps={self.fps:g} %d.jpg, cv2.imread",
                       window_start=self.start, ffmpeg=d3_frames.ffmpeg_version())
        return out


def d3_frames_is_folder(path: str) -> bool:
    """Frames already extracted (a folder or frame set): read as they are."""
    from benchmark.api import is_frames

    return is_frames(path)
