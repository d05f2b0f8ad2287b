"""The spatiotemporal adapter (StA) inserted after every transformer block.

One adapter sees the tokens of all frames of a clip. It projects them down to a bottleneck, runs the
patch tokens through two convolutional streams (spatial kernels ``(1, k, k)`` and temporal kernels
``(k, 1, 1)``, k = 3, 5, 7, all depthwise), lets the two streams attend to each other, and projects
back up as a residual. The CLS token skips the convolutions and the attention.

Parameter names (``down``, ``s_conv1..3``, ``t_conv1..3``, ``cross_attention``, ``up``) are chosen
so that the official ``sta_best.pth`` keys load without renaming.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SPATIAL_KERNELS = ((1, 3, 3), (1, 5, 5), (1, 7, 7))
TEMPORAL_KERNELS = ((3, 1, 1), (5, 1, 1), (7, 1, 1))


class DepthwiseConvStack(nn.Module):
    """Three depthwise 3-D convolutions, each followed by BatchNorm; ReLU after the first two.

    Kernels are purely spatial ``(1, k, k)`` or purely temporal ``(k, 1, 1)``. The parameters are
    ``Conv3d``/``BatchNorm3d`` (as in the official checkpoint), but the convolutions run as 2-D ones
    on frames ``[N*T, C, h, w]`` or on ``[N, C, T, h*w]``: the same arithmetic, several times faster
    on CPU than PyTorch's depthwise 3-D kernels (backward especially).

    Args:
        channels: channels in and out (one group per channel).
        kernel_size: ``(1, k, k)`` or ``(k, 1, 1)``, k odd; padding keeps the shape.
    """

    def __init__(self, channels: int, kernel_size: tuple[int, int, int]):
        super().__init__()
        kt, kh, kw = kernel_size
        if not (kt == 1 or kh == kw == 1) or not all(k % 2 for k in kernel_size):
            raise ValueError(f"DepthwiseConvStack: kernel {kernel_size} is neither (1, k, k) nor "
                             f"(k, 1, 1) with k odd")
        self.spatial = kt == 1
        self.padding_2d = (kh // 2, kw // 2) if self.spatial else (kt // 2, 0)
        padding = tuple(k // 2 for k in kernel_size)
        for i in (1, 2, 3):
            self.add_module(f"conv{i}", nn.Conv3d(channels, channels, kernel_size, padding=padding,
                                                  groups=channels))
            self.add_module(f"bn{i}", nn.BatchNorm3d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, h, w]`` → same shape."""
        n, c, t, h, w = x.shape
        if self.spatial:
            y = x.transpose(1, 2).reshape(n * t, c, h, w)  # [N*T, C, h, w]
        else:
            y = x.reshape(n, c, t, h * w)  # [N, C, T, h*w]
        for i in (1, 2, 3):
            conv, norm = getattr(self, f"conv{i}"), getattr(self, f"bn{i}")
            weight = conv.weight.squeeze(2) if self.spatial else conv.weight.squeeze(-1)
            y = F.conv2d(y, weight, conv.bias, padding=self.padding_2d, groups=c)
            y = norm(y.unsqueeze(2)).squeeze(2)  # per-channel statistics, as over [N, C, T, h, w]
            y = torch.relu(y) if i < 3 else y
        if self.spatial:
            return y.reshape(n, t, c, h, w).transpose(1, 2)
        return y.reshape(n, c, t, h, w)


class StreamCrossAttention(nn.Module):
    """Spatial and temporal streams attend to each other over all ``T·h·w`` patch tokens of a clip.

    ``spatial_to_temporal`` takes temporal queries and spatial keys/values; ``temporal_to_spatial``
    the reverse.

    Args:
        channels: token width (the adapter bottleneck).
        num_heads: attention heads.
        upstream_batch_mixing: reproduce upstream's token layout, which for batches of more than one
            clip flattens ``[T, N, h·w]`` into sequences that mix clips (and scatters the result
            back to other clips' positions). Off by default: our scores must not depend on batch
            composition. Both layouts agree exactly for a batch of one clip.
    """

    def __init__(self, channels: int, num_heads: int, upstream_batch_mixing: bool = False):
        super().__init__()
        self.spatial_to_temporal = nn.MultiheadAttention(channels, num_heads, batch_first=True)
        self.temporal_to_spatial = nn.MultiheadAttention(channels, num_heads, batch_first=True)
        self.upstream_batch_mixing = upstream_batch_mixing

    def forward(self, spatial: torch.Tensor, temporal: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Two ``[N, C, T, h, w]`` streams → (spatial→temporal, temporal→spatial), same shape."""
        shape = spatial.shape
        s, t = self._tokens(spatial), self._tokens(temporal)  # [N, T*h*w, C]
        s2t = self.spatial_to_temporal(t, s, s, need_weights=False)[0]
        t2s = self.temporal_to_spatial(s, t, t, need_weights=False)[0]
        return self._grid(s2t, shape), self._grid(t2s, shape)

    def _tokens(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        if self.upstream_batch_mixing:
            # upstream: [T, N, h*w, C] read as [T*h*w, N, C] (sequence-first)
            seq_first = x.reshape(n, c, t, h * w).permute(2, 0, 3, 1).reshape(t * h * w, n, c)
            return seq_first.transpose(0, 1)
        return x.flatten(2).transpose(1, 2)  # [N, T*h*w, C], tokens ordered (t, y, x)

    def _grid(self, tokens: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        n, c, t, h, w = shape
        if self.upstream_batch_mixing:
            # upstream: [T*h*w, N, C] read as [T, h*w, N, C]
            return tokens.transpose(0, 1).reshape(t, h * w, n, c).permute(2, 3, 0, 1).reshape(shape)
        return tokens.transpose(1, 2).reshape(shape)


class StAdapter(nn.Module):
    """Bottleneck adapter with two-stream depthwise 3-D convolutions and cross-attention.

    ``x + GELU(up(A(GELU(down(x)))))`` where ``A`` leaves the CLS token unchanged and maps the patch
    tokens through the streams and their cross-attention.

    Args:
        width: token width of the transformer.
        bottleneck: adapter width (512 in the paper).
        num_frames: frames per clip (T).
        grid: patch grid ``(h, w)`` of one frame, e.g. ``(16, 16)`` for 224 px and 14 px patches.
        num_heads: cross-attention heads (2 in the paper).
        zero_init_up: zero the up-projection so that a fresh adapter is the identity (intended by
            the paper; upstream's released code skips this init, which only matters for training).
        upstream_batch_mixing: see `StreamCrossAttention`.
    """

    def __init__(self, width: int, bottleneck: int, num_frames: int, grid: tuple[int, int],
                 num_heads: int = 2, zero_init_up: bool = True,
                 upstream_batch_mixing: bool = False):
        super().__init__()
        self.num_frames, self.grid = num_frames, tuple(grid)
        self.down = nn.Linear(width, bottleneck)
        for i, kernel in enumerate(SPATIAL_KERNELS, start=1):
            self.add_module(f"s_conv{i}", DepthwiseConvStack(bottleneck, kernel))
        for i, kernel in enumerate(TEMPORAL_KERNELS, start=1):
            self.add_module(f"t_conv{i}", DepthwiseConvStack(bottleneck, kernel))
        self.up = nn.Linear(bottleneck, width)
        self.cross_attention = StreamCrossAttention(bottleneck, num_heads, upstream_batch_mixing)
        self.act = nn.GELU()
        if zero_init_up:
            nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens ``[N*T, 1 + h*w, width]`` (CLS first, frames of a clip adjacent) → same shape."""
        z = self.act(self.down(x))  # [N*T, 1+h*w, B]
        cls, patches = z[:, :1], z[:, 1:]
        grid = self._to_grid(patches)  # [N, B, T, h, w]
        spatial = (self.s_conv1(grid) + self.s_conv2(grid) + self.s_conv3(grid)) / 3 + grid
        temporal = (self.t_conv1(grid) + self.t_conv2(grid) + self.t_conv3(grid)) / 3 + grid
        s2t, t2s = self.cross_attention(spatial, temporal)
        fused = self.act((s2t + t2s) / 2)  # [N, B, T, h, w]
        z = torch.cat([cls, self._from_grid(fused)], dim=1)  # [N*T, 1+h*w, B]
        return x + self.act(self.up(z))

    def _to_grid(self, patches: torch.Tensor) -> torch.Tensor:
        nt, hw, c = patches.shape
        h, w = self.grid
        if hw != h * w or nt % self.num_frames:
            raise ValueError(f"StAdapter: expected [N*{self.num_frames}, {h}*{w}, C] patch tokens, "
                             f"got {tuple(patches.shape)}")
        grid = patches.reshape(nt // self.num_frames, self.num_frames, h, w, c)  # [N, T, h, w, B]
        return grid.permute(0, 4, 1, 2, 3)

    @staticmethod
    def _from_grid(grid: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = grid.shape
        return grid.permute(0, 2, 3, 4, 1).reshape(n * t, h * w, c)  # [N*T, h*w, B]
