"""Input images of the defences: checked to be RGB, brought to the size a target model takes.

Images travel as float tensors ``[N, 3, H, W]`` in [0, 1] (RGB). What arrives from users (numpy
arrays ``[H, W, 3]``, uint8 or float in [0, 1], or PIL images) is checked here once, with errors that
name the image, what was expected and what came.

Size policy (documented in the README cards):

* a target with a fixed input size (the embedded one) takes the centre square of the image and
  resizes it to that size; an image whose short side is below it is refused;
* a target that takes any size that is a multiple of ``m`` (SVD: 64, as upstream) is resized down
  to the nearest multiple, as upstream's ``misuse_prevention.py`` does; below ``m`` is refused;
* a directed protection's target image of another size is resized to the protected image's size
  (bilinear, antialiased): the VAE-latent cosine compares latents of one shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from benchmark.errors import ImageInputError


@dataclass(frozen=True)
class SizeRule:
    """What image size a target model takes.

    Attributes:
        size: a fixed ``(H, W)``, or None for any size that is a multiple of `multiple`.
        multiple: side lengths are resized down to a multiple of this (used when `size` is None).
    """

    size: tuple[int, int] | None = None
    multiple: int = 1

    def describe(self) -> str:
        if self.size is not None:
            return f"{self.size[0]}x{self.size[1]} (centre square, resized)"
        return f"any size, resized down to a multiple of {self.multiple}"


def _pil_to_array(image: Any, name: str) -> np.ndarray:
    if image.mode != "RGB":
        raise ImageInputError(f"image '{name}': expected an RGB image, got PIL mode '{image.mode}'; "
                              f"convert it first, e.g. image.convert('RGB')")
    return np.asarray(image)


def rgb_array(image: Any, name: str) -> np.ndarray:
    """One user image as float32 ``[H, W, 3]`` in [0, 1].

    Args:
        image: numpy ``[H, W, 3]`` (uint8, or float in [0, 1]) or a PIL image in mode ``RGB``.
        name: the image's id, named in errors.

    Raises:
        ImageInputError: not RGB (grayscale, RGBA, channels first), a float outside [0, 1], NaN.
    """
    if hasattr(image, "mode") and hasattr(image, "convert"):
        image = _pil_to_array(image, name)
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        hint = {2: " (grayscale)", 3: " (channels last must be 3: RGBA or channels-first?)"}
        raise ImageInputError(f"image '{name}': expected an RGB image [H, W, 3], got shape "
                              f"{tuple(array.shape)}{hint.get(array.ndim, '')}")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise ImageInputError(f"image '{name}': expected uint8 or float pixels, got {array.dtype}")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise ImageInputError(f"image '{name}': float pixels must be finite and in [0, 1], got "
                              f"[{np.nanmin(array):.3g}, {np.nanmax(array):.3g}]")
    return array.astype(np.float32)


def to_tensor(image: np.ndarray):
    """float ``[H, W, 3]`` → tensor ``[3, H, W]``."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)


def resize_array(image: np.ndarray, height: int, width: int):
    """float ``[H, W, 3]`` → tensor ``[3, height, width]`` (bilinear, antialiased when shrinking)."""
    import torch.nn.functional as F

    x = to_tensor(image)[None]  # [1, 3, H, W]
    if tuple(x.shape[2:]) != (height, width):
        x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False,
                          antialias=True).clamp(0, 1)
    return x[0]


def fit_image(image: np.ndarray, rule: SizeRule, name: str):
    """Brings one RGB image ``[H, W, 3]`` to a target's size (see the module docstring).

    Returns:
        float tensor ``[3, H', W']`` in [0, 1].

    Raises:
        ImageInputError: the image is smaller than the model's input.
    """
    h, w = image.shape[:2]
    if rule.size is not None:
        side_needed = max(rule.size)
        if min(h, w) < side_needed:
            raise ImageInputError(f"image '{name}': {h}x{w} is smaller than the model's input "
                                  f"{rule.size[0]}x{rule.size[1]}")
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        return resize_array(image[top: top + side, left: left + side], *rule.size)
    m = rule.multiple
    if h < m or w < m:
        raise ImageInputError(f"image '{name}': {h}x{w} is smaller than the model's input "
                              f"(sides must be at least {m})")
    return resize_array(image, h - h % m, w - w % m)


def prepare_images(images: Sequence[Any], rule: SizeRule, names: Sequence[str] | None = None):
    """Checks and fits user images into one batch.

    Args:
        images: numpy arrays or PIL images (see `rgb_array`).
        rule: the target's `SizeRule`.
        names: one id per image (default ``image0``, ``image1`` …).

    Returns:
        float tensor ``[N, 3, H, W]`` in [0, 1].

    Raises:
        ImageInputError: a bad image, or images that come out at different sizes.
    """
    import torch

    names = list(names) if names is not None else [f"image{i}" for i in range(len(images))]
    if len(names) != len(images):
        raise ImageInputError(f"{len(images)} images but {len(names)} names")
    if not images:
        raise ImageInputError("no images given")
    fitted = [fit_image(rgb_array(img, n), rule, n) for img, n in zip(images, names)]
    shapes = {tuple(x.shape) for x in fitted}
    if len(shapes) > 1:
        raise ImageInputError(f"images come out at different sizes {sorted(shapes)} under the rule "
                              f"'{rule.describe()}'; give images of one size")
    return torch.stack(fitted)


def match_size(targets, like, names: Sequence[str] | None = None):
    """Directed-protection target images resized to the protected images' size (documented).

    Args:
        targets: float ``[N or 1, 3, h, w]`` in [0, 1].
        like: the protected images ``[N, 3, H, W]``.
        names: target ids (for the record).

    Returns:
        ``(targets [N, 3, H, W], resized)``; ``resized`` says whether a resize happened.
    """
    import torch.nn.functional as F

    if targets.shape[0] not in (1, like.shape[0]):
        raise ImageInputError(f"{targets.shape[0]} target images for {like.shape[0]} images; give one "
                              f"target or one per image")
    resized = tuple(targets.shape[2:]) != tuple(like.shape[2:])
    if resized:
        targets = F.interpolate(targets, size=tuple(like.shape[2:]), mode="bilinear",
                                align_corners=False, antialias=True).clamp(0, 1)
    return targets.expand(like.shape[0], -1, -1, -1).contiguous(), resized


def to_uint8(images):
    """float ``[..., 3, H, W]`` in [0, 1] → uint8 (rounded), e.g. clips for the detectors."""
    import torch

    return (images.detach().clamp(0, 1) * 255).round().to(torch.uint8)
