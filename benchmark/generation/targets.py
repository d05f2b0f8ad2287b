"""The image-to-video interface that MMVGM's protection attacks, and its plugins.

A target exposes what the protection's loss needs, all differentiable in the input image:

* ``embed(x)``: the image embedding that conditions generation (SVD: CLIP image embedding);
* ``encode(x)``: the VAE latent of the conditioning image (SVD: ``vae.encode(x).latent_dist.mode()``
  of an image in [-1, 1]);
* ``generate(x, seed)``: a video from the image.

and its conditioning noise augmentation (``noise_aug``, SVD's ``noise_aug_strength``, in [-1, 1]
space). Targets are plugins resolved lazily by name (`TARGETS`, ``"module:factory"``).
"""
from __future__ import annotations

import importlib
from typing import Any

from benchmark.defences.images import SizeRule
from benchmark.errors import UnknownKeyError

TARGETS: dict[str, str] = {
    "embedded": "benchmark.generation.embedded_i2v:load_embedded_target",
    "svd": "benchmark.generation.svd:load_svd_target",
}


class I2VTarget:
    """Base class of image-to-video targets. Images are float ``[N, 3, H, W]`` in [0, 1].

    Attributes:
        name: plugin name (recorded with results).
        size_rule: the image sizes the model takes (`benchmark.defences.images.SizeRule`).
        noise_aug: std of the Gaussian noise added to the conditioning image in [-1, 1] space
            before the VAE encodes it (SVD's default 0.02).
    """

    name = "target"
    size_rule = SizeRule()
    noise_aug = 0.02

    def embed(self, images):
        """Image embedding ``[N, D]`` (differentiable)."""
        raise NotImplementedError

    def encode(self, images_m11):
        """VAE latent of images in [-1, 1], ``[N, C, h, w]`` (differentiable)."""
        raise NotImplementedError

    def generate(self, images, seed: int = 0):
        """A video per image, float ``[N, 3, T, H, W]`` in [0, 1]."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What to record about the target (name, recipe or folder, sizes)."""
        return {"name": self.name, "size_rule": self.size_rule.describe(), "noise_aug": self.noise_aug}

    def conditioning_latent(self, images, generator=None):
        """``encode(2x - 1 + noise_aug * n)`` with ``n ~ N(0, 1)``, SVD's conditioning path."""
        import torch

        noise = torch.randn(images.shape, generator=generator, dtype=images.dtype).to(images.device)
        return self.encode(images * 2 - 1 + self.noise_aug * noise)


def load_target(name: str, **kwargs: Any) -> I2VTarget:
    """Builds the target plugin ``name`` (``embedded`` or ``svd``) with its keyword arguments."""
    if name not in TARGETS:
        raise UnknownKeyError("image-to-video target", name, TARGETS)
    module, _, attr = TARGETS[name].partition(":")
    return getattr(importlib.import_module(module), attr)(**kwargs)
