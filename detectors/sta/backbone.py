"""CLIP ViT visual tower with a temporal embedding and one spatiotemporal adapter per block.

The paper's backbone is CLIP ViT-L/14 cut to its first 14 blocks. Each frame of a clip is tokenised
on its own (CLS + patches), a learned per-frame temporal embedding is added to every token, and the
blocks run frame by frame; only the adapters look across frames. The output is the per-frame CLS
token after ``ln_post`` (no CLIP projection), laid out for mmaction2's I3D head.

Parameter names follow the official checkpoint (``conv1``, ``class_embedding``,
``transformer.resblocks.{i}.{ln_1, attn, ln_2, mlp.c_fc, mlp.c_proj, Adapter}``, ``ln_post`` …) so
its backbone keys load unchanged.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Optional

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from detectors.sta.adapter import StAdapter


class QuickGELU(nn.Module):
    """CLIP's sigmoid approximation of GELU (the pretrained weights expect it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """Pre-norm CLIP transformer block followed by a spatiotemporal adapter.

    Args:
        width: token width.
        heads: self-attention heads.
        adapter: the `StAdapter` applied after the MLP residual.
    """

    def __init__(self, width: int, heads: int, adapter: StAdapter):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * 4)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(width * 4, width)),
        ]))
        self.Adapter = adapter  # capitalised as in the official checkpoint

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens ``[N*T, L, width]`` → same shape; attention stays within a frame."""
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        x = x + self.mlp(self.ln_2(x))
        return self.Adapter(x)


class Transformer(nn.Module):
    """A stack of `ResidualAttentionBlock`s (held in ``resblocks`` as in CLIP)."""

    def __init__(self, blocks: list[ResidualAttentionBlock]):
        super().__init__()
        self.resblocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resblocks(x)


@MODELS.register_module()
class StAViT(BaseModule):
    """CLIP ViT with temporal embedding and StA adapters; mmaction2 layout in and out.

    Args:
        input_resolution: frame side in pixels (square frames).
        num_frames: frames per clip (T); fixes the temporal embedding and the adapters.
        patch_size: patch side in pixels; the adapter grid is ``input_resolution // patch_size``.
        width: token width.
        layers: number of transformer blocks.
        heads: self-attention heads.
        adapter_bottleneck: adapter width.
        adapter_heads: heads of the adapter's cross-attention.
        zero_init_adapter: start each adapter as the identity (zeroed up-projection).
        upstream_batch_mixing: reproduce upstream's batch-coupled cross-attention layout (see
            `detectors.sta.adapter.StreamCrossAttention`); only for parity checks.
        pretrained: optional path to CLIP visual-tower weights, loaded by `init_weights`.
        init_cfg: mmengine init config (unused by default).
    """

    def __init__(self, input_resolution: int = 224, num_frames: int = 8, patch_size: int = 14,
                 width: int = 1024, layers: int = 14, heads: int = 16,
                 adapter_bottleneck: int = 512, adapter_heads: int = 2,
                 zero_init_adapter: bool = True, upstream_batch_mixing: bool = False,
                 pretrained: Optional[str] = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if input_resolution % patch_size:
            raise ValueError(f"StAViT: input_resolution {input_resolution} is not a multiple of "
                             f"patch_size {patch_size}")
        self.input_resolution, self.num_frames = input_resolution, num_frames
        self.patch_size, self.width, self.pretrained = patch_size, width, pretrained
        self.zero_init_adapter = zero_init_adapter
        side = input_resolution // patch_size
        scale = width ** -0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(side * side + 1, width))
        self.temporal_embedding = nn.Parameter(torch.zeros(1, num_frames, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer([
            ResidualAttentionBlock(width, heads, StAdapter(
                width, adapter_bottleneck, num_frames, (side, side), adapter_heads,
                zero_init_up=zero_init_adapter, upstream_batch_mixing=upstream_batch_mixing))
            for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised clips ``[N, 3, T, H, W]`` → per-frame CLS features ``[N, width, T, 1, 1]``."""
        n, t = self._check_input(x)
        frames = x.transpose(1, 2).flatten(0, 1)  # [N*T, 3, H, W]
        tokens = self.embed(frames)  # [N*T, 1+h*w, width]
        tokens = self.transformer(self.ln_pre(tokens))
        cls = self.ln_post(tokens[:, 0])  # [N*T, width]
        return cls.reshape(n, t, self.width).transpose(1, 2)[..., None, None]

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames ``[N*T, 3, H, W]`` → tokens ``[N*T, 1+h*w, width]`` with all three embeddings."""
        patches = self.conv1(frames).flatten(2).transpose(1, 2)  # [N*T, h*w, width]
        cls = self.class_embedding.to(patches.dtype).expand(len(patches), 1, -1)
        tokens = torch.cat([cls, patches], dim=1) + self.positional_embedding.to(patches.dtype)
        tokens = tokens.unflatten(0, (-1, self.num_frames))  # [N, T, 1+h*w, width]
        tokens = tokens + self.temporal_embedding[:, :, None].to(tokens.dtype)
        return tokens.flatten(0, 1)

    def _check_input(self, x: torch.Tensor) -> tuple[int, int]:
        size, t = self.input_resolution, self.num_frames
        if x.ndim != 5 or tuple(x.shape[1:]) != (3, t, size, size):
            raise ValueError(f"StAViT expects clips [N, 3, {t}, {size}, {size}], "
                             f"got {tuple(x.shape)}")
        return x.shape[0], t

    def init_weights(self) -> None:
        """Loads CLIP visual weights from ``pretrained`` (if set); re-zeroes adapter up-projections.

        Only the first ``layers`` blocks are taken; CLIP's ``proj`` is dropped; the temporal
        embedding and adapters keep their fresh init. Accepts a plain state_dict file, optionally
        with keys prefixed ``visual.`` (as in a full CLIP model's state_dict).
        """
        super().init_weights()
        if self.pretrained:
            self._load_clip(self.pretrained)
        for module in self.modules():
            if isinstance(module, StAdapter) and self.zero_init_adapter:
                nn.init.zeros_(module.up.weight)
                nn.init.zeros_(module.up.bias)

    def _load_clip(self, path: str) -> None:
        from benchmark.checkpoint import read_state_dict
        from benchmark.errors import WeightsError

        state = read_state_dict(path)
        if any(k.startswith("visual.") for k in state):
            state = {k[len("visual."):]: v for k, v in state.items() if k.startswith("visual.")}
        ours = self.state_dict()
        take = {k: v for k, v in state.items() if k in ours and "Adapter" not in k}
        wrong = [f"{k}: file {tuple(v.shape)} vs model {tuple(ours[k].shape)}"
                 for k, v in take.items() if v.shape != ours[k].shape]
        if wrong or not take:
            raise WeightsError(f"{path}: not CLIP visual weights for this StAViT "
                               f"({'; '.join(wrong[:4]) or 'no matching keys'})")
        self.load_state_dict(take, strict=False)
