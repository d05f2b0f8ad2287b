"""AIGVDet's classifiers: one logit per frame and branch, fused as 0.5·P(rgb) + 0.5·P(flow).

Upstream scores every frame with ``sigmoid(fc(features))``, averages the frame probabilities of
each branch, and averages the two branches. The head returns that fused probability as a logit,
``log(p / (1 - p))``, so that the detector's ``sigmoid`` score gives it back. Training minimises
the per-frame binary cross-entropy of each branch (their sum: the branches share no parameters, so
this is the same as training the two networks separately, as upstream does).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from benchmark.compat import mmaction_models

MODELS = mmaction_models()


@MODELS.register_module()
class AIGVDetHead(BaseModule):
    """Per-frame linear classifiers ``rgb_fc`` and ``flow_fc`` (one logit each) and their fusion.

    Args:
        in_channels: feature width of the trunks (2048 for ResNet-50).
        rgb_weight: weight of the RGB branch in the fused probability (upstream: 0.5).
        eps: fused probabilities are clamped to ``[eps, 1 - eps]`` before the logit.
    """

    def __init__(self, in_channels: int = 2048, rgb_weight: float = 0.5, eps: float = 1e-6):
        super().__init__()
        if not 0.0 <= rgb_weight <= 1.0:
            raise ValueError(f"AIGVDetHead: rgb_weight must be in [0, 1], got {rgb_weight}")
        self.rgb_fc = nn.Linear(in_channels, 1)
        self.flow_fc = nn.Linear(in_channels, 1)
        self.rgb_weight, self.eps = float(rgb_weight), float(eps)

    def frame_logits(self, feats: tuple[torch.Tensor, torch.Tensor]
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """(RGB ``[N, T, C]``, flow ``[N, T-1, C]``) → per-frame logits ``[N, T]``, ``[N, T-1]``."""
        rgb, flow = feats
        return self.rgb_fc(rgb).squeeze(-1), self.flow_fc(flow).squeeze(-1)

    def fused_probability(self, feats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """``[N]``: weighted mean of the two branches' mean frame probabilities."""
        rgb, flow = self.frame_logits(feats)
        p_rgb, p_flow = rgb.sigmoid().mean(dim=1), flow.sigmoid().mean(dim=1)
        return self.rgb_weight * p_rgb + (1 - self.rgb_weight) * p_flow

    def forward(self, feats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Features → logit of the fused probability, ``[N, 1]``."""
        p = self.fused_probability(feats).clamp(self.eps, 1 - self.eps)
        return torch.logit(p)[:, None]

    def loss(self, feats: tuple[torch.Tensor, torch.Tensor], data_samples, **kwargs) -> dict:
        """Per-frame BCE of each branch against the clip's label (1 = generated)."""
        rgb, flow = self.frame_logits(feats)
        labels = torch.stack([s.gt_label.reshape(()) for s in data_samples]).to(rgb)  # [N]
        return {"loss_rgb": F.binary_cross_entropy_with_logits(rgb, labels[:, None].expand_as(rgb)),
                "loss_flow": F.binary_cross_entropy_with_logits(flow,
                                                                labels[:, None].expand_as(flow))}

    def predict(self, feats: tuple[torch.Tensor, torch.Tensor], data_samples, **kwargs):
        """Sets each sample's ``pred_score`` to ``[P(real), P(generated)]``."""
        p = self.fused_probability(feats)
        for sample, prob in zip(data_samples, p):
            sample.set_pred_score(torch.stack([1 - prob, prob]))
        return data_samples
