"""I3D's logits layer as an mmaction2 head: average pool, dropout, 1x1x1 conv, mean over time."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from benchmark.compat import mmaction_models
from detectors.mmvgm_i3d.units import Unit3D

mmaction_models()  # the import shim must be in place before anything under mmaction.models loads
from mmaction.models.heads.base import BaseHead  # noqa: E402
from mmaction.registry import MODELS  # noqa: E402


@MODELS.register_module()
class I3DLogitsHead(BaseHead):
    """Upstream's ``avg_pool → dropout → logits`` (``InceptionI3d.forward`` after ``Mixed_5c``).

    The classifier is a 1x1x1 ``Unit3D`` with bias and neither BN nor ReLU, stored as
    ``logits.conv3d.{weight,bias}`` as in the official checkpoint. Upstream pools with a fixed
    ``[2, 7, 7]`` window at stride 1, which leaves one time step for 16 frames at 224 px; its
    ``squeeze()`` then drops that axis. Averaging the remaining ``[T', H', W']`` positions gives the
    same logits there and stays defined for longer clips.

    Args:
        num_classes: output classes (2 for detection, 9 for MMVGM's source tracing).
        in_channels: channels of the backbone features (1024 for full-width I3D).
        pool_kernel: ``[t, h, w]`` window of the average pool (stride 1), or None for a global
            average over the whole feature map.
        dropout_ratio: dropout before the classifier (upstream's ``dropout_keep_prob=0.5`` is
            passed to ``nn.Dropout`` as the drop probability).
        **kwargs: `mmaction.models.heads.BaseHead` arguments (``loss_cls``, ``topk`` …).
    """

    def __init__(self, num_classes: int, in_channels: int,
                 pool_kernel: Optional[Sequence[int]] = (2, 7, 7), dropout_ratio: float = 0.5,
                 **kwargs):
        if isinstance(kwargs.get("topk"), list):  # YAML has no tuples; BaseHead asserts one
            kwargs["topk"] = tuple(kwargs["topk"])
        super().__init__(num_classes, in_channels, **kwargs)
        self.pool_kernel = tuple(pool_kernel) if pool_kernel is not None else None
        self.avg_pool = (nn.AvgPool3d(self.pool_kernel, stride=1) if self.pool_kernel
                         else nn.AdaptiveAvgPool3d(1))
        self.dropout = nn.Dropout(dropout_ratio)
        self.logits = Unit3D(in_channels, num_classes, kernel=1, use_bn=False, use_bias=True,
                             activation=None)

    def init_weights(self) -> None:
        """Keeps PyTorch's default conv init, as upstream's ``replace_logits`` does."""

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Mixed_5c features ``[N, C, T', H', W']`` → logits ``[N, num_classes]``."""
        self._check_features(x)
        x = self.avg_pool(x)  # [N, C, T'-t+1, H'-h+1, W'-w+1]; [N, C, 1, 1, 1] at 16 x 224
        x = self.logits(self.dropout(x))  # [N, num_classes, t'', h'', w'']
        return x.mean(dim=(2, 3, 4))  # [N, num_classes]

    def _check_features(self, x: torch.Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f"I3DLogitsHead expects features [N, {self.in_channels}, T, H, W], "
                             f"got {tuple(x.shape)}")
        if self.pool_kernel and any(n < k for n, k in zip(x.shape[2:], self.pool_kernel)):
            raise ValueError(f"I3DLogitsHead: features {tuple(x.shape[2:])} (T', H', W') are "
                             f"smaller than pool_kernel {list(self.pool_kernel)}; feed more "
                             f"frames/pixels or set pool_kernel: null (global average)")
