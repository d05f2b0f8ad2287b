"""What a detector needs from the data: frames, sampling, size, normalisation, face crops."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from benchmark.data.presets import PRESETS
from benchmark.data.sampling import ONE_CLIP_STRATEGIES, STRATEGIES
from benchmark.data.spatial import INTERPOLATIONS, RESIZE_MODES
from benchmark.errors import DataError, UnknownKeyError

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
CLIP_MEAN = (122.7709383, 116.7460125, 104.09373615)   # OpenAI CLIP, 0-255 scale
CLIP_STD = (68.5005327, 66.6321579, 70.32316305)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(f"input.{name} must be a positive integer, got {value!r}")


def _rgb_triple(name: str, value: Any) -> None:
    ok = isinstance(value, tuple) and len(value) == 3
    ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    if not ok or not all(0 <= v <= 255 for v in value):
        raise DataError(f"input.{name} must be 3 numbers (R, G, B) on the 0-255 scale, got {value!r}")


@dataclass(frozen=True)
class InputSpec:
    """The input a detector declares; the data layer produces exactly this.

    Attributes:
        frames: frames per clip (T).
        sampling: frame sampling strategy, one of `benchmark.data.sampling.STRATEGIES`.
        num_clips: clips per video (K); 1 for ``first``, ``uniform`` and ``random``.
        stride: step between the frames of a clip.
        size: side of the square output frames.
        resize: one of `RESIZE_MODES`.
        interpolation: resampling filter of ``resize`` and ``short_side_center_crop``, one of
            `INTERPOLATIONS` (a method's published filter, or ``auto``).
        mean: per-channel mean, 0-255 scale (applied by the model's data preprocessor).
        std: per-channel std, 0-255 scale.
        face_crop: the detector scores face crops. Either its reader finds faces (GenConViT), the
            ``preset`` does (``deepfakebench``), or the dataset must already hold face crops.
        preset: None, or a name in `benchmark.data.presets.PRESETS`: a published preprocessing
            that decides which frames form the video before the clip sampling (e.g.
            ``deepfakebench``: 32 frames at linspace, dlib-aligned face crops).
    """

    frames: int
    sampling: str = "uniform"
    num_clips: int = 1
    stride: int = 1
    size: int = 224
    resize: str = "short_side_center_crop"
    interpolation: str = "auto"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    face_crop: bool = False
    preset: str | None = None

    def __post_init__(self) -> None:
        for name in ("frames", "num_clips", "stride", "size"):
            _positive_int(name, getattr(self, name))
        if self.sampling not in STRATEGIES:
            raise UnknownKeyError("sampling strategy", str(self.sampling), STRATEGIES)
        if self.sampling in ONE_CLIP_STRATEGIES and self.num_clips != 1:
            raise DataError(f"input.sampling '{self.sampling}' makes one clip per video, "
                            f"but num_clips is {self.num_clips}; use sampling 'clips' for several")
        if self.resize not in RESIZE_MODES:
            raise UnknownKeyError("resize mode", str(self.resize), RESIZE_MODES)
        if self.interpolation not in INTERPOLATIONS:
            raise UnknownKeyError("interpolation", str(self.interpolation), INTERPOLATIONS)
        if self.preset is not None and self.preset not in PRESETS:
            raise UnknownKeyError("input preset", str(self.preset), PRESETS)
        _rgb_triple("mean", self.mean)
        _rgb_triple("std", self.std)
        if min(self.std) <= 0:
            raise DataError(f"input.std must be > 0, got {self.std!r}")
        if max(self.mean) <= 1 and max(self.std) <= 1:
            raise DataError(f"input.mean {self.mean!r} and std {self.std!r} look like the 0-1 scale; "
                            f"give them on the 0-255 scale (ImageNet: {IMAGENET_MEAN}, {IMAGENET_STD})")
        if not isinstance(self.face_crop, bool):
            raise DataError(f"input.face_crop must be true or false, got {self.face_crop!r}")

    @property
    def clip_shape(self) -> tuple[int, int, int, int]:
        """Shape of one clip, ``(3, T, H, W)``."""
        return (3, self.frames, self.size, self.size)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], origin: str = "<input spec>") -> "InputSpec":
        """Builds a spec from a config mapping (YAML ``input:`` section).

        Args:
            d: field name -> value; ``frames`` is required, the rest have defaults.
            origin: where ``d`` came from (file and key), named in errors.

        Raises:
            UnknownKeyError: an unknown field, sampling strategy or resize mode.
            DataError: a missing ``frames`` or a value of the wrong type or range.
        """
        if not isinstance(d, Mapping):
            raise DataError(f"{origin}: the input spec must be a mapping, got {type(d).__name__}")
        known = [f.name for f in dataclasses.fields(cls)]
        for key in d:
            if key not in known:
                raise UnknownKeyError(f"input field in {origin}:", str(key), known)
        if "frames" not in d:
            raise DataError(f"{origin}: the input spec needs 'frames' (frames per clip)")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        try:
            return cls(**values)
        except UnknownKeyError as error:
            raise UnknownKeyError(f"{error.kind} in {origin}:", error.key, error.known) from None
        except DataError as error:
            raise DataError(f"{origin}: {error}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (lists for the tuples), as written to run records."""
        d = dataclasses.asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d
