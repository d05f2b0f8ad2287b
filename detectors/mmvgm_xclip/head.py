"""VGMShield's MLP classifier on the X-CLIP video embedding (upstream ``BinaryClassifier``).

Six blocks narrow the embedding down (paper widths 1024 → 512 → 256 → 128 → 64 → 32): the first is
Linear → BatchNorm1d → ReLU → Dropout, the others Linear → ReLU6 → Dropout; ``out_layer`` gives the
logits. Sub-module names (``layer1.0``, ``layer1.1`` … ``out_layer``) follow the official
checkpoint's ``classifier.*`` keys, so loading only strips that prefix.
"""
from __future__ import annotations

from typing import Sequence

import torch
from mmaction.models.heads.base import BaseHead
from torch import nn

from benchmark.compat import mmaction_models

MODELS = mmaction_models()

PAPER_WIDTHS = (1024, 512, 256, 128, 64, 32)


@MODELS.register_module()
class VGMShieldMLPHead(BaseHead):
    """Video embedding ``[N, C]`` → logits through VGMShield's six-block MLP.

    Args:
        num_classes: output classes (2 for detection, 9 for source tracing).
        in_channels: embedding width (X-CLIP ``projection_dim``, 768 for xclip-large-patch14).
        widths: output width of each block; upstream's six are `PAPER_WIDTHS`.
        dropout_ratio: dropout after every block (upstream 0.5).
        kwargs: `BaseHead` arguments (``loss_cls``, ``average_clips`` …).
    """

    def __init__(self, num_classes: int, in_channels: int, widths: Sequence[int] = PAPER_WIDTHS,
                 dropout_ratio: float = 0.5, **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        if not widths:
            raise ValueError("VGMShieldMLPHead: widths must name at least one block width")
        self.num_blocks = len(widths)
        sizes = [in_channels, *widths]
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            setattr(self, f"layer{i}", _block(n_in, n_out, dropout_ratio, first=i == 1))
        self.out_layer = nn.Linear(widths[-1], num_classes)

    def init_weights(self) -> None:
        """Nothing: PyTorch's default Linear/BatchNorm init, as upstream (the checkpoint overrides)."""

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Embedding ``[N, C]`` → logits ``[N, num_classes]``."""
        for i in range(1, self.num_blocks + 1):
            x = getattr(self, f"layer{i}")(x)  # [N, widths[i-1]]
        return self.out_layer(x)


def _block(n_in: int, n_out: int, dropout: float, first: bool) -> nn.Sequential:
    """Upstream's block: index 0 is the Linear, index 1 the BatchNorm1d in the first block only."""
    if first:
        return nn.Sequential(nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU(),
                             nn.Dropout(dropout))
    return nn.Sequential(nn.Linear(n_in, n_out), nn.ReLU6(), nn.Dropout(dropout))
