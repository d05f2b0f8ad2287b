"""GenConViT network A ("ed"): a convolutional autoencoder whose reconstruction and input both go
through one ConvNeXt.

Parameter names follow ``genconvit_ed_inference.pth`` (``encoder.features.{0,3,6,9,12}``,
``decoder.features.{0,2,4,6,8}``); the ConvNeXt is ``backbone.*`` there and ``convnext`` here.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import nn

from detectors.genconvit.convnext import build_convnext, convnext_out_features


class ConvEncoder(nn.Module):
    """``len(channels)`` × (conv 3×3, ReLU, max-pool 2): 224 → 7 with the paper's five stages.

    Args:
        channels: output channels of each stage (paper: 16, 32, 64, 128, 256).
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 64, 128, 256)):
        super().__init__()
        layers, c_in = [], 3
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 3, stride=1, padding=1), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2, 2)]
            c_in = c_out
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # [N, 3, S, S] -> [N, C, S / 2^k, S / 2^k]


class ConvDecoder(nn.Module):
    """The encoder mirrored: ConvTranspose 2×2 stride 2 + ReLU per stage, ending at 3 channels (the
    final ReLU is upstream's: reconstructions are non-negative although the input is normalised).

    Args:
        channels: the encoder's channels; the decoder runs them backwards, then to 3.
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 64, 128, 256)):
        super().__init__()
        widths = list(reversed(channels)) + [3]
        layers = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 2, stride=2), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # [N, C, s, s] -> [N, 3, s * 2^k, s * 2^k]


class GenConViTED(nn.Module):
    """Autoencoder + ConvNeXt; the classifier MLP lives in `GenConViTHead`.

    Args:
        convnext: ConvNeXt config (`build_convnext`).
        channels: encoder stage widths.
    """

    def __init__(self, convnext: Mapping[str, Any], channels: Sequence[int] = (16, 32, 64, 128, 256)):
        super().__init__()
        self.encoder = ConvEncoder(channels)
        self.decoder = ConvDecoder(channels)
        self.convnext = build_convnext(convnext)
        self.out_features = 2 * convnext_out_features(self.convnext)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised frames ``[N, 3, S, S]`` → features ``[N, 2F]`` and reconstruction."""
        recon = self.decoder(self.encoder(x))  # [N, 3, S, S]
        # order as upstream: cat(convnext(reconstruction), convnext(input))
        feats = torch.cat([self.convnext(recon), self.convnext(x)], dim=1)  # [N, 2F]
        return feats, recon
