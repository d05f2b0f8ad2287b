"""The embedded image-to-video target: small networks vbench trains itself, no download, CPU.

It mirrors SVD's conditioning in miniature, so MMVGM's protection has the same two handles:

* an image encoder (SVD: CLIP image encoder) → embedding ``[N, dim]``; trained to tell which
  photograph a camera view shows (cross-entropy over the 15 photographs), so the embedding carries
  content;
* an autoencoder (SVD: the VAE) → latent ``[N, 4, S/4, S/4]``; trained to reconstruct views from
  latents of noise-augmented images, as SVD's conditioning latent is;
* a motion head on the embedding: each photograph has its own camera motion (pan direction, zoom
  in or out), and the head learns to predict it from the embedding (trained with the encoder).

``generate`` decodes the conditioning latent and moves it along the predicted motion for ``frames``
frames: the video's look comes from the latent, its motion from the embedding, so both depend on
the conditioning image. Training uses views of the vbench-mini photographs
(`benchmark.generation.stills`); it is seeded, takes seconds on two cores, and the weights are
cached under ``$VBENCH_CACHE/defences`` keyed by the recipe and this file's code.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from benchmark.defences.images import SizeRule
from benchmark.generation.targets import I2VTarget

PAN_PX, ZOOM = 1.5, 0.015  # per frame: pan speed in pixels, log-zoom


@dataclass(frozen=True)
class EmbeddedRecipe:
    """Everything the embedded target's weights depend on (with this file's code)."""

    seed: int = 0
    size: int = 32
    frames: int = 8
    width: int = 16
    dim: int = 32
    latent_channels: int = 4
    stills: int = 512
    encoder_steps: int = 800
    autoencoder_steps: int = 250
    batch: int = 32
    lr: float = 2e-3

    def digest(self) -> str:
        code = Path(__file__).read_bytes()
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True).encode() + code
        return hashlib.sha256(blob).hexdigest()[:16]


def photo_motion(num_photos: int) -> torch.Tensor:
    """Each photograph's motion in head units ``[P, 3]``: (pan x, pan y, zoom) in [-1, 1]."""
    angle = torch.arange(num_photos, dtype=torch.float32) * (2 * math.pi / num_photos)
    zoom = torch.tensor([1.0 if p % 2 else -1.0 for p in range(num_photos)])
    return torch.stack([angle.cos(), angle.sin(), zoom], dim=1)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Module:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.GELU())


class StillEncoder(nn.Module):
    """Image ``[N, 3, S, S]`` in [0, 1] → embedding ``[N, dim]`` (+ photograph logits)."""

    def __init__(self, width: int, dim: int, classes: int):
        super().__init__()
        w = width
        self.features = nn.Sequential(_conv(3, w, 2), _conv(w, 2 * w, 2), _conv(2 * w, 4 * w, 2),
                                      _conv(4 * w, 4 * w))  # [N, 4w, S/8, S/8]
        self.proj = nn.Linear(4 * w, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.features(x * 2 - 1).mean(dim=(2, 3)))


class StillAutoencoder(nn.Module):
    """Image in [-1, 1] ``[N, 3, S, S]`` ↔ latent ``[N, C, S/4, S/4]``."""

    def __init__(self, width: int, channels: int):
        super().__init__()
        w = width
        self.encoder = nn.Sequential(_conv(3, w, 2), _conv(w, 2 * w, 2), nn.Conv2d(2 * w, channels, 1))
        self.decoder = nn.Sequential(
            _conv(channels, 2 * w), nn.Upsample(scale_factor=2, mode="nearest"), _conv(2 * w, w),
            nn.Upsample(scale_factor=2, mode="nearest"), _conv(w, w), nn.Conv2d(w, 3, 3, 1, 1), nn.Tanh())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


class EmbeddedI2V(nn.Module):
    """The three trained parts of the embedded target."""

    def __init__(self, recipe: EmbeddedRecipe, classes: int):
        super().__init__()
        self.recipe = recipe
        self.encoder = StillEncoder(recipe.width, recipe.dim, classes)
        self.autoencoder = StillAutoencoder(recipe.width, recipe.latent_channels)
        self.motion = nn.Sequential(nn.Linear(recipe.dim, 64), nn.GELU(), nn.Linear(64, 3))

    def animate(self, image_m11: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        """Moves images ``[N, 3, S, S]`` along ``motion [N, 3]`` → ``[N, 3, T, S, S]``."""
        n, _, h, w = image_m11.shape
        frames = []
        for t in range(self.recipe.frames):
            scale = torch.exp(-ZOOM * t * motion[:, 2])  # zoom in: sample a smaller window
            theta = torch.zeros(n, 2, 3, dtype=image_m11.dtype, device=image_m11.device)
            theta[:, 0, 0], theta[:, 1, 1] = scale, scale
            theta[:, 0, 2] = -PAN_PX * t * motion[:, 0] * 2 / w  # content moves by +pan
            theta[:, 1, 2] = -PAN_PX * t * motion[:, 1] * 2 / h
            grid = F.affine_grid(theta, [n, 3, h, w], align_corners=False)
            frames.append(F.grid_sample(image_m11, grid, padding_mode="reflection", align_corners=False))
        return torch.stack(frames, dim=2)


def _batches(generator: torch.Generator, total: int, batch: int, steps: int):
    for _ in range(steps):
        yield torch.randint(0, total, (batch,), generator=generator)


def _fit(params, loss_fn, recipe: EmbeddedRecipe, total: int, steps: int, salt: int) -> None:
    generator = torch.Generator().manual_seed(recipe.seed * 1000 + salt)
    optim = torch.optim.Adam(params, lr=recipe.lr)
    for index in _batches(generator, total, recipe.batch, steps):
        optim.zero_grad()
        loss_fn(index, generator).backward()
        optim.step()


def train_embedded(recipe: EmbeddedRecipe) -> EmbeddedI2V:
    """Trains the three parts on views of the photographs (seeded; seconds on two cores)."""
    from benchmark.data.corpus_render import PHOTOS
    from benchmark.defences.runtime import single_thread
    from benchmark.generation.stills import sample_stills

    torch.manual_seed(recipe.seed)
    images, labels = sample_stills(recipe.seed, recipe.stills, recipe.size)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()  # [M, 3, S, S] in [0, 1]
    y = torch.from_numpy(labels)
    model = EmbeddedI2V(recipe, len(PHOTOS))
    enc, ae = model.encoder, model.autoencoder
    targets = photo_motion(len(PHOTOS))

    def classify_and_move(i, _g):
        emb = enc(x[i])
        return F.cross_entropy(enc.head(emb), y[i]) + F.mse_loss(model.motion(emb), targets[y[i]])

    def reconstruct(i, g):
        noisy = x[i] * 2 - 1 + 0.02 * torch.randn(x[i].shape, generator=g)  # SVD-like noise aug
        return F.mse_loss(ae.decode(ae.encode(noisy)), x[i] * 2 - 1)

    with single_thread():
        _fit([*enc.parameters(), *model.motion.parameters()], classify_and_move, recipe, len(x),
             recipe.encoder_steps, 1)
        _fit(ae.parameters(), reconstruct, recipe, len(x), recipe.autoencoder_steps, 2)
    return model.eval().requires_grad_(False)


def _cache_folder(recipe: EmbeddedRecipe, cache_dir: str | Path | None) -> Path:
    from benchmark.data.corpus import default_cache_dir

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "defences"
    return root / f"embedded_i2v-{recipe.digest()}"


def load_embedded_model(recipe: EmbeddedRecipe = EmbeddedRecipe(),
                        cache_dir: str | Path | None = None) -> EmbeddedI2V:
    """The trained embedded model, from the cache or trained now and cached (atomic write)."""
    from safetensors.torch import load_file, save_file

    from benchmark.data.corpus_render import PHOTOS

    folder = _cache_folder(recipe, cache_dir)
    weights = folder / "weights.safetensors"
    if weights.is_file():
        model = EmbeddedI2V(recipe, len(PHOTOS))
        model.load_state_dict(load_file(str(weights)), strict=True)
        return model.eval().requires_grad_(False)
    model = train_embedded(recipe)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.json").write_text(json.dumps(dataclasses.asdict(recipe), indent=1) + "\n")
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".partial")
    os.close(fd)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, weights)
    return model


class EmbeddedTarget(I2VTarget):
    """The embedded model behind the image-to-video interface (see the module docstring)."""

    name = "embedded"

    def __init__(self, model: EmbeddedI2V, noise_aug: float = 0.02):
        self.model, self.noise_aug = model, noise_aug
        size = model.recipe.size
        self.size_rule = SizeRule((size, size))

    def embed(self, images):
        return self.model.encoder(images)

    def encode(self, images_m11):
        return self.model.autoencoder.encode(images_m11)

    def generate(self, images, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            base = self.model.autoencoder.decode(self.conditioning_latent(images, generator))
            video = self.model.animate(base, self.model.motion(self.embed(images)))
        return ((video + 1) / 2).clamp(0, 1)  # [N, 3, T, S, S]

    def describe(self) -> dict[str, Any]:
        recipe = self.model.recipe
        return {**super().describe(), "recipe": dataclasses.asdict(recipe),
                "recipe_digest": recipe.digest()}


def load_embedded_target(cache_dir: str | Path | None = None, noise_aug: float = 0.02,
                         **recipe: Any) -> EmbeddedTarget:
    """The ``embedded`` target plugin; keyword arguments override `EmbeddedRecipe` fields."""
    return EmbeddedTarget(load_embedded_model(EmbeddedRecipe(**recipe), cache_dir), noise_aug)
