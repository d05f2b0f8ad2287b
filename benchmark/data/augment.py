"""Clip-consistent training augmentations: one draw of parameters per clip, applied to every frame.

A detector config lists them under ``train.augmentation`` (StA's ``paper`` config uses the
DeepfakeBench list its authors trained with); each step is ``{type: Name, p: ..., <params>}`` with
closed, typed parameters. The semantics follow albumentations' transforms of the same names (which
DeepfakeBench replays over the frames of a clip), re-implemented here on uint8 RGB frames with
OpenCV so that one parameter draw covers the whole clip:

- ``HorizontalFlip``; ``Rotate`` (angle in ``limit``, bilinear, reflected border);
- ``GaussianBlur`` (odd kernel in ``blur_limit``, sigma from the kernel size as OpenCV derives it);
- ``IsotropicResize`` (DeepfakeBench's: longest side to ``max_side``, area when shrinking, cubic
  when enlarging; the frames reaching it are already ``input.size`` square, so with
  ``max_side == input.size`` it keeps them as they are, as in DeepfakeBench, whose frames are
  stored at the training resolution);
- ``RandomBrightnessContrast`` (``x * (1 + c) + 255 * b``); ``FancyPCA`` (AlexNet colour PCA over
  the clip's pixels); ``HueSaturationValue`` (OpenCV HSV, hue on its 0-179 scale);
- ``ImageCompression`` (JPEG at one quality in [lower, upper] for every frame);
- ``OneOf`` (one of its transforms, chosen with probabilities proportional to their ``p``).
"""
from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benchmark.errors import ConfigError, VBenchError
from benchmark.registry import Registry

TRANSFORMS: Registry[type["Transform"]] = Registry("augmentation")
Pair = tuple[float, float]


class Transform(BaseModel):
    """One augmentation step: ``p`` = probability that it applies to a clip."""

    model_config = ConfigDict(extra="forbid", strict=True)
    p: float = Field(0.5, ge=0.0, le=1.0)

    def draw(self, rng: np.random.Generator) -> Any:
        """The parameters of one application (one draw per clip)."""
        return None

    def apply(self, frames: np.ndarray, params: Any) -> np.ndarray:
        """uint8 ``[F, H, W, 3]`` → uint8 ``[F, H', W', 3]`` with the drawn parameters."""
        raise NotImplementedError

    def __call__(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() >= self.p:
            return frames
        return self.apply(frames, self.draw(rng))


def _register(cls):
    TRANSFORMS.register(cls.__name__, cls, (cls.__doc__ or "").strip())
    return cls


def _each(frames: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.stack([fn(frame) for frame in frames])


def _sorted_pair(value: Pair) -> Pair:
    low, high = value
    if low > high:
        raise ValueError(f"range [{low}, {high}] has its bounds in the wrong order")
    return low, high


@_register
class HorizontalFlip(Transform):
    """Mirror left-right."""

    def apply(self, frames, params):
        return np.ascontiguousarray(frames[:, :, ::-1])


@_register
class Rotate(Transform):
    """Rotate by an angle (degrees) drawn from ``limit``."""

    limit: Pair = (-10.0, 10.0)

    def draw(self, rng):
        return float(rng.uniform(*_sorted_pair(self.limit)))

    def apply(self, frames, angle):
        import cv2

        h, w = frames.shape[1:3]
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
        return _each(frames, lambda f: cv2.warpAffine(f, matrix, (w, h), flags=cv2.INTER_LINEAR,
                                                      borderMode=cv2.BORDER_REFLECT_101))


@_register
class GaussianBlur(Transform):
    """Gaussian blur with an odd kernel size drawn from ``blur_limit``."""

    blur_limit: tuple[int, int] = (3, 7)

    def draw(self, rng):
        low, high = _sorted_pair(self.blur_limit)
        sizes = [k for k in range(int(low), int(high) + 1) if k % 2 == 1 and k >= 3]
        return int(rng.choice(sizes)) if sizes else 3

    def apply(self, frames, ksize):
        import cv2

        return _each(frames, lambda f: cv2.GaussianBlur(f, (ksize, ksize), 0))


@_register
class IsotropicResize(Transform):
    """Longest side to ``max_side`` keeping the aspect ratio (area down, cubic up)."""

    max_side: int = Field(224, ge=1)
    p: float = Field(1.0, ge=0.0, le=1.0)

    def apply(self, frames, params):
        import cv2

        h, w = frames.shape[1:3]
        if max(h, w) == self.max_side:
            return frames
        scale = self.max_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        return _each(frames, lambda f: cv2.resize(f, size, interpolation=interp))


@_register
class RandomBrightnessContrast(Transform):
    """``x * (1 + contrast) + 255 * brightness``, each drawn from its limit."""

    brightness_limit: Pair = (-0.2, 0.2)
    contrast_limit: Pair = (-0.2, 0.2)

    def draw(self, rng):
        return (float(rng.uniform(*_sorted_pair(self.brightness_limit))),
                float(rng.uniform(*_sorted_pair(self.contrast_limit))))

    def apply(self, frames, params):
        brightness, contrast = params
        out = frames.astype(np.float32) * (1.0 + contrast) + 255.0 * brightness
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@_register
class FancyPCA(Transform):
    """AlexNet's colour augmentation along the principal components of the clip's RGB values."""

    alpha: float = Field(0.1, ge=0.0)

    def draw(self, rng):
        return rng.normal(0.0, self.alpha, 3)

    def apply(self, frames, alphas):
        pixels = frames.reshape(-1, 3).astype(np.float64) / 255.0
        eigvals, eigvecs = np.linalg.eigh(np.cov(pixels - pixels.mean(axis=0), rowvar=False))
        delta = eigvecs @ (alphas * eigvals)  # [3]
        out = frames.astype(np.float64) / 255.0 + delta
        return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


@_register
class HueSaturationValue(Transform):
    """Shifts of hue (OpenCV's 0-179 scale), saturation and value (0-255), each drawn from ±limit."""

    hue_shift_limit: float = Field(20.0, ge=0.0)
    sat_shift_limit: float = Field(30.0, ge=0.0)
    val_shift_limit: float = Field(20.0, ge=0.0)

    def draw(self, rng):
        return [float(rng.uniform(-limit, limit)) for limit in
                (self.hue_shift_limit, self.sat_shift_limit, self.val_shift_limit)]

    def apply(self, frames, shifts):
        import cv2

        hue, sat, val = shifts
        values = np.arange(256, dtype=np.float32)
        lut_h = np.mod(values + hue, 180).astype(np.uint8)
        lut_s = np.clip(np.rint(values + sat), 0, 255).astype(np.uint8)
        lut_v = np.clip(np.rint(values + val), 0, 255).astype(np.uint8)

        def shift(frame):
            h, s, v = cv2.split(cv2.cvtColor(frame, cv2.COLOR_RGB2HSV))
            hsv = cv2.merge([cv2.LUT(h, lut_h), cv2.LUT(s, lut_s), cv2.LUT(v, lut_v)])
            return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)

        return _each(frames, shift)


@_register
class ImageCompression(Transform):
    """JPEG encode and decode every frame at one quality drawn from [lower, upper]."""

    quality_lower: int = Field(99, ge=1, le=100)
    quality_upper: int = Field(100, ge=1, le=100)

    def draw(self, rng):
        low, high = _sorted_pair((self.quality_lower, self.quality_upper))
        return int(rng.integers(low, high + 1))

    def apply(self, frames, quality):
        import cv2

        def jpeg(frame):
            ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                                    [int(cv2.IMWRITE_JPEG_QUALITY), quality])
            return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

        return _each(frames, jpeg)


@_register
class OneOf(Transform):
    """One of ``transforms``, chosen with probability proportional to each one's ``p``."""

    transforms: list[dict[str, Any]]

    def steps(self) -> list[Transform]:
        return [build_step(step, f"OneOf.transforms[{i}]") for i, step in enumerate(self.transforms)]

    def draw(self, rng):
        steps = self.steps()
        weights = np.array([step.p for step in steps], dtype=np.float64)
        if not steps or weights.sum() <= 0:
            return None
        chosen = steps[int(rng.choice(len(steps), p=weights / weights.sum()))]
        return chosen, chosen.draw(rng)

    def apply(self, frames, params):
        if params is None:
            return frames
        step, inner = params
        return step.apply(frames, inner)


def build_step(raw: Any, origin: str) -> Transform:
    """One ``{type: Name, ...}`` mapping → its `Transform`; errors name the step and the key."""
    if not isinstance(raw, dict) or "type" not in raw:
        raise ConfigError(f"{origin}: an augmentation step is a mapping with a 'type', got {raw!r}")
    try:
        cls = TRANSFORMS.get(str(raw["type"]))
    except ConfigError:
        raise
    except VBenchError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    try:
        # JSON mode: strict about types, but YAML lists may fill tuple fields
        step = cls.model_validate_json(json.dumps({k: v for k, v in raw.items() if k != "type"}))
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(map(str, error["loc"]))
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(cls.model_fields))
            raise ConfigError(f"{origin}: {raw['type']} has no parameter '{key}' (known: {known})") from None
        raise ConfigError(f"{origin}: {raw['type']}.{key}: {error['msg']}, got "
                          f"{error.get('input')!r}") from None
    try:  # one trial draw surfaces bad ranges now, not in the middle of training
        step.draw(np.random.default_rng(0))
    except ValueError as exc:
        raise ConfigError(f"{origin}: {raw['type']}: {exc}") from None
    return step


class Augmentation:
    """A list of steps applied in order to one clip's frames, each with its own probability.

    Args:
        steps: the ``train.augmentation`` list of a config.
        origin: where the list came from, named in errors.
    """

    def __init__(self, steps: list[dict[str, Any]], origin: str = "train.augmentation"):
        self.steps = [build_step(step, f"{origin}[{i}]") for i, step in enumerate(steps)]

    def __bool__(self) -> bool:
        return bool(self.steps)

    def __call__(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """uint8 ``[F, H, W, 3]`` frames of one clip → augmented frames (one draw per step)."""
        for step in self.steps:
            frames = step(frames, rng)
        return frames


def build_augmentation(steps: list[dict[str, Any]] | None, origin: str = "train.augmentation"
                       ) -> Augmentation | None:
    """`Augmentation` for a non-empty list, else None; validates every step."""
    if not steps:
        return None
    if not isinstance(steps, list):
        raise ConfigError(f"{origin}: expected a list of steps, got {type(steps).__name__}")
    return Augmentation(steps, origin)
