"""Frame functions: ``name -> "module:function"`` in `benchmark.registry.FRAME_FUNCTIONS`, filled by
the plugin loader (the built-ins below through `benchmark.builtin`), imported on first use.

A frame function maps uint8 RGB frames ``[T, H, W, 3]`` to uint8 frames ``[T', H', W', 3]``:
``fn(frames, rng, **params)``. The YAML perturbation set (``perturbations.yaml``) names these
functions and gives their parameters per level; this module only knows the functions.

Each function carries a `FunctionSpec` (set by `frame_function`) that the engine and the
validation read: whether it works frame by frame or needs the whole video, whether it draws random
numbers, the valid range of each numeric parameter, and whether it changes frame size or count.
"""
from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from benchmark.errors import UnknownKeyError
from benchmark.perturb.errors import PerturbationSpecError
from benchmark.registry import FRAME_FUNCTIONS

SCOPES = ("frame", "video")
CHANGES = ("size", "frames")

BUILTIN_FUNCTIONS: dict[str, str] = {
    # DeeperForensics-1.0 distortions
    "color_saturation": "benchmark.perturb.pixel:color_saturation",
    "color_contrast": "benchmark.perturb.pixel:color_contrast",
    "block_occlusion": "benchmark.perturb.pixel:block_occlusion",
    "gaussian_noise_ycbcr": "benchmark.perturb.pixel:gaussian_noise_ycbcr",
    "gaussian_blur": "benchmark.perturb.pixel:gaussian_blur",
    "pixelate": "benchmark.perturb.pixel:pixelate",
    # other per-frame degradations
    "jpeg": "benchmark.perturb.pixel:jpeg",
    "gamma": "benchmark.perturb.pixel:gamma",
    "sharpen": "benchmark.perturb.pixel:sharpen",
    "resize_down_up": "benchmark.perturb.geometry:resize_down_up",
    "crop": "benchmark.perturb.geometry:crop",
    "letterbox": "benchmark.perturb.geometry:letterbox",
    "fit_short_side": "benchmark.perturb.geometry:fit_short_side",
    "frame_rate": "benchmark.perturb.geometry:frame_rate",
    # real encoders (PyAV / FFmpeg)
    "reencode": "benchmark.perturb.codec:reencode",
    "downscale_encode": "benchmark.perturb.codec:downscale_encode",
}


@dataclass(frozen=True)
class FunctionSpec:
    """What the engine must know about a frame function.

    Attributes:
        scope: ``frame`` when output frame i depends only on input frame i (the engine may then
            perturb just the frames a sampler reads); ``video`` when it needs the whole video
            (encoders, frame-rate change).
        random: draws from ``rng`` (the engine then seeds each frame separately, see
            `benchmark.perturb.config.apply`).
        bounds: numeric parameter -> (low, high), inclusive; None leaves a side open.
        choices: parameter -> allowed values.
        changes: what the output may change: ``size`` (H, W) and/or ``frames`` (T).
        version: bumped when the function's output changes for the same input; part of score keys.
        check: ``check(params, where, local)`` for rules the bounds cannot say (e.g. a codec's CRF
            range); with ``local`` also what this machine must have (e.g. the codec in the local
            FFmpeg). Raises `PerturbationSpecError`.
    """

    scope: str = "frame"
    random: bool = False
    bounds: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    choices: Mapping[str, tuple] = field(default_factory=dict)
    changes: tuple[str, ...] = ()
    version: int = 1
    check: Callable[[Mapping[str, Any], str, bool], None] | None = None


def frame_function(**spec: Any) -> Callable[[Callable], Callable]:
    """Decorator attaching a `FunctionSpec` (keyword arguments as its fields) to a frame function."""
    info = FunctionSpec(**spec)
    if info.scope not in SCOPES or not set(info.changes) <= set(CHANGES):
        raise ValueError(f"bad FunctionSpec {info}: scope in {SCOPES}, changes within {CHANGES}")

    def wrap(fn: Callable) -> Callable:
        fn.perturb_spec = info
        return fn

    return wrap


FUNCTIONS = FRAME_FUNCTIONS


def register_function(name: str, target: str | Callable, source: str = "") -> None:
    """Adds a frame function (``"module:function"`` or the callable itself) under ``name``
    (plugins use ``plugin.frame_function``, which comes here with their source)."""
    if name in FRAME_FUNCTIONS and not source:
        raise PerturbationSpecError(f"frame function '{name}' is already registered "
                                    f"({FRAME_FUNCTIONS.source(name) or 'in this process'})")
    FRAME_FUNCTIONS.register(name, target, source=source)


def get_function(name: str) -> Callable:
    """The frame function registered as ``name`` (imported now if it was not yet)."""
    fn = FRAME_FUNCTIONS.get(name)
    if not callable(fn) or not isinstance(getattr(fn, "perturb_spec", None), FunctionSpec):
        raise PerturbationSpecError(f"frame function '{name}' (from "
                                    f"{FRAME_FUNCTIONS.source(name) or 'this process'}) lacks "
                                    f"@frame_function")
    return fn


def function_spec(name: str) -> FunctionSpec:
    """The `FunctionSpec` of the function registered as ``name``."""
    return get_function(name).perturb_spec


def check_params(name: str, params: Mapping[str, Any], where: str, local: bool = True) -> None:
    """Checks ``params`` against the signature and the bounds of frame function ``name``.

    Args:
        name: a registered frame function.
        params: keyword arguments it will get (everything but ``frames`` and ``rng``).
        where: what is being checked, for the message (e.g. ``"perturbation 'jpeg' level 3"``).
        local: also check what this machine must provide (codecs in the local FFmpeg).

    Raises:
        UnknownKeyError: unknown function or parameter name.
        PerturbationSpecError: a required parameter is missing, or a value is outside its range.
    """
    fn = get_function(name)
    signature = inspect.signature(fn)
    accepted = [p for p in signature.parameters.values() if p.name not in ("frames", "rng")]
    for key in params:
        if key not in {p.name for p in accepted}:
            raise UnknownKeyError(f"parameter of frame function '{name}' ({where})", key,
                                  [p.name for p in accepted])
    missing = [p.name for p in accepted if p.default is inspect.Parameter.empty and p.name not in params]
    if missing:
        raise PerturbationSpecError(f"{where}: frame function '{name}' needs parameter(s) "
                                    f"{', '.join(missing)}; got {dict(params)}")
    spec: FunctionSpec = fn.perturb_spec
    for key, value in params.items():
        _check_value(name, key, value, spec, where)
    if spec.check is not None:  # sees the defaults too: they are what the function will use
        defaults = {p.name: p.default for p in accepted if p.default is not inspect.Parameter.empty}
        spec.check({**defaults, **params}, where, local)


def _check_value(name: str, key: str, value: Any, spec: FunctionSpec, where: str) -> None:
    if key in spec.choices and value not in spec.choices[key]:
        raise PerturbationSpecError(f"{where}: parameter '{key}' of '{name}' must be one of "
                                    f"{list(spec.choices[key])}, got {value!r}")
    if key not in spec.bounds or value is None:
        return
    low, high = spec.bounds[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PerturbationSpecError(f"{where}: parameter '{key}' of '{name}' must be a number, "
                                    f"got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise PerturbationSpecError(f"{where}: parameter '{key}' of '{name}' = {value!r} is "
                                    f"outside its valid range {span}")
