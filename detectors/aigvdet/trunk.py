"""A torchvision-layout ResNet trunk (stem + four stages, no classifier) of any depth and width.

With ``block="bottleneck"``, ``depths=(3, 4, 6, 3)`` and ``widths=(64, 128, 256, 512)`` it is
exactly torchvision's ResNet-50 without ``fc``, with the same parameter names (``conv1``, ``bn1``,
``layer1.0.conv1``, ``layer1.0.downsample.0`` …), so official ResNet checkpoints load by prefix
alone. Smaller depths and widths give the same design at a fraction of the cost (the mini config).
torchvision's own ``ResNet`` class fixes the stage widths at 64-512, hence this class; the residual
blocks themselves are torchvision's.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNetTrunk(nn.Module):
    """ResNet stem and stages; ``forward`` returns globally pooled features ``[B, out_channels]``.

    Args:
        block: ``basic`` or ``bottleneck`` (torchvision's blocks).
        depths: residual blocks per stage (4 stages).
        widths: base channels per stage (bottleneck outputs are 4x); ``widths[0]`` is also the stem.
    """

    def __init__(self, block: str = "bottleneck", depths: Sequence[int] = (3, 4, 6, 3),
                 widths: Sequence[int] = (64, 128, 256, 512)):
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"ResNetTrunk: block must be one of {sorted(BLOCKS)}, got {block!r}")
        if len(depths) != 4 or len(widths) != 4 or min(*depths, *widths) < 1:
            raise ValueError(f"ResNetTrunk: expected 4 positive depths and widths, got "
                             f"depths={list(depths)}, widths={list(widths)}")
        unit = BLOCKS[block]
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = widths[0]
        for i, (depth, width) in enumerate(zip(depths, widths)):
            stage, channels = _stage(unit, channels, width, depth, stride=1 if i == 0 else 2)
            self.add_module(f"layer{i + 1}", stage)
        self.out_channels = channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's initialisation: He-normal convolutions, unit BatchNorm."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, 3, H, W]`` → pooled features ``[B, out_channels]``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # [B, w0, H/4, W/4]
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return torch.flatten(self.avgpool(x), 1)


def _stage(unit: type, in_channels: int, width: int, depth: int, stride: int
           ) -> tuple[nn.Sequential, int]:
    """One stage of ``depth`` blocks; the first one changes resolution/width through a projection."""
    out_channels = width * unit.expansion
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels))
    blocks = [unit(in_channels, width, stride, downsample)]
    blocks += [unit(out_channels, width) for _ in range(depth - 1)]
    return nn.Sequential(*blocks), out_channels
