"""The Inception module of I3D: four parallel branches concatenated along channels."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from detectors.mmvgm_i3d.units import MaxPool3dSame, Unit3D


class BranchWidths(NamedTuple):
    """Output channels of one Inception module's convolutions, in upstream's order.

    Attributes:
        b0: branch 0, the 1x1x1 conv.
        b1a: branch 1's 1x1x1 reduction.
        b1b: branch 1's 3x3x3 conv (an output branch).
        b2a: branch 2's 1x1x1 reduction.
        b2b: branch 2's 3x3x3 conv (an output branch).
        b3b: branch 3's 1x1x1 conv after the 3x3x3 max pool (an output branch).
    """

    b0: int
    b1a: int
    b1b: int
    b2a: int
    b2b: int
    b3b: int

    @property
    def out_channels(self) -> int:
        """Channels of the concatenated output."""
        return self.b0 + self.b1b + self.b2b + self.b3b

    def scaled(self, multiplier: float) -> "BranchWidths":
        """Every width times ``multiplier``, rounded, at least 1 (the mini configs' thinning)."""
        return BranchWidths(*(max(1, int(round(w * multiplier))) for w in self))


class InceptionModule(nn.Module):
    """Branches ``b0``, ``b1a→b1b``, ``b2a→b2b``, ``b3a`` (pool) ``→b3b``; official names.

    Args:
        in_channels: input channels.
        widths: the six convolution widths.
    """

    def __init__(self, in_channels: int, widths: BranchWidths):
        super().__init__()
        # Registration order fixes the state_dict order: the official one is b0, b1a, b1b, b2a, b2b,
        # b3b (b3a is a parameter-free pool).
        self.b0 = Unit3D(in_channels, widths.b0, kernel=1)
        self.b1a = Unit3D(in_channels, widths.b1a, kernel=1)
        self.b1b = Unit3D(widths.b1a, widths.b1b, kernel=3)
        self.b2a = Unit3D(in_channels, widths.b2a, kernel=1)
        self.b2b = Unit3D(widths.b2a, widths.b2b, kernel=3)
        self.b3a = MaxPool3dSame(kernel=3, stride=1)
        self.b3b = Unit3D(in_channels, widths.b3b, kernel=1)
        self.out_channels = widths.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, T, H, W]`` → ``[N, out_channels, T, H, W]``."""
        branches = (self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)),
                    self.b3b(self.b3a(x)))
        return torch.cat(branches, dim=1)
