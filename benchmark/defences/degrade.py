"""Degradations applied to a protected image before generation (robustness of the protection).

A minimal stand-in, kept behind the one function `degrade`: the project's perturbation engine
(being built on another branch) can replace it by providing the same call,
``degrade(images [N, 3, H, W] float in [0, 1], kind, level) -> same shape``.

Kinds and their level:

* ``jpeg``: JPEG quality (1–100), OpenCV's encoder with 4:2:0 chroma subsampling, decoded back;
* ``resize``: scale factor in (0, 1): downscale (area), then back up (bilinear) to the input size;
* ``blur``: Gaussian sigma in pixels (kernel ``2 * ceil(3 sigma) + 1``, reflected borders).
"""
from __future__ import annotations

import math

import numpy as np

from benchmark.errors import DefenceConfigError

KINDS = ("jpeg", "resize", "blur")
DEFAULT_LEVELS = {"jpeg": (90, 75, 50), "resize": (0.75, 0.5), "blur": (0.5, 1.0)}


def _check(kind: str, level: float) -> None:
    if kind not in KINDS:
        raise DefenceConfigError(f"degradation '{kind}' is not one of {KINDS}")
    ok = {"jpeg": 1 <= level <= 100, "resize": 0 < level < 1, "blur": level > 0}[kind]
    if not ok:
        allowed = {"jpeg": "a quality in [1, 100]", "resize": "a scale in (0, 1)",
                   "blur": "a sigma > 0"}[kind]
        raise DefenceConfigError(f"degradation {kind}: level {level} is not {allowed}")


def _one(image: np.ndarray, kind: str, level: float) -> np.ndarray:
    """uint8 ``[H, W, 3]`` RGB → degraded uint8 ``[H, W, 3]``."""
    import cv2

    h, w = image.shape[:2]
    if kind == "jpeg":
        ok, buffer = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(level)])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        return cv2.imdecode(buffer, cv2.IMREAD_COLOR)[..., ::-1]
    if kind == "resize":
        small = cv2.resize(image, (max(1, round(w * level)), max(1, round(h * level))),
                           interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    k = 2 * math.ceil(3 * level) + 1
    return cv2.GaussianBlur(image, (k, k), sigmaX=level, sigmaY=level,
                            borderType=cv2.BORDER_REFLECT_101)


def degrade(images, kind: str, level: float):
    """Applies one degradation to every image (through uint8, as a saved image would be).

    Args:
        images: float tensor ``[N, 3, H, W]`` in [0, 1].
        kind: one of `KINDS`.
        level: the kind's level (see the module docstring).

    Returns:
        float tensor ``[N, 3, H, W]`` in [0, 1] on the uint8 grid.
    """
    import torch

    _check(kind, level)
    arrays = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    out = np.stack([np.ascontiguousarray(_one(np.ascontiguousarray(a), kind, level)) for a in arrays])
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div(255).to(images.device)
