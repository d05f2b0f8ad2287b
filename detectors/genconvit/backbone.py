"""The two GenConViT networks as one mmaction2 backbone: clips in, per-frame features out."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from benchmark.errors import RegistryError
from detectors.genconvit.autoencoder import GenConViTED
from detectors.genconvit.vae import GenConViTVAE

NETS = {"ed": GenConViTED, "vae": GenConViTVAE}


@dataclass
class GenConViTFeatures:
    """What the backbone hands the head.

    Attributes:
        feats: per network, ``[N * T, 2F]`` (cat of the two ConvNeXt outputs).
        num_frames: T, the frames per clip folded into the batch.
        frames: the normalised frames ``[N * T, 3, S, S]`` (training only, for the VAE's
            reconstruction loss).
        recons: per network, its reconstruction (training only).
    """

    feats: dict[str, torch.Tensor]
    num_frames: int
    frames: torch.Tensor | None = None
    recons: dict[str, torch.Tensor] = field(default_factory=dict)


@MODELS.register_module()
class GenConViTBackbone(BaseModule):
    """Network A (``ed``, autoencoder) and/or network B (``vae``), each on every frame.

    Args:
        nets: ``{"ed": GenConViTED kwargs, "vae": GenConViTVAE kwargs}``; either may be left out to
            build one network alone (upstream's ``GenConViT(net='ed')`` / ``net='vae'``).
        init_cfg: mmengine init config (unused; the networks initialise themselves).
    """

    def __init__(self, nets: Mapping[str, Mapping[str, Any]], init_cfg: dict | None = None):
        super().__init__(init_cfg)
        unknown = sorted(set(nets) - set(NETS))
        if unknown or not nets:
            raise RegistryError(f"GenConViTBackbone.nets: expected a non-empty subset of "
                                f"{sorted(NETS)}, got {sorted(nets)}")
        for name in NETS:  # fixed order: ed before vae, whatever the config's order
            if name in nets:
                self.add_module(name, NETS[name](**dict(nets[name])))
        widths = {name: getattr(self, name).out_features for name in self.net_names}
        if len(set(widths.values())) != 1:
            raise RegistryError(f"GenConViTBackbone: both networks must give features of one width "
                                f"for the shared head config, got {widths}")
        self.out_features = next(iter(widths.values()))

    @property
    def net_names(self) -> list[str]:
        """The networks built, in checkpoint order (``ed``, ``vae``)."""
        return [name for name in NETS if hasattr(self, name)]

    def init_weights(self) -> None:
        """Keeps the PyTorch/timm initialisation (mmengine's default would re-initialise)."""

    def forward(self, x: torch.Tensor) -> GenConViTFeatures:
        """Normalised clips ``[N, 3, T, H, W]`` → per-frame features of every network."""
        n, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)  # [N * T, 3, H, W]; frames independent
        feats, recons = {}, {}
        for name in self.net_names:
            net: nn.Module = getattr(self, name)
            feats[name], recons[name] = net(frames)  # [N * T, 2F], [N * T, 3, S', S']
        if not self.training:
            return GenConViTFeatures(feats, t)
        return GenConViTFeatures(feats, t, frames, recons)
