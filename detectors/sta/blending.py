"""Video-level Blending (VB): turning real clips into "facial feature drift" fakes for training.

The paper blends every frame of a real clip with a warped copy of itself so that facial features
drift slightly from frame to frame, as they do in face-swapped videos. Its exact warp is not
published; this module is our own design (see ``detectors/sta/README.md``):

1. A smooth displacement field: a coarse ``grid × grid`` lattice of random 2-D offsets, upsampled
   bicubically to the frame size, so the warp is low-frequency (no tearing, no blockiness).
2. A soft elliptical region near the centre of the frame (where an aligned face sits), 1 inside,
   falling smoothly to exactly 0 at its border: pixels outside it are never touched.
3. Drift: the lattice offsets, the ellipse and the blend strength are drawn twice, for the first and
   the last frame, and interpolated with a smoothstep in between, so the warped features move slowly
   and steadily across the clip instead of jittering.
4. Blend: ``frame + alpha * mask * (warped - frame)``, rounded back to ``uint8``.

Each selected clip is relabelled as fake (1). All randomness comes from the caller's
``torch.Generator``, so a seeded generator reproduces the batch exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

FAKE = 1
REAL = 0


@dataclass(frozen=True)
class DriftRanges:
    """Ranges of the random blend parameters (fractions of the frame size unless stated).

    Attributes:
        grid: control points per side of the displacement lattice.
        amplitude: (min, max) std of the offsets, as a fraction of the frame side.
        centre_jitter: max shift of the ellipse centre from the frame centre.
        radius: (min, max) ellipse semi-axes.
        softness: width of the mask's fall-off, as a fraction of the radius.
        alpha: (min, max) blend strength inside the ellipse.
    """

    grid: int = 4
    amplitude: tuple[float, float] = (0.01, 0.03)
    centre_jitter: float = 0.06
    radius: tuple[float, float] = (0.25, 0.38)
    softness: float = 0.3
    alpha: tuple[float, float] = (0.6, 1.0)


def apply_blending(clips: torch.Tensor, labels: torch.Tensor, p: float,
                   generator: torch.Generator, ranges: DriftRanges = DriftRanges()
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Converts each real clip of a batch into a VB fake with probability ``p``.

    Args:
        clips: ``uint8 [N, 3, T, H, W]`` training clips.
        labels: ``[N]`` labels, 0 real, 1 fake; fake clips are never changed.
        p: probability that a real clip is converted, in [0, 1].
        generator: CPU generator; the only source of randomness.
        ranges: parameter ranges of the warp and blend.

    Returns:
        New ``(clips, labels)``; converted clips are blended and labelled 1, the others are copies
        of the inputs.
    """
    _check_inputs(clips, labels, p)
    draw = torch.rand(len(clips), generator=generator)  # one draw per clip, even when p is 0 or 1
    chosen = (labels.cpu() == REAL) & (draw < p)
    out, new_labels = clips.clone(), labels.clone()
    for i in torch.nonzero(chosen).flatten().tolist():
        out[i] = drift_blend(clips[i], generator, ranges)
        new_labels[i] = FAKE
    return out, new_labels


def drift_blend(clip: torch.Tensor, generator: torch.Generator,
                ranges: DriftRanges = DriftRanges()) -> torch.Tensor:
    """Blends one clip ``uint8 [3, T, H, W]`` with its drifting warp; returns the same shape."""
    _, t, h, w = clip.shape
    frames = clip.transpose(0, 1).float()  # [T, 3, H, W]
    start, end = _draw_keyframe(generator, ranges), _draw_keyframe(generator, ranges)
    weight = _smoothstep(torch.linspace(0.0, 1.0, t))  # [T]
    mix = {k: _lerp(start[k], end[k], weight) for k in start}
    grid = _sampling_grid(mix["offsets"], h, w).to(clip.device)  # [T, H, W, 2]
    mask = _ellipse_mask(mix["centre"], mix["radius"], ranges.softness, h, w)  # [T, 1, H, W]
    strength = (mix["alpha"].view(t, 1, 1, 1) * mask).to(clip.device)
    warped = F.grid_sample(frames, grid, mode="bilinear", padding_mode="border", align_corners=True)
    blended = frames + strength * (warped - frames)
    return blended.round().clamp(0, 255).to(torch.uint8).transpose(0, 1)


def _draw_keyframe(generator: torch.Generator, r: DriftRanges) -> dict[str, torch.Tensor]:
    """One frame's parameters, in normalised coordinates ([-1, 1] spans the frame)."""
    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(shape, generator=generator)

    amplitude = uniform(*r.amplitude) * 2  # fraction of the side → normalised units
    return {
        "offsets": torch.randn((2, r.grid, r.grid), generator=generator) * amplitude,
        "centre": uniform(-r.centre_jitter, r.centre_jitter, 2) * 2,  # (x, y)
        "radius": uniform(*r.radius, 2) * 2,  # (x, y) semi-axes
        "alpha": uniform(*r.alpha),
    }


def _sampling_grid(offsets: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Per-frame lattice offsets ``[T, 2, g, g]`` → grid_sample grid ``[T, H, W, 2]`` (x, y)."""
    field = F.interpolate(offsets, size=(h, w), mode="bicubic", align_corners=True)  # [T, 2, H, W]
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    identity = torch.stack([xs, ys], dim=-1)  # [H, W, 2]
    return identity + field.permute(0, 2, 3, 1)


def _ellipse_mask(centre: torch.Tensor, radius: torch.Tensor, softness: float, h: int, w: int
                  ) -> torch.Tensor:
    """Soft ellipses ``[T, 1, H, W]``: 1 well inside, smooth fall-off, exactly 0 from the border."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    dx = (xs - centre[:, 0, None, None]) / radius[:, 0, None, None]  # [T, H, W]
    dy = (ys - centre[:, 1, None, None]) / radius[:, 1, None, None]
    edge = ((1 - torch.sqrt(dx ** 2 + dy ** 2)) / softness).clamp(0, 1)
    return _smoothstep(edge)[:, None]


def _smoothstep(x: torch.Tensor) -> torch.Tensor:
    return x * x * (3 - 2 * x)


def _lerp(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Interpolates ``a → b`` at each of ``weight [T]``; returns ``[T, *a.shape]``."""
    weight = weight.view(-1, *([1] * a.dim()))
    return a[None] + weight * (b - a)[None]


def _check_inputs(clips: torch.Tensor, labels: torch.Tensor, p: float) -> None:
    if clips.dtype != torch.uint8 or clips.dim() != 5 or clips.shape[1] != 3:
        raise ValueError(f"apply_blending: expected uint8 clips [N, 3, T, H, W], got "
                         f"{clips.dtype} {tuple(clips.shape)}")
    if labels.shape != (len(clips),):
        raise ValueError(f"apply_blending: expected labels [{len(clips)}], "
                         f"got {tuple(labels.shape)}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"apply_blending: p must be in [0, 1], got {p}")
