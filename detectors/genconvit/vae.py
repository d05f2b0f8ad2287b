"""GenConViT network B ("vae"): a variational autoencoder whose input and reconstruction both go
through one ConvNeXt.

Parameter names follow ``genconvit_vae_inference.pth`` (``encoder.features.{0,1,3,4,…}``,
``encoder.{fc1,fc2,mu,var}``, ``decoder.features.{0,2,4,6}``); the ConvNeXt is
``convnext_backbone.*`` there and ``convnext`` here.

Latent: upstream computes ``std = exp(0.5 * mu(x))`` — the ``mu`` layer where ``var`` was meant —
and samples ``z = mu + eps * std`` in training *and* evaluation, so its scores vary from run to run.
The released ``var`` layer never received a gradient (the KL term is commented out of upstream's
loss), so mu-as-log-variance is what the weights were trained with. Training here samples exactly
like that. Evaluation uses ``z = mu`` (``latent="mean"``, deterministic) unless
``latent="sample"``, which reproduces upstream's sampling from a generator seeded with ``seed``.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from benchmark.errors import RegistryError
from detectors.genconvit.convnext import build_convnext, convnext_out_features

LATENT_MODES = ("mean", "sample")


class VAEEncoder(nn.Module):
    """``len(channels)`` × (conv 3×3 stride 2, BatchNorm, LeakyReLU) → flatten → ``mu``, ``var``.

    Args:
        input_size: side of the input frames (paper 224 → 14 × 14 × 128 = 25088 features).
        channels: stage widths (paper 16, 32, 64, 128).
        latent_dim: size of ``mu`` / ``var`` (paper 12544).
        aux_dims: widths of upstream's ``fc1``/``fc2``, which exist in the checkpoint but are never
            used (kept so the official file loads strictly).
    """

    def __init__(self, input_size: int = 224, channels: Sequence[int] = (16, 32, 64, 128),
                 latent_dim: int = 12544, aux_dims: Sequence[int] = (256, 128)):
        super().__init__()
        layers, c_in = [], 3
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out),
                       nn.LeakyReLU()]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        grid = input_size
        for _ in channels:
            grid = (grid + 1) // 2  # conv 3x3, stride 2, padding 1
        flat = c_in * grid * grid
        self.fc1 = nn.Linear(flat, aux_dims[0])  # unused upstream
        self.fc2 = nn.Linear(aux_dims[0], aux_dims[1])  # unused upstream
        self.mu = nn.Linear(flat, latent_dim)
        self.var = nn.Linear(flat, latent_dim)  # only upstream's (unused) KL term reads it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Frames ``[N, 3, S, S]`` → latent mean ``[N, latent_dim]``."""
        return self.mu(torch.flatten(self.features(x), start_dim=1))


class VAEDecoder(nn.Module):
    """Unflatten to ``latent_shape`` → ConvTranspose 2×2 stride 2 + LeakyReLU per stage.

    Args:
        latent_shape: ``(C, g, g)`` the latent is unflattened to (paper 256 × 7 × 7).
        channels: output widths of the stages (paper 64, 32, 16, 3 → 112 × 112).
    """

    def __init__(self, latent_shape: Sequence[int] = (256, 7, 7),
                 channels: Sequence[int] = (64, 32, 16, 3)):
        super().__init__()
        self.unflatten = nn.Unflatten(1, tuple(latent_shape))
        layers, c_in = [], latent_shape[0]
        for c_out in channels:
            layers += [nn.ConvTranspose2d(c_in, c_out, 2, stride=2), nn.LeakyReLU()]
            c_in = c_out
        self.features = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.features(self.unflatten(z))  # [N, L] -> [N, 3, g * 2^k, g * 2^k]


class GenConViTVAE(nn.Module):
    """VAE + ConvNeXt; the classifier MLP lives in `GenConViTHead`.

    Args:
        convnext: ConvNeXt config (`build_convnext`).
        encoder: `VAEEncoder` arguments.
        decoder: `VAEDecoder` arguments; ``prod(latent_shape)`` must equal the encoder's latent_dim.
        latent: evaluation latent, ``mean`` (deterministic) or ``sample`` (upstream).
        seed: seed of the evaluation noise when ``latent="sample"``.
    """

    def __init__(self, convnext: Mapping[str, Any], encoder: Mapping[str, Any] | None = None,
                 decoder: Mapping[str, Any] | None = None, latent: str = "mean", seed: int = 0):
        super().__init__()
        if latent not in LATENT_MODES:
            raise RegistryError(f"GenConViT vae.latent: expected one of {LATENT_MODES}, got {latent!r}")
        self.encoder = VAEEncoder(**dict(encoder or {}))
        self.decoder = VAEDecoder(**dict(decoder or {}))
        latent_dim = self.encoder.mu.out_features
        shape = tuple(self.decoder.unflatten.unflattened_size)
        if latent_dim != math.prod(shape):
            raise RegistryError(f"GenConViT vae: decoder.latent_shape {list(shape)} does not hold "
                                f"encoder.latent_dim={latent_dim} numbers")
        self.convnext = build_convnext(convnext)
        self.out_features = 2 * convnext_out_features(self.convnext)
        self.latent, self.seed = latent, int(seed)
        self._generator: torch.Generator | None = None

    def reset_noise(self) -> None:
        """Restarts the seeded evaluation noise (``latent="sample"``) from ``seed``."""
        self._generator = None

    def _noise(self, like: torch.Tensor) -> torch.Tensor:
        if self.training:  # training draws from torch's global RNG, seeded by the trainer
            return torch.randn_like(like)
        if self._generator is None or self._generator.device != like.device:
            self._generator = torch.Generator(device=like.device).manual_seed(self.seed)
        return torch.randn(like.shape, generator=self._generator, device=like.device,
                           dtype=like.dtype)

    def sample_latent(self, mu: torch.Tensor) -> torch.Tensor:
        """``mu`` in deterministic evaluation; otherwise upstream's ``mu + eps * exp(0.5 * mu)``."""
        if not self.training and self.latent == "mean":
            return mu
        return mu + self._noise(mu) * torch.exp(0.5 * mu)  # mu for var: as upstream

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised frames ``[N, 3, S, S]`` → features ``[N, 2F]`` and reconstruction."""
        z = self.sample_latent(self.encoder(x))  # [N, L]
        recon = self.decoder(z)  # [N, 3, S', S'] (paper S' = 112)
        # order as upstream: cat(convnext(input), convnext(reconstruction)) — the reverse of "ed"
        feats = torch.cat([self.convnext(x), self.convnext(recon)], dim=1)  # [N, 2F]
        return feats, recon
