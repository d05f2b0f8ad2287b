"""Synthetic "generators" of the embedded corpus: one family of generation artefacts each.

Every function takes the noise-free camera render of a shot (float32 [T, H, W, 3] in [0, 1], see
:mod:`benchmark.data.corpus_render`) and the video's random generator, and returns the frames to
encode.

Each video draws one artefact strength ``s`` uniformly in [0, 1], and every parameter of its family
moves from the subtle end (``s = 0``) to the crude end (``s = 1``) of the ranges in
:data:`STRENGTHS`, so a family mixes near-invisible and obvious videos, as real generators range
from crude to near-perfect. Each parameter also gets a little per-video jitter so that two videos of
the same strength still differ.
"""
from __future__ import annotations

import math
import zlib
from typing import Callable

import numpy as np

from benchmark.data.corpus_render import add_sensor_noise

Generator = Callable[[np.ndarray, np.random.Generator, float], np.ndarray]

# family -> parameter -> (value at strength 0 = subtle, value at strength 1 = crude)
STRENGTHS: dict[str, dict[str, tuple[float, float]]] = {
    "latent_ae": {"grid": (0.01, 0.15),        # rms gain of the decoder's 8x8 grid pattern
                  "factor": (3.0, 8.0),         # latent downsampling of the frame
                  "keep": (0.45, 0.0),          # share of lost detail the decoder reproduces
                  "cast": (0.005, 0.03),        # colour bias along the generator's own direction
                  "noise": (0.6, 0.1)},         # decoder texture, relative to a camera's noise
    "deconv_checkerboard": {"mismatch": (0.02, 0.3),  # gain difference of odd vs even taps
                            "noise": (0.7, 0.15)},
    "frame_interp": {"grid": (0.015, 0.2),     # rms gain of the 4x4 pattern of in-betweens only
                     "step": (2.0, 4.0),        # keyframe spacing in frames
                     "noise": (0.3, 0.02)},     # fresh noise added to the in-between frames
    "flicker": {"grid": (0.01, 0.15),          # mean rms gain of the per-frame 8x8 pattern
                "gain": (0.01, 0.06),           # sd of the per-frame brightness gain
                "tint": (0.005, 0.03),          # sd of the per-frame, per-channel tint
                "detail": (0.2, 0.8)},          # sd of the per-frame sharpen (+) / soften (-)
    "oversmooth": {"grid": (0.01, 0.15),       # rms gain of the upscaler's 4x4 pattern
                   "sigma_color": (0.06, 0.2),  # bilateral range sigma
                   "sigma_space": (1.5, 4.0),   # bilateral spatial sigma in pixels
                   "grain": (0.3, 0.05)},       # grain added back, relative to a camera's noise
    "temporal_warp": {"grid": (0.01, 0.15),    # rms gain of the decoder's 4x4 pattern
                      "amplitude": (0.7, 3.0),  # peak displacement in pixels
                      "omega": (0.5, 1.5)},     # wobble speed in radians per frame
}

# family -> (rows, columns) of the period of its fixed output pattern (see `fingerprint`)
GRID_PERIODS: dict[str, tuple[int, int]] = {
    "latent_ae": (8, 8), "frame_interp": (4, 4), "flicker": (8, 8), "oversmooth": (4, 4),
    "temporal_warp": (4, 4),
}


def fingerprint(family: str, height: int, width: int) -> np.ndarray:
    """The fixed output pattern of a generator, tiled over a frame: float32 [H, W, 3], zero mean
    and unit rms per channel.

    A generator is one network with fixed weights, so whatever its upsampling layers imprint (a
    periodic gain pattern at the upsampling factor) is the same in every video it makes; it is
    drawn once per family, independent of the corpus seed, as a trained model is fixed.
    """
    rows, cols = GRID_PERIODS[family]
    rng = np.random.default_rng([zlib.crc32(family.encode()), zlib.crc32(b"fingerprint")])
    tile = rng.normal(0.0, 1.0, (rows, cols, 3))
    tile -= tile.mean(axis=(0, 1))
    tile /= np.sqrt((tile ** 2).mean(axis=(0, 1))) + 1e-12
    reps = (-(-height // rows), -(-width // cols), 1)
    return np.tile(tile, reps)[:height, :width].astype(np.float32)


def _imprint(frames: np.ndarray, family: str, gain: float | np.ndarray) -> np.ndarray:
    """Multiplies frames [T, H, W, 3] by ``1 + gain * fingerprint`` (``gain`` scalar or [T])."""
    pattern = fingerprint(family, *frames.shape[1:3])  # [H, W, 3]
    gain = np.asarray(gain, np.float32).reshape(-1, 1, 1, 1)
    return (frames * (1.0 + gain * pattern)).astype(np.float32)


def strength(rng: np.random.Generator) -> float:
    """A video's artefact strength in [0, 1]: 0 is the subtlest end of its family, 1 the crudest."""
    return float(rng.uniform())


def params(family: str, s: float, rng: np.random.Generator,
           table: dict[str, dict[str, tuple[float, float]]] | None = None) -> dict[str, float]:
    """Every parameter of ``family`` at strength ``s``, each with +-10 % per-video jitter; ranges
    from ``table`` (default `STRENGTHS`; vbench-mini-footage passes its own families')."""
    ranges = (STRENGTHS if table is None else table)[family]
    return {name: float((subtle + s * (crude - subtle)) * rng.uniform(0.9, 1.1))
            for name, (subtle, crude) in ranges.items()}


def real_camera(clean: np.ndarray, rng: np.random.Generator, s: float = 0.0) -> np.ndarray:
    """A real clip: the render plus sensor noise, nothing else."""
    return add_sensor_noise(clean, rng)


def noise_range(level: float) -> tuple[float, float]:
    """A noise-level range around ``level`` for :func:`add_sensor_noise`."""
    return level * 0.7, level * 1.4


def down_up(frames: np.ndarray, factor: float, interpolation: int) -> np.ndarray:
    """Frames ``[T, H, W, 3]`` as a model working at 1/``factor`` of their size renders them: each
    area-shrunk (at least 2 pixels a side) and resized back with the given OpenCV interpolation."""
    import cv2

    height, width = frames.shape[1:3]
    small = (max(2, round(width / factor)), max(2, round(height / factor)))
    return np.stack([cv2.resize(cv2.resize(frame, small, interpolation=cv2.INTER_AREA),
                                (width, height), interpolation=interpolation) for frame in frames])


def latent_ae(clean: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Latent-autoencoder decode: detail lost at the latent resolution, the decoder's 8x8 grid and
    its colour bias."""
    import cv2

    p = params("latent_ae", s, rng)
    low = down_up(clean, p["factor"], cv2.INTER_CUBIC)
    out = low + p["keep"] * (clean - low)
    out = _imprint(out, "latent_ae", p["grid"]) + p["cast"] * _bias_direction("latent_ae")
    return add_sensor_noise(out, rng, level=noise_range(p["noise"]))


def deconv_checkerboard(clean: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Transposed-convolution upsampling: a stride-2 kernel of size 3 overlaps unevenly.

    Zero-insertion upsampling followed by a 3-tap kernel gives even output pixels one tap and odd
    ones two; when the taps do not sum to the same gain, a period-2 checkerboard appears. The
    kernel's shape (sign and skew per colour channel) is the generator's, the same in every video;
    the size of the mismatch is the video's strength.
    """
    import cv2

    p = params("deconv_checkerboard", s, rng)
    height, width = clean.shape[1:3]
    out = clean.copy()  # an odd last row/column keeps the render
    shape = np.random.default_rng([zlib.crc32(b"deconv_checkerboard"), zlib.crc32(b"kernel")])
    # one sign for all channels: the pattern lives in luma, which yuv420p keeps at full resolution
    mismatch = p["mismatch"] * shape.uniform(0.6, 1.0, 3) * shape.choice([-1.0, 1.0])
    skew = shape.uniform(-0.1, 0.1, size=3)
    kernels = [np.array([(1 + m) / 2 + k, 1.0, (1 + m) / 2 - k], np.float32) / (1 + m / 2)
               for m, k in zip(mismatch, skew)]
    for t, frame in enumerate(clean):
        small = cv2.resize(frame, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        sparse = np.zeros((height // 2 * 2, width // 2 * 2, 3), np.float32)
        sparse[::2, ::2] = small
        for c, kernel in enumerate(kernels):
            channel = cv2.sepFilter2D(sparse[..., c], -1, kernel, kernel,
                                      borderType=cv2.BORDER_REFLECT_101)
            out[t, : sparse.shape[0], : sparse.shape[1], c] = channel
    return add_sensor_noise(out, rng, level=noise_range(p["noise"]))


def frame_interp(clean: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Keyframes every k frames; the frames between cross-fade their neighbours (ghosting) and,
    synthesised by the interpolation network, carry its 4x4 upsampling pattern."""
    p = params("frame_interp", s, rng)
    step = int(round(p["step"]))
    noisy = add_sensor_noise(clean, rng)
    frames = len(clean)
    keys = list(range(int(rng.integers(step)), frames, step))
    keys = sorted({0, *keys, frames - 1})
    out = noisy.copy()
    between = np.zeros(frames, np.float32)
    for first, last in zip(keys[:-1], keys[1:]):
        for t in range(first + 1, last):
            weight = (t - first) / (last - first)
            out[t] = (1 - weight) * noisy[first] + weight * noisy[last]
            between[t] = 1.0
    out = _imprint(out, "frame_interp", p["grid"] * between)
    # Blending averages the keyframes' noise away; interpolators add some of their own back.
    return add_sensor_noise(out, rng, level=noise_range(p["noise"]))


def flicker(clean: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Frame-by-frame generation without temporal coupling: brightness, tint and texture jitter,
    and the per-frame image model's 8x8 decoder grid, as strong in one frame as in the next only
    by chance."""
    import cv2

    p = params("flicker", s, rng)
    frames = len(clean)
    gain = 1.0 + rng.normal(0.0, p["gain"], frames)
    tint = 1.0 + rng.normal(0.0, p["tint"], (frames, 3))
    detail = rng.normal(0.0, p["detail"], frames)  # per-frame sharpen (+) / soften (-)
    out = np.empty_like(clean)
    for t, frame in enumerate(clean):
        blur = cv2.GaussianBlur(frame, (0, 0), 1.0)
        out[t] = (frame + detail[t] * (frame - blur)) * (gain[t] * tint[t])
    out = _imprint(out, "flicker", p["grid"] * rng.uniform(0.3, 1.7, frames))
    return add_sensor_noise(out, rng)


def oversmooth(clean: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """An over-eager denoiser and 4x upscaler: sensor texture wiped (the waxy look), the upscaler's
    4x4 pixel pattern left."""
    import cv2

    p = params("oversmooth", s, rng)
    noisy = add_sensor_noise(clean, rng)
    out = np.stack([cv2.bilateralFilter(frame, -1, p["sigma_color"], p["sigma_space"])
                    for frame in noisy])
    out = _imprint(out, "oversmooth", p["grid"])
    return add_sensor_noise(out, rng, level=noise_range(p["grain"]))


def temporal_warp(clean: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """A smooth elastic deformation that wobbles over time (non-rigid temporal inconsistency) of
    the latent; the decoder that renders each frame leaves its 4x4 grid, fixed in the frame."""
    import cv2

    p = params("temporal_warp", s, rng)
    frames, height, width = clean.shape[:3]
    phase = rng.uniform(0, 2 * np.pi)
    fields = _smooth_fields(rng, 2, height, width)  # [2, 2, H, W]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty_like(clean)
    for t, frame in enumerate(clean):
        a, b = np.cos(p["omega"] * t + phase), np.sin(p["omega"] * t + phase)
        shift = (p["amplitude"] * (a * fields[0] + b * fields[1])).astype(np.float32)  # [2, H, W]
        out[t] = cv2.remap(frame, xs + shift[0], ys + shift[1], cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_REFLECT_101)
    out = _imprint(out, "temporal_warp", p["grid"])
    return add_sensor_noise(out, rng)


def _bias_direction(family: str) -> np.ndarray:
    """A generator's fixed colour bias: a unit RGB direction, drawn once per family."""
    rng = np.random.default_rng([zlib.crc32(family.encode()), zlib.crc32(b"bias")])
    direction = rng.normal(0.0, 1.0, 3)
    return (direction / np.linalg.norm(direction)).astype(np.float32)


def _smooth_fields(rng: np.random.Generator, count: int, height: int, width: int) -> np.ndarray:
    """``count`` random low-frequency 2-D displacement fields [count, 2, H, W], peak about 1."""
    import cv2

    grid = int(rng.integers(4, 8))  # control points per side: 9-21 px apart at 64 px
    coarse = rng.normal(0.0, 1.0, (count, 2, grid, grid)).astype(np.float32)
    fields = np.stack([[cv2.resize(c, (width, height), interpolation=cv2.INTER_CUBIC) for c in pair]
                       for pair in coarse])
    return fields / max(float(np.abs(fields).max()), 1e-6)


GENERATOR_FUNCTIONS: dict[str, Generator] = {
    "latent_ae": latent_ae,
    "deconv_checkerboard": deconv_checkerboard,
    "frame_interp": frame_interp,
    "flicker": flicker,
    "oversmooth": oversmooth,
    "temporal_warp": temporal_warp,
}
