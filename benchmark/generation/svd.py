"""Stable Video Diffusion through ``diffusers`` as an image-to-video target, from a local folder.

The folder is a ``StableVideoDiffusionPipeline.save_pretrained`` layout: ``model_index.json`` and
one subfolder per component. Each is checked before loading, so a missing component is named
instead of ending in a diffusers traceback. Nothing is downloaded (``local_files_only``).

The differentiable paths follow the pipeline's own ``_encode_image`` and ``_encode_vae_image``:

* embedding: the image in [-1, 1] is resized with diffusers' antialiased resize to the CLIP
  encoder's input size (224 for SVD), back to [0, 1], normalised with the feature extractor's
  mean/std, then ``image_encoder(...).image_embeds``. (The pipeline normalises with the
  ``CLIPImageProcessor`` in numpy, which has no gradient, so we apply the same mean/std in torch.)
* latent: ``vae.encode(x).latent_dist.mode()`` of the image in [-1, 1] with the noise augmentation.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.defences.images import SizeRule
from benchmark.errors import ModelFolderError
from benchmark.generation.targets import I2VTarget

# component -> the file its subfolder must hold
SVD_COMPONENTS = {"image_encoder": "config.json", "vae": "config.json", "unet": "config.json",
                  "scheduler": "scheduler_config.json",
                  "feature_extractor": "preprocessor_config.json"}


def check_pipeline_folder(folder: str | Path, components: dict[str, str] = SVD_COMPONENTS) -> Path:
    """Checks a diffusers pipeline folder before loading.

    Raises:
        ModelFolderError: no folder, no ``model_index.json``, or components missing (all named).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFolderError(f"diffusers folder {folder}: not a directory")
    index = folder / "model_index.json"
    if not index.is_file():
        raise ModelFolderError(f"diffusers folder {folder}: model_index.json is missing (is this a "
                               f"pipeline saved with save_pretrained?)")
    listed = json.loads(index.read_text())
    missing = [f"{name} ({folder / name / fname})" for name, fname in components.items()
               if name not in listed or not (folder / name / fname).is_file()]
    if missing:
        raise ModelFolderError(f"diffusers folder {folder}: missing component(s) "
                               f"{', '.join(missing)}; a StableVideoDiffusionPipeline needs "
                               f"{', '.join(components)}")
    return folder


def load_svd_pipeline(folder: str | Path, device: str = "cpu"):
    """``StableVideoDiffusionPipeline`` from a checked local folder (no download)."""
    from diffusers import StableVideoDiffusionPipeline

    folder = check_pipeline_folder(folder)
    try:
        pipe = StableVideoDiffusionPipeline.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise ModelFolderError(f"diffusers folder {folder}: cannot be loaded ({exc})") from exc
    pipe.set_progress_bar_config(disable=True)
    for module in (pipe.image_encoder, pipe.vae, pipe.unet):
        module.requires_grad_(False)
    return pipe.to(device)


class SVDTarget(I2VTarget):
    """SVD as a protection target.

    Args:
        pipe: a ``StableVideoDiffusionPipeline``.
        num_frames: frames to generate (None: the UNet's ``num_frames``).
        num_inference_steps: denoising steps of `generate`.
        noise_aug: ``noise_aug_strength`` (SVD's default 0.02), used by protection and generation.
        multiple: sides are resized down to a multiple of this (upstream: 64).
        extra: more keyword arguments of the pipeline call (``fps``, ``motion_bucket_id`` …).
    """

    name = "svd"

    def __init__(self, pipe, num_frames: int | None = None, num_inference_steps: int = 25,
                 noise_aug: float = 0.02, multiple: int = 64, folder: str = "", **extra: Any):
        self.pipe, self.folder = pipe, folder
        self.num_frames = num_frames or pipe.unet.config.num_frames
        self.num_inference_steps, self.noise_aug, self.extra = num_inference_steps, noise_aug, extra
        self.size_rule = SizeRule(None, multiple)
        processor = pipe.feature_extractor
        self._mean, self._std = list(processor.image_mean), list(processor.image_std)
        self._clip_size = int(pipe.image_encoder.config.image_size)

    def embed(self, images):
        import torch
        from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import \
            _resize_with_antialiasing

        x = _resize_with_antialiasing(images * 2 - 1, (self._clip_size, self._clip_size))
        x = (x + 1) / 2
        mean = torch.tensor(self._mean, dtype=x.dtype, device=x.device)[:, None, None]
        std = torch.tensor(self._std, dtype=x.dtype, device=x.device)[:, None, None]
        return self.pipe.image_encoder((x - mean) / std).image_embeds  # [N, D]

    def encode(self, images_m11):
        return self.pipe.vae.encode(images_m11).latent_dist.mode()  # [N, 4, H/8, W/8]

    def generate(self, images, seed: int = 0):
        import torch
        from PIL import Image

        from benchmark.defences.images import to_uint8

        pil = [Image.fromarray(a.permute(1, 2, 0).cpu().numpy()) for a in to_uint8(images)]
        generator = torch.Generator().manual_seed(seed)
        h, w = images.shape[2:]
        with torch.no_grad():
            frames = self.pipe(pil, height=h, width=w, num_frames=self.num_frames,
                               num_inference_steps=self.num_inference_steps,
                               noise_aug_strength=self.noise_aug, generator=generator,
                               output_type="pt", decode_chunk_size=self.num_frames,
                               **self.extra).frames  # [N, T, 3, H, W] in [0, 1]
        return frames.float().permute(0, 2, 1, 3, 4).clamp(0, 1).contiguous()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "folder": str(self.folder), "num_frames": self.num_frames,
                "num_inference_steps": self.num_inference_steps}


def load_svd_target(folder: str, device: str = "cpu", **kwargs: Any) -> SVDTarget:
    """The ``svd`` target plugin: `SVDTarget` over the pipeline in a local folder."""
    return SVDTarget(load_svd_pipeline(folder, device), folder=str(folder), **kwargs)
