"""WaveRep's classifier: timm's one-logit ``head`` on every frame, frame logits averaged.

Upstream scores every frame (``model(frame)[0, -1]``) and gives the video the mean of its frame
logits (``main_avideo.py``: ``tab['logit'].mean()``, then ``expit``). A clip's logit here is the
mean over its frames; `detectors.waverep.detector.WaveRepDetector.video_scores` averages clip
logits, never probabilities, so a video's score is upstream's ``expit(mean logit)``. Training
minimises the per-frame binary cross-entropy against the clip's label.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from benchmark.api import mmaction_models

MODELS = mmaction_models()


@MODELS.register_module()
class WaveRepHead(BaseModule):
    """Per-frame features ``[N, T, C]`` → clip logit ``[N, 1]`` (mean of the frame logits).

    Args:
        in_channels: feature width (768 for ViT-B).
    """

    def __init__(self, in_channels: int = 768, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self.fc = nn.Linear(in_channels, 1)  # upstream's timm ``head`` (num_classes=1)

    def frame_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """``[N, T, C]`` → ``[N, T]``."""
        return self.fc(feats).squeeze(-1)

    def forward(self, feats: torch.Tensor, **kwargs) -> torch.Tensor:
        return self.frame_logits(feats).mean(dim=1, keepdim=True)  # [N, 1]

    def loss(self, feats: torch.Tensor, data_samples, **kwargs) -> dict:
        """Per-frame BCE with logits, every frame labelled as its clip (1 = generated)."""
        logits = self.frame_logits(feats)  # [N, T]
        labels = torch.stack([s.gt_label.reshape(()) for s in data_samples]).to(logits)  # [N]
        return {"loss_cls": F.binary_cross_entropy_with_logits(logits,
                                                               labels[:, None].expand_as(logits))}

    def predict(self, feats: torch.Tensor, data_samples, **kwargs):
        """Sets each sample's ``pred_score`` to ``[P(real), P(generated)]``."""
        p = self.forward(feats)[:, 0].sigmoid()
        for sample, prob in zip(data_samples, p):
            sample.set_pred_score(torch.stack([1 - prob, prob]))
        return data_samples
