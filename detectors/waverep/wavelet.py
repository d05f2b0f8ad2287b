"""WaveRep's forensic-oriented augmentation: wavelet band replacement (upstream
``augmentation/pytorch_wt.py``, ``waverep_d2``).

Upstream decomposes a real frame and a generated frame with a separable Haar transform, ``L``
levels along the rows, then ``L`` levels along the columns of every row band (a tensor-product
grid of ``(L+1) x (L+1)`` bands, ``[A_L, D_L, ..., D_1]`` per axis), and in the generated frame
replaces, each with probability ``p``:

1. the coarsest approximation band ``(A_L, A_L)`` by the real frame's;
2. the bands that are low-pass along one axis and high-pass along the other, ``(A_L, D_l)`` and
   ``(D_l, A_L)`` for every level ``l``, by the real frame's;

then inverts the transform. The generated frame keeps its label, so only its high-high bands
still tell it apart. The Haar transform is orthonormal, so band replacement is a masked mix of
the two frames' coefficient grids, ``W_h^T (M * C_real + (1 - M) * C_fake) W_w``; the analysis
matrices ``W`` are built here from the two Haar filters.
"""
from __future__ import annotations

import math

import torch

SQRT_HALF = 1 / math.sqrt(2.0)


def haar_matrix(n: int, levels: int) -> torch.Tensor:
    """Orthonormal ``levels``-level Haar analysis ``[n, n]``: rows ``[A_L, D_L, ..., D_1]``.

    Filters as pywt's ``haar`` applied by upstream's strided convolution: approximation
    ``(x[2i] + x[2i+1]) / sqrt 2``, detail ``(x[2i+1] - x[2i]) / sqrt 2``.

    Raises:
        ValueError: ``n`` not divisible by ``2 ** levels``.
    """
    if levels < 1 or n % (2 ** levels):
        raise ValueError(f"haar_matrix: a side of {n} cannot be split into {levels} Haar levels "
                         f"(it must be a multiple of {2 ** levels})")
    low, details = torch.eye(n, dtype=torch.float64), []
    for _ in range(levels):
        even, odd = low[0::2], low[1::2]
        details.insert(0, (odd - even) * SQRT_HALF)  # D_l
        low = (even + odd) * SQRT_HALF  # A_l
    return torch.cat([low, *details])  # [n, n]


def band_masks(h: int, w: int, levels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks ``[h, w]`` over the coefficient grid: the approximation band, and the low/high mixed
    bands (replacements 1 and 2 of the module docstring)."""
    ah, aw = h >> levels, w >> levels  # size of A_L along each axis
    approx = torch.zeros(h, w)
    approx[:ah, :aw] = 1
    mixed = torch.zeros(h, w)
    mixed[:ah, aw:] = 1
    mixed[ah:, :aw] = 1
    return approx, mixed


def replace_bands(fake: torch.Tensor, real: torch.Tensor, mask: torch.Tensor, levels: int
                  ) -> torch.Tensor:
    """Frames ``[..., H, W]`` of ``fake`` with the coefficients under ``mask`` ``[H, W]`` taken
    from ``real`` (same shape); float64 internally."""
    h, w = fake.shape[-2:]
    wh, ww = haar_matrix(h, levels), haar_matrix(w, levels)
    c_fake = wh @ fake.double() @ ww.T  # [..., H, W] coefficients
    c_real = wh @ real.double() @ ww.T
    m = mask.double()
    return wh.T @ (m * c_real + (1 - m) * c_fake) @ ww


def wave_replace(clips: torch.Tensor, labels: torch.Tensor, p: float, levels: int,
                 generator: torch.Generator) -> torch.Tensor:
    """The augmentation on a training batch: each generated clip is paired with a real clip of
    the batch (drawn at random) and gets replacements 1 and 2, each with probability ``p`` (one
    draw per clip for all its frames, frame ``t`` taking real frame ``t``'s bands).

    Args:
        clips: uint8 ``[N, 3, T, H, W]``.
        labels: ``[N]``, 0 real, 1 generated.
        p: probability of each replacement (upstream's example: 0.1).
        levels: Haar levels (upstream's example: 3).
        generator: CPU generator; the only source of randomness.

    Returns:
        uint8 clips ``[N, 3, T, H, W]`` (rounded), labels unchanged.
    """
    reals = torch.nonzero(labels == 0).flatten()
    fakes = torch.nonzero(labels != 0).flatten()
    if p <= 0 or not len(reals) or not len(fakes):
        return clips
    approx, mixed = band_masks(clips.shape[-2], clips.shape[-1], levels)
    out = clips.clone()
    for i in fakes.tolist():
        draws = torch.rand(2, generator=generator) < p  # [replace approx, replace mixed]
        partner = int(reals[torch.randint(len(reals), (1,), generator=generator)])
        mask = approx * draws[0] + mixed * draws[1]
        if mask.any():
            mixed_clip = replace_bands(clips[i].float(), clips[partner].float(), mask, levels)
            out[i] = mixed_clip.round().clamp(0, 255).to(torch.uint8)
    return out
