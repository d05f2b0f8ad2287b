"""The classification head of ``transformers``' ``VideoMAEForVideoClassification``.

VideoMAE has no CLS token. The head depends on the base checkpoint's ``use_mean_pooling``:

* ``false`` (VideoMAE-base, the layout VGMShield's checkpoints most likely have): the backbone ends
  with ``videomae.layernorm`` and the head classifies the FIRST PATCH TOKEN;
* ``true``: the backbone has no final norm; the head averages all tokens, applies ``fc_norm`` and
  classifies that.

We keep ``fc_norm`` and the classifier here (``cls_head.fc_norm``, ``cls_head.fc_cls``), so one
backbone class serves both layouts.
"""
from __future__ import annotations

import torch
from mmaction.models.heads.base import BaseHead
from torch import nn

from benchmark.compat import mmaction_models

MODELS = mmaction_models()


@MODELS.register_module()
class VideoMAEClsHead(BaseHead):
    """First-token or mean-pooled VideoMAE tokens → class logits.

    Args:
        num_classes: output classes (2 for detection, 9 for VGMShield's source tracing).
        in_channels: token width (VideoMAE ``hidden_size``).
        use_mean_pooling: mean over tokens + ``fc_norm`` (true) or the first token (false); must
            equal the backbone config's ``use_mean_pooling``.
        norm_eps: ``fc_norm``'s epsilon (``nn.LayerNorm``'s default, as in transformers).
        kwargs: `BaseHead` arguments (``loss_cls``, ``average_clips`` …).
    """

    def __init__(self, num_classes: int, in_channels: int, use_mean_pooling: bool = False,
                 norm_eps: float = 1e-5, **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        self.use_mean_pooling = use_mean_pooling
        self.fc_norm = nn.LayerNorm(in_channels, eps=norm_eps) if use_mean_pooling else None
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Nothing: the layers keep transformers-like PyTorch defaults (the checkpoint overrides)."""

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Tokens ``[N, L, C]`` → logits ``[N, num_classes]``."""
        if self.fc_norm is not None:
            pooled = self.fc_norm(x.mean(dim=1))  # [N, C]
        else:
            pooled = x[:, 0]  # [N, C]; the backbone already layer-normed every token
        return self.fc_cls(pooled)
