"""Image and video quality measures in torch (differentiable, batched).

`psnr` and `ssim` agree with scikit-image's ``peak_signal_noise_ratio`` and
``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=1, channel_axis=...)`` (tested): SSIM is averaged over the pixels whose 11x11 Gaussian
window lies inside the image, then over the channels, as scikit-image does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

SSIM_SIGMA = 1.5
SSIM_RADIUS = 5          # scikit-image: int(truncate * sigma + 0.5) with truncate 3.5
SSIM_K = (0.01, 0.03)


def _check_pair(a: torch.Tensor, b: torch.Tensor, name: str) -> None:
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"{name}: expected two [N, C, H, W] tensors of one shape, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, ``[N, C, H, W]`` × 2 → ``[N]`` dB (inf if equal)."""
    _check_pair(a, b, "psnr")
    mse = (a.double() - b.double()).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(data_range ** 2 / mse)).float()


def _gaussian_window(channels: int, dtype, device) -> torch.Tensor:
    x = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=dtype, device=device)
    g = torch.exp(-x ** 2 / (2 * SSIM_SIGMA ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, -1, -1).contiguous()  # [C, 1, 11, 11]


def ssim_map(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """SSIM per pixel and channel over the valid region, ``[N, C, H - 10, W - 10]``."""
    _check_pair(a, b, "ssim")
    if min(a.shape[2:]) < 2 * SSIM_RADIUS + 1:
        raise ValueError(f"ssim: images of {a.shape[2]}x{a.shape[3]} are below the "
                         f"{2 * SSIM_RADIUS + 1}x{2 * SSIM_RADIUS + 1} window")
    c = a.shape[1]
    window = _gaussian_window(c, a.dtype, a.device)

    def blur(x):
        return F.conv2d(x, window, groups=c)  # valid: only windows inside the image

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (SSIM_K[0] * data_range) ** 2, (SSIM_K[1] * data_range) ** 2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean structural similarity per image, ``[N, C, H, W]`` × 2 → ``[N]``."""
    return ssim_map(a, b, data_range).flatten(1).mean(1)


def _frames(video: torch.Tensor) -> torch.Tensor:
    """``[N, 3, T, H, W]`` → ``[N * T, 3, H, W]``."""
    n, c, t, h, w = video.shape
    return video.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)


def video_departure(a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
    """How far video ``b`` departs from video ``a``, per video, from per-frame PSNR and SSIM.

    Args:
        a, b: float ``[N, 3, T, H, W]`` in [0, 1].

    Returns:
        ``psnr`` and ``ssim`` (mean over frames) and ``frame_mae`` (mean absolute difference), each
        ``[N]``.
    """
    if a.shape != b.shape or a.ndim != 5:
        raise ValueError(f"video_departure: expected two [N, 3, T, H, W] tensors of one shape, "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")
    n, t = a.shape[0], a.shape[2]
    fa, fb = _frames(a), _frames(b)
    return {"psnr": psnr(fa, fb).clamp_max(100).view(n, t).mean(1),
            "ssim": ssim(fa, fb).view(n, t).mean(1),
            "frame_mae": (a - b).abs().flatten(1).mean(1)}


def temporal_consistency(video: torch.Tensor) -> torch.Tensor:
    """Mean SSIM between consecutive frames, ``[N, 3, T, H, W]`` → ``[N]`` (1 = a still)."""
    if video.ndim != 5 or video.shape[2] < 2:
        raise ValueError(f"temporal_consistency: expected [N, 3, T>=2, H, W], got {tuple(video.shape)}")
    n, t = video.shape[0], video.shape[2]
    first = _frames(video[:, :, :-1])
    second = _frames(video[:, :, 1:])
    return ssim(first, second).view(n, t - 1).mean(1)
