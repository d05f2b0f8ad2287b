"""The interface every defence implements (``kind: defence`` in registry.yaml).

A defence acts while a video is generated. The core reaches a defence only through the classes
below, as it reaches a detector only through `benchmark.detector.Detector`: its closed config
schema (``config_schema``), its ``record()``, and per registry.yaml task the entry points of the
``protection_efficacy`` measurements.

* ``protection`` → `ImageProtection`: perturbs images before an image-to-video model sees them
  (MMVGM's protection). The measurements are shared and live in the core
  (`benchmark.defences.efficacy`: imperceptibility, conditioning shift, video departure,
  detection, degradations, transfer); the defence supplies its targets and protected images.
* ``unsafe_generation`` → `GenerationGuard`: watches a generation and stops an unsafe one (LVDM).
  What it measures is its own rule, so it scores its own tidy table and computes its metrics from
  that table alone.

Nothing heavy is imported here: torch, diffusers and the models load when a defence works.
"""
from __future__ import annotations

import copy
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from benchmark.config import Section, apply_overrides, describe_validation_error
from benchmark.errors import ConfigError, RegistryError
from benchmark.registry import load_yaml, registry


class Defence(ABC):
    """Base defence: a closed config schema, a config dict, a record of what it will do.

    Args:
        config: a plain dict validated against ``config_schema`` (`load_config` makes one).
    """

    # The closed schema of this defence's configs (a `benchmark.config.Section` with ``name`` and
    # ``method``); unknown keys and wrongly typed values are refused in files and --cfg-options.
    config_schema: ClassVar[type[Section]]

    def __init__(self, config: dict[str, Any]):
        self.config = copy.deepcopy(config)

    @classmethod
    def load_config(cls, entry, name: str, path: Path, overrides: dict[str, Any]) -> dict[str, Any]:
        """Loads and validates one config (plus ``--cfg-options`` overrides) as a plain dict.

        Args:
            entry: the `benchmark.registry.MethodEntry` (its key fills ``method``).
            name: the config name (fills ``name``).
            path: its YAML file.
            overrides: dotted keys → values, applied before validation.
        """
        raw = load_yaml(path) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: a config must be a mapping")
        raw.setdefault("name", name)
        raw.setdefault("method", entry.key)
        schema = getattr(cls, "config_schema", None)
        if schema is None:
            raise ConfigError(f"{entry.entry_point} declares no config_schema")
        origin = str(path)
        if overrides:
            raw = apply_overrides(copy.deepcopy(raw), overrides)
            origin = "--cfg-options " + " ".join(f"{k}={v}" for k, v in overrides.items())
        try:
            config = schema.model_validate_json(json.dumps(raw, default=str))
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, schema, raw, origin)) from None
        return config.model_dump(by_alias=True)

    @abstractmethod
    def record(self) -> dict[str, Any]:
        """What run records keep of this defence: at least ``config``."""


class ImageProtection(Defence):
    """A ``protection`` defence: imperceptible perturbations of images against an image-to-video
    target. `benchmark.defences.efficacy` measures it.

    Attributes:
        modes: the protection modes a run evaluates (one unit per mode and budget), besides the
            random-sign control every run adds.
    """

    modes: list[str]

    @abstractmethod
    def target(self):
        """The `benchmark.generation.targets.I2VTarget` the protection is computed on."""

    @abstractmethod
    def transfer_target(self):
        """Another target, never attacked, to test transfer on; None when none is configured."""

    @abstractmethod
    def evaluation_images(self) -> tuple[int, str]:
        """``(count, target photo)``: how many embedded stills to protect by default and the name
        of the still used as the directed target image (`benchmark.generation.stills`)."""

    @abstractmethod
    def perceptual_name(self) -> str:
        """The perceptual term (`benchmark.defences.perceptual.build_perceptual`) imperceptibility
        is measured with."""

    @abstractmethod
    def check_budget(self, eps: Any) -> None:
        """Refuses a budget ``eps`` (a protocol option) before any work.

        Raises:
            DefenceConfigError: not a budget this defence can run.
        """

    @abstractmethod
    def protected(self, images, references, mode: str, eps: Any, steps: int = 0, seed: int = 0
                  ) -> tuple[Any, dict[str, Any]]:
        """The images protected by one setting.

        Args:
            images: ``[N, 3, S, S]`` in [0, 1].
            references: the directed target image, ``[N, 3, S, S]``.
            mode: one of `modes`, or ``random``: random ±eps signs, the control with the same
                budget and no optimisation.
            eps: the budget.
            steps: optimisation steps (0: the config's).
            seed: seeds the random control.

        Returns:
            ``(protected images [N, 3, S, S], record)``; the record has ``config`` (with
            ``eps_01`` and ``steps``) and ``perceptual`` (the loss's perceptual term's name, None
            for the random control).
        """


class GenerationGuard(Defence):
    """An ``unsafe_generation`` defence: flags unsafe generations while they run and stops them."""

    @abstractmethod
    def score_table(self, progress: bool = False):
        """Runs the defence end to end on its configured data: the runner's standard score
        columns plus the defence's own, as a pandas DataFrame."""

    @classmethod
    @abstractmethod
    def metrics(cls, table, options: dict[str, Any]) -> dict[str, Any]:
        """``rows``, ``summary`` and whatever the protocol's views show, from `score_table`'s
        table and the protocol's options alone."""


# registry.yaml task -> the interface a defence with that task implements
TASK_INTERFACES: dict[str, type[Defence]] = {"protection": ImageProtection,
                                             "unsafe_generation": GenerationGuard}


def defence_class(method: str, registry_path: str | None = None) -> type[Defence]:
    """The registered defence's class, checked against the interface of each of its tasks.

    Raises:
        UnknownKeyError: no such method.
        RegistryError: the method is a detector, or its class does not implement the interfaces.
    """
    entry = registry(registry_path).get(method)
    if entry.kind != "defence":
        raise RegistryError(f"{entry.origin}: method '{method}' is a {entry.kind}, not a defence; "
                            f"build it with benchmark.detector.build_detector('{method}')")
    cls = entry.load_class()
    for task in entry.tasks:
        interface = TASK_INTERFACES[task]
        if not (isinstance(cls, type) and issubclass(cls, interface)):
            raise RegistryError(f"{entry.origin}: method '{method}' (task {task}): "
                                f"'{entry.entry_point}' is not a benchmark.defence."
                                f"{interface.__name__} subclass")
    return cls


def build_defence(method: str, config: str | dict[str, Any] = "mini",
                  registry_path: str | None = None) -> Defence:
    """Builds a registered defence from a config name (``mini``/``paper``) or dict.

    Raises:
        UnknownKeyError: no such method or config.
        RegistryError: the method is a detector, not a defence.
    """
    cls = defence_class(method, registry_path)
    entry = registry(registry_path).get(method)
    return cls(entry.config(config) if isinstance(config, str) else config)
