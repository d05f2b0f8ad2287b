"""Synthetic "generators" of the embedded corpus: one family of generation artefacts each.

Every function takes the noise-free camera render of a shot (float32 [T, H, W, 3] in [0, 1], see
:mod:`benchmark.data.corpus_render`) and the video's random generator, and returns the frames to
encode. Strengths are drawn per video, so each family spans easy and hard examples.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from benchmark.data.corpus_render import add_sensor_noise

Generator = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def real_camera(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A real clip: the render plus sensor noise, nothing else."""
    return add_sensor_noise(clean, rng)


def latent_ae(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Latent-autoencoder reconstruction: detail lost at the latent resolution, a colour cast."""
    import cv2

    factor = rng.uniform(3.0, 6.0)  # latent downsampling
    keep = rng.uniform(0.15, 0.45)  # share of fine detail the decoder still reproduces
    height, width = clean.shape[1:3]
    latent = (max(2, round(width / factor)), max(2, round(height / factor)))
    out = np.empty_like(clean)
    for t, frame in enumerate(clean):
        small = cv2.resize(frame, latent, interpolation=cv2.INTER_AREA)
        low = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        out[t] = low + keep * (frame - low)
    out = _colour_cast(out, rng, offset=0.015, saturation=0.08)
    return add_sensor_noise(out, rng, level=(0.15, 0.6))  # decoder texture, weaker than a sensor's


def deconv_checkerboard(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Transposed-convolution upsampling: a stride-2 kernel of size 3 overlaps unevenly.

    Zero-insertion upsampling followed by a 3-tap kernel gives even output pixels one tap and odd
    ones two; when the taps do not sum to the same gain, a period-2 checkerboard appears.
    """
    import cv2

    height, width = clean.shape[1:3]
    out = clean.copy()  # an odd last row/column keeps the render
    mismatch = rng.uniform(0.03, 0.10) * rng.choice([-1.0, 1.0], size=3)  # per colour channel
    skew = rng.uniform(-0.1, 0.1, size=3)
    kernels = [np.array([(1 + m) / 2 + s, 1.0, (1 + m) / 2 - s], np.float32) / (1 + m / 2)
               for m, s in zip(mismatch, skew)]
    for t, frame in enumerate(clean):
        small = cv2.resize(frame, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        sparse = np.zeros((height // 2 * 2, width // 2 * 2, 3), np.float32)
        sparse[::2, ::2] = small
        for c, kernel in enumerate(kernels):
            channel = cv2.sepFilter2D(sparse[..., c], -1, kernel, kernel,
                                      borderType=cv2.BORDER_REFLECT_101)
            out[t, : sparse.shape[0], : sparse.shape[1], c] = channel
    return add_sensor_noise(out, rng, level=(0.15, 0.7))


def frame_interp(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keyframes every k frames; the frames between cross-fade their neighbours (ghosting)."""
    step = int(rng.integers(2, 5))
    noisy = add_sensor_noise(clean, rng)
    frames = len(clean)
    keys = list(range(int(rng.integers(step)), frames, step))
    keys = sorted({0, *keys, frames - 1})
    out = noisy.copy()
    for first, last in zip(keys[:-1], keys[1:]):
        for t in range(first + 1, last):
            weight = (t - first) / (last - first)
            out[t] = (1 - weight) * noisy[first] + weight * noisy[last]
    # Blending averages the keyframes' noise away; interpolators add some of their own back.
    return add_sensor_noise(out, rng, level=(0.05, 0.3))


def flicker(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Frame-by-frame generation without temporal coupling: brightness, tint and texture jitter."""
    import cv2

    frames = len(clean)
    gain = 1.0 + rng.normal(0.0, rng.uniform(0.01, 0.04), frames)
    tint = 1.0 + rng.normal(0.0, rng.uniform(0.005, 0.02), (frames, 3))
    detail = rng.normal(0.0, rng.uniform(0.2, 0.7), frames)  # per-frame sharpen (+) / soften (-)
    out = np.empty_like(clean)
    for t, frame in enumerate(clean):
        blur = cv2.GaussianBlur(frame, (0, 0), 1.0)
        out[t] = (frame + detail[t] * (frame - blur)) * (gain[t] * tint[t])
    return add_sensor_noise(out, rng)


def oversmooth(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An over-eager denoiser: edge-preserving smoothing wipes sensor texture (the waxy look)."""
    import cv2

    noisy = add_sensor_noise(clean, rng)
    sigma_color, sigma_space = rng.uniform(0.08, 0.2), rng.uniform(2.0, 5.0)
    out = np.stack([cv2.bilateralFilter(frame, -1, sigma_color, sigma_space) for frame in noisy])
    return add_sensor_noise(out, rng, level=(0.02, 0.2))


def temporal_warp(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A smooth elastic deformation that wobbles over time (non-rigid temporal inconsistency)."""
    import cv2

    frames, height, width = clean.shape[:3]
    amplitude = rng.uniform(1.0, 3.0)  # peak displacement in pixels
    omega, phase = rng.uniform(0.5, 1.5), rng.uniform(0, 2 * np.pi)
    fields = _smooth_fields(rng, 2, height, width)  # [2, 2, H, W]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty_like(clean)
    for t, frame in enumerate(clean):
        a, b = np.cos(omega * t + phase), np.sin(omega * t + phase)
        shift = (amplitude * (a * fields[0] + b * fields[1])).astype(np.float32)  # [2, H, W]
        out[t] = cv2.remap(frame, xs + shift[0], ys + shift[1], cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_REFLECT_101)
    return add_sensor_noise(out, rng)


def _smooth_fields(rng: np.random.Generator, count: int, height: int, width: int) -> np.ndarray:
    """``count`` random low-frequency 2-D displacement fields [count, 2, H, W], peak about 1."""
    import cv2

    grid = int(rng.integers(5, 10))  # control points per side: 14-28 px apart at 112 px
    coarse = rng.normal(0.0, 1.0, (count, 2, grid, grid)).astype(np.float32)
    fields = np.stack([[cv2.resize(c, (width, height), interpolation=cv2.INTER_CUBIC) for c in pair]
                       for pair in coarse])
    return fields / max(float(np.abs(fields).max()), 1e-6)


def _colour_cast(frames: np.ndarray, rng: np.random.Generator, offset: float,
                 saturation: float) -> np.ndarray:
    """A constant per-channel offset and saturation change, as a lossy colour latent gives."""
    shift = rng.normal(0.0, offset, 3).astype(np.float32)
    gray = frames.mean(axis=3, keepdims=True)
    scale = 1.0 + rng.uniform(-saturation, saturation)
    return (gray + scale * (frames - gray) + shift).astype(np.float32)


GENERATOR_FUNCTIONS: dict[str, Generator] = {
    "latent_ae": latent_ae,
    "deconv_checkerboard": deconv_checkerboard,
    "frame_interp": frame_interp,
    "flicker": flicker,
    "oversmooth": oversmooth,
    "temporal_warp": temporal_warp,
}
