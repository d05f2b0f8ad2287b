"""Upstream's spatial preprocessing: cut a fraction off both ends of the long side, then resize.

``data/datasets.py`` ``crop_center_by_percentage(image, 0.1)``: when the frame is wider than tall,
``int(0.1 * width)`` columns go from the left and from the right; otherwise (square frames too)
``int(0.1 * height)`` rows from the top and the bottom. ``albumentations.Resize(224, 224)`` then
resizes to the square ignoring the aspect ratio (OpenCV ``INTER_LINEAR``): the spec's
``resize: resize`` with ``interpolation: cv2_linear``.
"""
from __future__ import annotations

import numpy as np

from benchmark.api import ClipReader


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

    def __init__(self, spec, crop_fraction: float, augment=None):
        super().__init__(spec, augment=augment)
        self.crop_fraction = crop_fraction

    def transform(self, frames: np.ndarray, crop_rng=None) -> np.ndarray:
        if self.crop_fraction:
            frames = np.ascontiguousarray(crop_long_side(frames, self.crop_fraction))
        return super().transform(frames, crop_rng)

    def provenance(self) -> dict:
        return {**super().provenance(), "long_side_crop": self.crop_fraction}
