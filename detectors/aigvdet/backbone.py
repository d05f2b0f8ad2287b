"""The two AIGVDet trunks as one mmaction2 backbone: RGB frames and optical-flow images.

A clip arrives as ``[N, 3, 2T-1, H, W]``: its T RGB frames followed by the T-1 flow images between
consecutive frames (see `detectors.aigvdet.reader`). Each half goes through its own ResNet frame by
frame (time folded into the batch) and comes back as per-frame features; the head classifies every
frame separately, as upstream does.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from mmengine.model import BaseModule

from benchmark.compat import mmaction_models
from detectors.aigvdet.trunk import ResNetTrunk

MODELS = mmaction_models()
BRANCHES = ("rgb", "flow")


@MODELS.register_module()
class AIGVDetBackbone(BaseModule):
    """Two independent ResNets, ``rgb`` and ``flow``, over the frames of a clip.

    Args:
        num_frames: RGB frames per clip (T); the clip then holds ``2T-1`` images.
        block: ``bottleneck`` (ResNet-50) or ``basic``.
        depths: residual blocks per stage.
        widths: base channels per stage.
        pretrained: optional local torchvision ResNet state dict (e.g. ImageNet ResNet-50, what
            upstream trains from) loaded into both trunks by `init_weights`; its ``fc`` is skipped.
    """

    def __init__(self, num_frames: int = 8, block: str = "bottleneck",
                 depths: Sequence[int] = (3, 4, 6, 3), widths: Sequence[int] = (64, 128, 256, 512),
                 pretrained: str | None = None):
        super().__init__()
        if num_frames < 2:
            raise ValueError(f"AIGVDetBackbone: num_frames must be >= 2 (flow needs frame pairs), "
                             f"got {num_frames}")
        self.num_frames = int(num_frames)
        self.pretrained = pretrained
        self.rgb = ResNetTrunk(block, depths, widths)
        self.flow = ResNetTrunk(block, depths, widths)
        self.out_channels = self.rgb.out_channels

    def init_weights(self) -> None:
        """Loads ``pretrained`` (a local file, never a download) into both trunks."""
        if not self.pretrained:
            return
        from benchmark.checkpoint import load_strict, read_state_dict

        state = read_state_dict(Path(self.pretrained))
        trunk_state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        for branch in BRANCHES:
            load_strict(getattr(self, branch), trunk_state, self.pretrained)

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[N, 3, 2T-1, H, W]`` → RGB ``[N, 3, T, H, W]`` and flow ``[N, 3, T-1, H, W]``."""
        t = self.num_frames
        if x.dim() != 5 or x.shape[2] != 2 * t - 1:
            raise ValueError(f"AIGVDetBackbone: expected clips [N, 3, {2 * t - 1}, H, W] "
                             f"({t} RGB frames + {t - 1} flow images), got {tuple(x.shape)}")
        return x[:, :, :t], x[:, :, t:]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Clips ``[N, 3, 2T-1, H, W]`` → (RGB ``[N, T, C]``, flow ``[N, T-1, C]``) features."""
        rgb, flow = self.split(x)
        return _per_frame(self.rgb, rgb), _per_frame(self.flow, flow)


def _per_frame(trunk: ResNetTrunk, clips: torch.Tensor) -> torch.Tensor:
    """Runs ``trunk`` on every frame of ``[N, 3, T, H, W]``; returns ``[N, T, C]``."""
    n, c, t, h, w = clips.shape
    frames = clips.transpose(1, 2).reshape(n * t, c, h, w)  # [N*T, 3, H, W]
    return trunk(frames).reshape(n, t, -1)
