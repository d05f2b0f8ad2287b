"""Per-frame pixel degradations: the DeeperForensics-1.0 distortions and common image edits.

All take and return uint8 RGB ``[T, H, W, 3]``; float work is done one frame at a time so a 480p,
64-frame video never needs a float copy of the whole video. Results are rounded and clipped to
[0, 255] (DeeperForensics truncates with ``astype(uint8)`` and does not clip; see
docs/PERTURBATIONS.md for that and the other differences).

DeeperForensics-1.0: Jiang, Li, Wu, Qian, Loy, "DeeperForensics-1.0: A Large-Scale Dataset for
Real-World Face Forgery Detection", CVPR 2020, and the ``perturbation/`` code of
github.com/EndlessSora/DeeperForensics-1.0 (MIT). The code here is written from its description.
"""
from __future__ import annotations

import numpy as np

from benchmark.perturb.errors import PerturbationError
from benchmark.perturb.functions import frame_function

# ITU-R BT.601 luma weights (full range), the Y of OpenCV's and JPEG's YCbCr.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
# d(R, G, B) per unit of Cb and of Cr in full-range BT.601 YCbCr (the inverse of JPEG's matrix).
CR_TO_R, CB_TO_G, CR_TO_G, CB_TO_B = 1.402, -0.344136, -0.714136, 1.772


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Rounded and clipped to uint8 (in two in-place passes: this runs on every pixel)."""
    out = np.clip(image, 0, 255)
    np.rint(out, out=out)
    return out.astype(np.uint8)


def _per_frame(frames: np.ndarray, fn) -> np.ndarray:
    """Applies ``fn(frame [H, W, 3]) -> frame`` to every frame into a new uint8 array."""
    out = np.empty_like(frames)
    for i, frame in enumerate(frames):
        out[i] = fn(frame)
    return out


def _lut(frames: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Maps every uint8 value through a 256-entry table (OpenCV's LUT: ~10x numpy indexing)."""
    import cv2

    t, h, w, _ = frames.shape
    flat = np.ascontiguousarray(frames).reshape(t * h, w, 3)  # LUT takes 2-D images only
    return cv2.LUT(flat, table).reshape(frames.shape)


@frame_function(bounds={"factor": (0.0, None)})
def color_saturation(frames: np.ndarray, rng: np.random.Generator, factor: float) -> np.ndarray:
    """Scales the chroma (Cb, Cr) of BT.601 YCbCr by ``factor`` (0 = greyscale, 1 = unchanged).

    Scaling chroma about neutral with luma fixed is the same as ``Y + factor * (RGB - Y)``, one
    3x3 colour matrix, applied with OpenCV (rounded, saturated). DeeperForensics CS levels: factor
    0.4, 0.3, 0.2, 0.1, 0.0.
    """
    import cv2

    matrix = (factor * np.eye(3) + (1.0 - factor) * np.tile(LUMA, (3, 1))).astype(np.float32)
    return _per_frame(frames, lambda f: cv2.transform(f, matrix))


@frame_function(bounds={"factor": (0.0, None)})
def color_contrast(frames: np.ndarray, rng: np.random.Generator, factor: float) -> np.ndarray:
    """Multiplies every RGB value by ``factor`` (DeeperForensics CC: 0.85 ... 0.35).

    Despite its name the published distortion is a gain towards black, not a stretch about the mean.
    """
    return _lut(frames, _to_uint8(np.arange(256, dtype=np.float32) * factor))


@frame_function(random=True, bounds={"blocks": (0, None), "block_size": (1, None),
                                     "fill": (0, 255), "per_side": (1, None)})
def block_occlusion(frames: np.ndarray, rng: np.random.Generator, blocks: int, block_size: int = 8,
                    fill: int = 128, per_side: int = 256) -> np.ndarray:
    """Grey squares at random places, new places in every frame (DeeperForensics BW).

    DeeperForensics draws ``(min(H, W) // 256) * blocks`` squares of 8x8 with value 128 per frame
    (levels: blocks 16, 32, 48, 64, 80). That count is 0 for frames under 256 pixels, so here the
    multiplier is at least 1: a 112x112 clip gets ``blocks`` squares (declared in the YAML as
    ``per_side``; documented in docs/PERTURBATIONS.md).
    """
    t, h, w, _ = frames.shape
    if h <= block_size or w <= block_size:
        raise PerturbationError("block_occlusion", f"a {block_size}px block does not fit in "
                                f"{w}x{h} frames")
    count = max(1, min(h, w) // per_side) * int(blocks)
    out = frames.copy()
    tops = rng.integers(0, h - block_size, size=(t, count))  # [T, N], like randint(0, h-1-size)
    lefts = rng.integers(0, w - block_size, size=(t, count))
    for i in range(t):
        for top, left in zip(tops[i], lefts[i]):
            out[i, top: top + block_size, left: left + block_size] = fill
    return out


@frame_function(random=True, bounds={"variance": (0.0, None)})
def gaussian_noise_ycbcr(frames: np.ndarray, rng: np.random.Generator,
                         variance: float) -> np.ndarray:
    """White Gaussian noise on Y, Cb and Cr (DeeperForensics GNC: variance 0.001 ... 0.05).

    ``variance`` is in DeeperForensics' units: YCbCr scaled to [0, 1] over the studio ranges, one
    unit = 219 luma / 224 chroma levels of 8-bit full-range YCbCr. So the noise std is
    ``255 * sqrt(variance) * 255 / 219`` levels on Y and ``... * 255 / 224`` on Cb and Cr, added in
    full-range BT.601 and mapped back to RGB linearly.
    """
    std_y = np.float32(255.0 * np.sqrt(variance) * 255.0 / 219.0)
    std_c = np.float32(255.0 * np.sqrt(variance) * 255.0 / 224.0)

    def one(frame: np.ndarray) -> np.ndarray:
        h, w, _ = frame.shape
        noise = rng.standard_normal((3, h, w), dtype=np.float32)  # Y, Cb, Cr
        noise[0] *= std_y
        noise[1:] *= std_c
        out = frame.astype(np.float32)
        out[..., 0] += noise[0] + CR_TO_R * noise[2]
        out[..., 1] += noise[0] + CB_TO_G * noise[1] + CR_TO_G * noise[2]
        out[..., 2] += noise[0] + CB_TO_B * noise[1]
        return _to_uint8(out)

    return _per_frame(frames, one)


@frame_function(bounds={"kernel": (1, None), "sigma": (0.0, None)})
def gaussian_blur(frames: np.ndarray, rng: np.random.Generator, kernel: int,
                  sigma: float | None = None) -> np.ndarray:
    """OpenCV Gaussian blur with a ``kernel`` x ``kernel`` window (odd), sigma = kernel / 6 unless
    given (DeeperForensics GB: kernel 7, 9, 13, 17, 21)."""
    import cv2

    if int(kernel) % 2 == 0:
        raise PerturbationError("gaussian_blur", f"kernel must be odd, got {kernel}")
    sigma = kernel / 6.0 if sigma is None else sigma
    return _per_frame(frames, lambda f: cv2.GaussianBlur(f, (int(kernel), int(kernel)), sigma))


@frame_function(bounds={"factor": (1, None)})
def pixelate(frames: np.ndarray, rng: np.random.Generator, factor: int) -> np.ndarray:
    """Bilinear downscale by an integer ``factor`` and back up (DeeperForensics "JPEG compression",
    which is this pixelation, not a JPEG codec: factor 2, 3, 4, 5, 6)."""
    import cv2

    _, h, w, _ = frames.shape
    small = (w // int(factor), h // int(factor))
    if min(small) < 1:
        raise PerturbationError("pixelate", f"factor {factor} leaves no pixel of {w}x{h} frames")
    return _per_frame(frames, lambda f: cv2.resize(cv2.resize(f, small), (w, h)))


@frame_function(bounds={"quality": (0, 100)})
def jpeg(frames: np.ndarray, rng: np.random.Generator, quality: int) -> np.ndarray:
    """Each frame through a real JPEG encoder (OpenCV/libjpeg, 4:2:0) at ``quality`` and back."""
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]

    def one(frame: np.ndarray) -> np.ndarray:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise PerturbationError("jpeg", f"OpenCV could not encode a {frame.shape} frame")
        return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    return _per_frame(frames, one)


@frame_function(bounds={"gamma": (0.01, 100.0)})
def gamma(frames: np.ndarray, rng: np.random.Generator, gamma: float) -> np.ndarray:
    """``255 * (x / 255) ** gamma`` per value (gamma > 1 darkens mid-tones, < 1 lifts them)."""
    return _lut(frames, _to_uint8(255.0 * (np.arange(256, dtype=np.float64) / 255.0) ** gamma))


@frame_function(bounds={"amount": (0.0, None), "sigma": (0.01, None)})
def sharpen(frames: np.ndarray, rng: np.random.Generator, amount: float,
            sigma: float = 1.0) -> np.ndarray:
    """Unsharp mask: ``x + amount * (x - GaussianBlur(x, sigma))``, as phone cameras and editors
    sharpen."""
    import cv2

    def one(frame: np.ndarray) -> np.ndarray:
        image = frame.astype(np.float32)
        blurred = cv2.GaussianBlur(image, (0, 0), sigma)
        return _to_uint8(image + amount * (image - blurred))

    return _per_frame(frames, one)
