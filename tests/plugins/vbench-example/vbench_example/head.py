"""`PooledLinearHead`: global average pool → dropout → linear, as an mmaction2 head."""
from __future__ import annotations

import torch
from benchmark.api import mmaction_models
from torch import nn

MODELS = mmaction_models()  # the import shim must be in place before mmaction.models loads
from mmaction.models.heads.base import BaseHead  # noqa: E402


@MODELS.register_module()
class PooledLinearHead(BaseHead):
    """Averages the backbone's feature map over (T', H', W') and classifies it with one linear layer.

    Args:
        num_classes: output classes (2 for detection).
        in_channels: channels of the backbone features.
        dropout_ratio: dropout before the linear layer.
        init_std: std of the linear layer's initial weights (bias 0), mmaction2's head default.
            Small, so that an untrained head scores every clip near 0.5: PyTorch's default
            init makes random features score one class of artefact consistently higher, a bias
            a short training on uninformative labels keeps (the leak control then sees it).
        **kwargs: `mmaction.models.heads.BaseHead` arguments (``loss_cls``, ``topk`` …).
    """

    def __init__(self, num_classes: int, in_channels: int, dropout_ratio: float = 0.0,
                 init_std: float = 0.01, **kwargs):
        if isinstance(kwargs.get("topk"), list):  # YAML has no tuples; BaseHead asserts one
            kwargs["topk"] = tuple(kwargs["topk"])
        super().__init__(num_classes, in_channels, **kwargs)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout_ratio)
        self.fc = nn.Linear(in_channels, num_classes)
        self.init_std = float(init_std)
        self.init_weights()

    def init_weights(self) -> None:
        """Normal(0, ``init_std``) weights and zero bias for the linear layer (also at build time:
        vbench builds models without mmengine's runner, which would call this)."""
        nn.init.normal_(self.fc.weight, std=self.init_std)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Features ``[N, C, T', H', W']`` → logits ``[N, num_classes]``."""
        if x.ndim != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f"PooledLinearHead expects features [N, {self.in_channels}, T, H, W], "
                             f"got {tuple(x.shape)}")
        x = self.pool(x).flatten(1)  # [N, C]
        return self.fc(self.dropout(x))  # [N, num_classes]
