"""Swin Transformer stages (Liu et al., ICCV 2021), as TALL's backbone uses them.

Module and parameter names follow the Swin release that DeepfakeBench's ``tall_detector.py``
builds on (``layers.{i}.blocks.{j}.attn.qkv`` ...), so the released TALL checkpoint maps onto
these modules by a prefix alone. Two persistent buffers are part of that layout and are checked
on load like any tensor: ``attn.relative_position_index`` (every block) and ``attn_mask`` (shifted
blocks only; a block without a shift registers ``None``, which is not saved).

Shapes: tokens are ``[B, H*W, C]`` in row-major order; windows are ``[B*nW, w*w, C]``.
"""
from __future__ import annotations

import itertools

import torch
from torch import nn

MASKED = -100.0  # the additive attention mask value of Swin's shifted windows


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """``[B, H, W, C]`` → non-overlapping windows ``[B*nW, window*window, C]`` (row-major)."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window * window, c)


def window_merge(windows: torch.Tensor, window: int, h: int, w: int) -> torch.Tensor:
    """Inverse of `window_partition`: ``[B*nW, window*window, C]`` → ``[B, H, W, C]``."""
    c = windows.shape[-1]
    b = windows.shape[0] // ((h // window) * (w // window))
    x = windows.view(b, h // window, w // window, window, window, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, c)


def relative_position_index(window: int) -> torch.Tensor:
    """``[w*w, w*w]`` int64: row of the ``(2w-1)^2`` bias table for each (query, key) pair."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window),
                                        indexing="ij")).flatten(1)  # [2, w*w]
    rel = coords[:, :, None] - coords[:, None, :] + (window - 1)  # [2, w*w, w*w], from 0
    return rel[0] * (2 * window - 1) + rel[1]


def shifted_window_mask(h: int, w: int, window: int, shift: int) -> torch.Tensor:
    """``[nW, w*w, w*w]``: 0 where two tokens of a shifted window came from the same image region,
    `MASKED` where the cyclic shift brought them together from different regions."""
    region = torch.zeros(1, h, w, 1)
    bands = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    for label, (rows, cols) in enumerate(itertools.product(bands, bands)):
        region[:, rows, cols] = label
    ids = window_partition(region, window)[..., 0]  # [nW, w*w]
    different = (ids[:, None, :] - ids[:, :, None]) != 0
    return torch.zeros(different.shape).masked_fill(different, MASKED)


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth: drops the residual branch of whole samples with probability ``p``."""
    if p == 0.0 or not training:
        return x
    keep = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - p)
    return x * keep / (1 - p)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside each window, plus a learned relative position bias."""

    def __init__(self, dim: int, window: int, heads: int):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        n, length, c = x.shape  # [B*nW, L, C]
        q, k, v = self.qkv(x).view(n, length, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)  # [B*nW, heads, L, L]
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.view(length, length, -1).permute(2, 0, 1)[None]
        if mask is not None:  # [nW, L, L], the same for every image of the batch
            windows = mask.shape[0]
            attn = attn.view(n // windows, windows, self.heads, length, length) + mask[None, :, None]
            attn = attn.view(n, self.heads, length, length)
        out = attn.softmax(dim=-1) @ v  # [B*nW, heads, L, C/heads]
        return self.proj(out.transpose(1, 2).reshape(n, length, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SwinBlock(nn.Module):
    """Pre-norm (shifted-)window attention and MLP, each a stochastic-depth residual.

    A window as large as the feature map is shrunk to it and never shifted (Swin's rule).
    """

    def __init__(self, dim: int, resolution: tuple[int, int], heads: int, window: int,
                 shift: int, mlp_ratio: float, drop_path_rate: float):
        super().__init__()
        if min(resolution) <= window:
            window, shift = min(resolution), 0
        self.resolution, self.window, self.shift, self.drop_rate = resolution, window, shift, drop_path_rate
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.register_buffer("attn_mask", shifted_window_mask(*resolution, window, shift)
                             if shift else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (h, w), (b, length, c) = self.resolution, x.shape  # [B, H*W, C]
        y = self.norm1(x).view(b, h, w, c)
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), dims=(1, 2))
        y = self.attn(window_partition(y, self.window), self.attn_mask)  # [B*nW, w*w, C]
        y = window_merge(y, self.window, h, w)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), dims=(1, 2))
        x = x + drop_path(y.reshape(b, length, c), self.drop_rate, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_rate, self.training)


class PatchMerging(nn.Module):
    """``[B, H*W, C]`` → ``[B, H/2*W/2, 2C]``: each 2 x 2 neighbourhood concatenated, normed, projected."""

    def __init__(self, resolution: tuple[int, int], dim: int):
        super().__init__()
        self.resolution = resolution
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)  # (the release's key order)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (h, w), (b, _, c) = self.resolution, x.shape
        x = x.view(b, h, w, c)
        # the release's order: (even row, even col), (odd, even), (even, odd), (odd, odd)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x.view(b, -1, 4 * c)))


class SwinStage(nn.Module):
    """``depth`` blocks (every second one shifted by half a window), then an optional merge."""

    def __init__(self, dim: int, resolution: tuple[int, int], depth: int, heads: int, window: int,
                 mlp_ratio: float, drop_path_rates: list[float], downsample: bool):
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinBlock(dim, resolution, heads, window, 0 if i % 2 == 0 else window // 2, mlp_ratio,
                      drop_path_rates[i]) for i in range(depth))
        self.downsample = PatchMerging(resolution, dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.downsample(x) if self.downsample is not None else x


class PatchEmbed(nn.Module):
    """``[B, 3, H, W]`` → ``[B, H/p*W/p, C]``: a strided convolution, then LayerNorm."""

    def __init__(self, patch_size: int, in_chans: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))
