"""`FrameDiff3D`: a small 3D-convolution backbone over a clip's frames and their differences.

A generated video often gives itself away in how frames change (flicker, wobble, ghosting), which
the difference of neighbouring frames shows directly; static artefacts (a decoder's grid) stay in
the frames themselves, so both go in. Registered in mmaction2's ``MODELS`` when imported.
"""
from __future__ import annotations

from typing import Sequence

import torch
from benchmark.api import mmaction_models
from mmengine.model import BaseModule
from torch import nn

MODELS = mmaction_models()  # mmaction2's registry (with vbench's import shim in place)


@MODELS.register_module()
class FrameDiff3D(BaseModule):
    """Frames and frame differences → 3D conv stages → feature map.

    Each stage is Conv3d (no bias) → BatchNorm3d → ReLU. The first cuts each frame into
    ``patch`` x ``patch`` squares (kernel = stride = ``(1, patch, patch)``): it sees every pixel
    once, so a pixel-level pattern survives, at a fraction of a full-resolution conv's cost. The
    others are 3x3x3 at stride 2 in time and space.

    Args:
        channels: output channels of each stage; the last is `out_channels`.
        patch: side of the first stage's squares.
        with_frames: also feed the frames (``x[:, :, 1:]``), not only their differences.
        bn_momentum: BatchNorm momentum.
        init_cfg: mmengine's init config.
    """

    def __init__(self, channels: Sequence[int] = (16, 32), patch: int = 4, with_frames: bool = True,
                 bn_momentum: float = 0.1, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if not channels or any(int(c) < 1 for c in channels):
            raise ValueError(f"FrameDiff3D: channels must be positive stage widths, got {channels}")
        self.with_frames = bool(with_frames)
        self.out_channels = int(channels[-1])
        widths = [6 if self.with_frames else 3, *map(int, channels)]
        if int(patch) < 1:
            raise ValueError(f"FrameDiff3D: patch must be a positive side, got {patch}")
        self.patch = int(patch)
        first = (1, self.patch, self.patch)
        self.stages = nn.ModuleList(
            _stage(c_in, c_out, *((first, first, 0) if i == 0 else (3, 2, 1)), bn_momentum)
            for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised clips ``[N, 3, T, H, W]`` (T >= 2) → features ``[N, C, T', H', W']``."""
        if x.ndim != 5 or x.shape[1] != 3 or x.shape[2] < 2:
            raise ValueError(f"FrameDiff3D expects clips [N, 3, T >= 2, H, W], got {tuple(x.shape)}")
        diff = x[:, :, 1:] - x[:, :, :-1]  # [N, 3, T-1, H, W]
        if self.with_frames:
            x = torch.cat([x[:, :, 1:], diff], dim=1)  # [N, 6, T-1, H, W]
        else:
            x = diff
        for stage in self.stages:
            x = stage(x)  # [N, C_i, T_i, H_i, W_i]
        return x


def _stage(c_in: int, c_out: int, kernel, stride, padding, momentum: float) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
                         nn.BatchNorm3d(c_out, momentum=momentum), nn.ReLU(inplace=True))
