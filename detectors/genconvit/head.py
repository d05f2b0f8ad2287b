"""GenConViT's classifier MLPs, its losses and its fakeness score, as one mmaction2 head.

Class order is upstream's (ImageFolder: fake = 0, real = 1), kept inside the head so the official
``fc2`` rows load unchanged; the head converts vbench labels (1 = fake) for the loss, and
`GenConViTHead.fake_logit` turns logits into one fakeness logit per clip.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from mmaction.models.heads.base import BaseHead
from mmaction.registry import MODELS
from torch import nn

from benchmark.errors import RegistryError
from detectors.genconvit.backbone import GenConViTFeatures

UPSTREAM_FAKE_INDEX = 0  # upstream label order: fake = 0, real = 1
ACTIVATIONS = {"ed": nn.GELU, "vae": nn.ReLU}  # as upstream: GELU in network A, ReLU in B


class NetClassifier(nn.Module):
    """``fc2(act(fc(act(x))))``: 2F → 2F/4 → 2 (paper 2000 → 500 → 2).

    Args:
        in_features: 2F, the concatenated ConvNeXt outputs.
        activation: ``nn.GELU`` (ed) or ``nn.ReLU`` (vae).
        with_fc3: also build upstream's never-used ``fc3`` (F → 2F/4; in the vae checkpoint).
    """

    def __init__(self, in_features: int, activation: type[nn.Module], with_fc3: bool = False,
                 num_classes: int = 2):
        super().__init__()
        hidden = in_features // 4
        self.fc = nn.Linear(in_features, hidden)
        if with_fc3:
            self.fc3 = nn.Linear(in_features // 2, hidden)  # unused upstream, kept for the keys
        self.fc2 = nn.Linear(hidden, num_classes)
        self.act = activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc(self.act(x))))  # [M, 2F] -> [M, 2]


@MODELS.register_module()
class GenConViTHead(BaseHead):
    """One classifier per network; logits ``[N * T, nets, 2]`` in upstream class order.

    Args:
        nets: the networks built by the backbone (``ed``, ``vae``, or both), in order.
        in_channels: 2F, the backbone's per-network feature width.
        num_classes: 2 (upstream's fake/real).
        recon_weight: weight of the VAE's reconstruction MSE in the loss (upstream 1.0).
    """

    def __init__(self, nets: Sequence[str], in_channels: int, num_classes: int = 2,
                 recon_weight: float = 1.0, **kwargs):
        super().__init__(num_classes, in_channels, topk=(1,), **kwargs)
        if num_classes != 2:
            raise RegistryError(f"GenConViTHead.num_classes: upstream's networks are binary "
                                f"(fake=0, real=1); got {num_classes}")
        unknown = sorted(set(nets) - set(ACTIVATIONS))
        if unknown or not nets:
            raise RegistryError(f"GenConViTHead.nets: expected a non-empty subset of "
                                f"{sorted(ACTIVATIONS)}, got {list(nets)}")
        self.nets = [name for name in ACTIVATIONS if name in nets]
        for name in self.nets:
            self.add_module(name, NetClassifier(in_channels, ACTIVATIONS[name], name == "vae"))
        self.recon_weight = float(recon_weight)

    def init_weights(self) -> None:
        """Keeps PyTorch's default Linear initialisation (as upstream)."""

    def forward(self, x: GenConViTFeatures, **kwargs) -> torch.Tensor:
        """Features → logits ``[N * T, nets, 2]`` (index 0 = fake, as upstream)."""
        missing = [name for name in self.nets if name not in x.feats]
        if missing:
            raise RegistryError(f"GenConViTHead: the backbone gave no features for {missing}; "
                                f"backbone and head must name the same nets")
        return torch.stack([getattr(self, name)(x.feats[name]) for name in self.nets], dim=1)

    def fake_logit(self, x: GenConViTFeatures) -> torch.Tensor:
        """One fakeness logit per clip, ``[N, 1]``: ``logit(p)`` with ``p`` the mean over the
        clip's frames and the networks of ``sigmoid(logits[..., fake])`` (upstream's
        ``mean(sigmoid(model(faces)))[0]``). Computed in log space, so it stays finite."""
        logits = self(x)[..., UPSTREAM_FAKE_INDEX]  # [N * T, nets]
        per_clip = logits.reshape(-1, x.num_frames * len(self.nets))  # [N, T * nets]
        # log(mean sigmoid(a)) - log(mean sigmoid(-a)); the 1/count cancels
        log_fake = torch.logsumexp(F.logsigmoid(per_clip), dim=1)
        log_real = torch.logsumexp(F.logsigmoid(-per_clip), dim=1)
        return (log_fake - log_real)[:, None]  # [N, 1]

    def loss(self, feats: GenConViTFeatures, data_samples, **kwargs) -> dict:
        """Upstream's losses: cross-entropy per network (fake = 0) and, for the VAE, the MSE
        between its reconstruction resized to the input and the (normalised) input."""
        labels = torch.stack([s.gt_label for s in data_samples]).reshape(-1).long()  # [N], 1 = fake
        logits = self(feats)  # [N * T, nets, 2]
        target = (1 - labels).to(logits.device).repeat_interleave(feats.num_frames)  # upstream order
        losses = {f"loss_cls_{name}": F.cross_entropy(logits[:, i], target)
                  for i, name in enumerate(self.nets)}
        if "vae" in feats.recons and feats.frames is not None and self.recon_weight:
            recon = F.interpolate(feats.recons["vae"], size=feats.frames.shape[-2:],
                                  mode="bilinear", align_corners=False, antialias=True)
            losses["loss_recon_vae"] = self.recon_weight * F.mse_loss(recon, feats.frames)
        return losses

    def predict(self, feats: GenConViTFeatures, data_samples, **kwargs):
        """mmaction2's predict: ``pred_score`` = ``[P(real), P(fake)]`` in vbench order."""
        p_fake = self.fake_logit(feats).sigmoid()[:, 0]  # [N]
        scores = torch.stack([1 - p_fake, p_fake], dim=1)
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score)
            sample.set_pred_label(score.argmax(dim=-1, keepdim=True))
        return data_samples
