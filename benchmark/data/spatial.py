"""Spatial transforms of uint8 frames: resize modes, interpolation filters, centre crops.

Where a method's published preprocessing resized with a particular library and filter, its input
spec names that filter (`INTERPOLATIONS`), because filters differ by tens of grey levels on the
same frame: transformers' image processors (MMVGM's VideoMAE, X-CLIP and I3D) resize with PIL's
antialiased bilinear filter, DeepfakeBench's loader (StA) with OpenCV bicubic, GenConViT's face
crops with OpenCV area averaging. ``auto`` is vbench's own choice for methods without one.

The geometry of ``short_side_center_crop`` is exactly that of transformers'
``VideoMAEImageProcessor`` (4.x): the short side becomes ``size``, the long side
``int(size * long / short)`` (truncated), then the centre ``size`` square is cut at
``((H - size) // 2, (W - size) // 2)``.
"""
from __future__ import annotations

import numpy as np

INTERPOLATIONS = {
    "auto": "OpenCV area averaging when shrinking, bilinear when enlarging (vbench's default)",
    "pil_bilinear": "PIL bilinear, antialiased when shrinking (transformers' processors, resample=2)",
    "pil_bicubic": "PIL bicubic, antialiased when shrinking (resample=3)",
    "cv2_area": "OpenCV INTER_AREA, shrinking and enlarging (GenConViT's face crops)",
    "cv2_linear": "OpenCV INTER_LINEAR",
    "cv2_bicubic": "OpenCV INTER_CUBIC (DeepfakeBench's frame loader)",
}
RESIZE_MODES = {
    "short_side_center_crop": "scale the short side to `size` (long side truncated), then crop the "
                              "centre square (transformers' VideoMAEImageProcessor geometry)",
    "center_crop": "crop the centre `size` square without resizing; zero-pad frames that are smaller "
                   "(AIGVDet's CenterCrop(448))",
    "resize": "resize to `size` x `size`, ignoring the aspect ratio (e.g. face crops)",
}


def _cv2_flag(interpolation: str, shrink: bool) -> int:
    import cv2

    if interpolation == "auto":
        return cv2.INTER_AREA if shrink else cv2.INTER_LINEAR  # AREA ~ antialiased downscaling
    return {"cv2_area": cv2.INTER_AREA, "cv2_linear": cv2.INTER_LINEAR,
            "cv2_bicubic": cv2.INTER_CUBIC}[interpolation]


def resize_image(image: np.ndarray, height: int, width: int, interpolation: str = "auto"
                 ) -> np.ndarray:
    """One uint8 image ``[h, w, C]`` → ``[height, width, C]`` with the named filter.

    Raises:
        KeyError: an interpolation that is not in `INTERPOLATIONS` (specs validate it earlier).
    """
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image  # every filter here is the identity at the same size (PIL copies)
    if interpolation.startswith("pil_"):
        from PIL import Image

        resample = {"pil_bilinear": Image.BILINEAR, "pil_bicubic": Image.BICUBIC}[interpolation]
        return np.asarray(Image.fromarray(image).resize((width, height), resample=resample))
    import cv2

    flag = _cv2_flag(interpolation, shrink=height * width < h * w)
    return cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=flag)


def resize_frames(frames: np.ndarray, height: int, width: int, interpolation: str = "auto"
                  ) -> np.ndarray:
    """uint8 frames ``[F, h, w, 3]`` → ``[F, height, width, 3]`` (see `resize_image`)."""
    if frames.shape[1:3] == (height, width):
        return frames
    out = np.empty((len(frames), height, width, frames.shape[-1]), np.uint8)
    for i, frame in enumerate(frames):
        out[i] = resize_image(frame, height, width, interpolation)
    return out


def short_side_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """(height, width) after scaling the short side to ``size``; the long side is truncated, as
    transformers' ``get_resize_output_image_size(default_to_square=False)`` does."""
    if width <= height:
        return int(size * height / width), size
    return size, int(size * width / height)


def center_crop_pad(frames: np.ndarray, size: int, rng: np.random.Generator | None = None
                    ) -> np.ndarray:
    """Centre ``size`` square without resizing, zero-padding smaller frames (torchvision CenterCrop).

    Args:
        frames: uint8 ``[F, H, W, 3]``.
        rng: in training, a random square instead of the centre one (RandomCrop), the same for
            every frame so the clip stays temporally consistent.
    """
    f, h, w, c = frames.shape
    if h < size or w < size:
        ph, pw = max(size - h, 0), max(size - w, 0)
        padded = np.zeros((f, h + ph, w + pw, c), np.uint8)
        padded[:, ph // 2: ph // 2 + h, pw // 2: pw // 2 + w] = frames
        frames, h, w = padded, h + ph, w + pw
    if rng is None:  # Python's round, as torchvision (half to even)
        top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    else:
        top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return frames[:, top: top + size, left: left + size]


def spatial(frames: np.ndarray, size: int, mode: str, rng: np.random.Generator | None = None,
            interpolation: str = "auto") -> np.ndarray:
    """Brings uint8 frames ``[F, H, W, 3]`` to ``[F, size, size, 3]``.

    Args:
        frames: decoded frames at their own resolution.
        size: output side.
        mode: one of `RESIZE_MODES`.
        rng: training only: ``center_crop`` takes a random square instead of the centre one.
        interpolation: one of `INTERPOLATIONS` (unused by ``center_crop``).
    """
    if mode == "center_crop":
        return center_crop_pad(frames, size, rng)
    if mode == "resize":
        return resize_frames(frames, size, size, interpolation)
    _, h, w, _ = frames.shape
    height, width = short_side_shape(h, w, size)
    resized = resize_frames(frames, height, width, interpolation)  # [F, height, width, 3]
    top, left = (height - size) // 2, (width - size) // 2  # transformers' center_crop: floor
    return resized[:, top: top + size, left: left + size]
