"""D3's second-order statistic as a one-logit head.

Upstream (``models/D3_model.py``, ``eval.py``): with per-frame features ``f_1 .. f_T``,

- first order: ``d_i = ||f_{i+1} - f_i||_2`` (``loss l2``, the default and the paper's) or the
  cosine similarity of the pair (``loss cos``), ``i = 1 .. T-1``;
- second order: ``s_i = d_{i+1} - d_i``, ``i = 1 .. T-2``;
- the video's statistic: ``std(s)`` (unbiased, ``torch.std``). ``eval.py`` ranks videos by it with
  *real* as the positive class (``average_precision_score(1 - y, std)``): a larger spread means
  more likely real.

vbench scores "higher = more likely generated" in [0, 1], so the logit is
``(center - std) / temperature`` and the score its sigmoid: a strictly decreasing map of upstream's
statistic, so AUC, AP and every ranking metric are exactly upstream's (with real and generated
swapped as the positive class, as vbench defines it).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from benchmark.api import mmaction_models

MODELS = mmaction_models()
DISTANCES = ("l2", "cos")


def second_order_std(features: torch.Tensor, distance: str = "l2") -> torch.Tensor:
    """Per-frame features ``[N, T, C]`` (T >= 4) → upstream's ``dis_2nd_std`` ``[N]``."""
    a, b = features[:, :-1], features[:, 1:]  # [N, T-1, C] each
    first = (a - b).norm(p=2, dim=-1) if distance == "l2" else F.cosine_similarity(a, b, dim=-1)
    second = first[:, 1:] - first[:, :-1]  # [N, T-2]
    return second.std(dim=1)  # [N]


@MODELS.register_module()
class D3Head(BaseModule):
    """Features ``[N, T, C]`` → logit ``[N, 1]`` = ``(center - std) / temperature``.

    Args:
        distance: ``l2`` (upstream's default ``--loss l2``) or ``cos``.
        center: statistic value that maps to score 0.5 (0: scores in (0, 0.5] for l2).
        temperature: > 0; only the spread of the scores depends on it, never their order.
    """

    def __init__(self, distance: str = "l2", center: float = 0.0, temperature: float = 1.0,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if distance not in DISTANCES:
            raise ValueError(f"D3Head: distance '{distance}' is not one of {DISTANCES}")
        if not temperature > 0:
            raise ValueError(f"D3Head: temperature must be > 0, got {temperature}")
        self.distance, self.center, self.temperature = distance, float(center), float(temperature)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] < 4:
            raise ValueError(f"D3Head: expected features [N, T, C] with T >= 4 (two second-order "
                             f"differences), got {tuple(x.shape)}")
        stat = second_order_std(x.float(), self.distance)  # [N]
        return ((self.center - stat) / self.temperature)[:, None]  # [N, 1]
