"""registry.yaml: the single list of methods, resolved lazily.

Nothing here imports a detector: an entry's ``entry_point`` (``"module:Class"``) is imported only
when the method is built, so ``vbench ls`` and ``import benchmark`` stay cheap.
"""
from __future__ import annotations

import copy
import importlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from benchmark.errors import RegistryError, UnknownKeyError

ROOT = Path(__file__).resolve().parent.parent
REQUIRED_FIELDS = ("entry_point", "configs", "input", "tasks", "paper", "upstream", "weights",
                   "trained_on")
# A method's `kind` (default `detector`): detectors score clips (benchmark.detector.Detector);
# defences act while a video is generated (benchmark.defences.build_defence) and take no `input`.
KINDS = ("detector", "defence")
KIND_FIELDS = {"detector": REQUIRED_FIELDS,
               "defence": tuple(f for f in REQUIRED_FIELDS if f != "input")}
KIND_TASKS = {"detector": ("binary", "multiclass"), "defence": ("protection", "unsafe_generation")}
KNOWN_TASKS = KIND_TASKS["detector"]


def _yaml():
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        """A SafeLoader that refuses duplicate mapping keys instead of keeping the last one."""

    def construct_mapping(loader, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise RegistryError(
                    f"{getattr(loader, 'origin', 'YAML')}: duplicate key '{key}' at line "
                    f"{key_node.start_mark.line + 1} (first defined at line {seen[key]})")
            seen[key] = key_node.start_mark.line + 1
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return yaml, UniqueKeyLoader


def load_yaml(path: str | Path) -> Any:
    """Parses a YAML file, rejecting duplicate keys; errors name the file."""
    yaml, loader_cls = _yaml()
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        loader = loader_cls(handle)
        loader.origin = str(path)
        try:
            return loader.get_single_data()
        except yaml.YAMLError as exc:
            raise RegistryError(f"{path}: invalid YAML: {exc}") from exc
        finally:
            loader.dispose()


def lazy_exports(package: str, names: dict[str, str]):
    """A module ``__getattr__`` that imports each exported name from its module on first use.

    Detector packages use it so that ``import detectors.<method>`` (and the light modules that
    data-loading workers import, e.g. a clip reader) do not pull in mmaction2.

    Args:
        package: the package's ``__name__``.
        names: exported name -> module (relative to the package, e.g. ``".detector"``).
    """
    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name], package), name)
        raise AttributeError(f"module '{package}' has no attribute '{name}'")

    return __getattr__


@dataclass(frozen=True)
class MethodEntry:
    """One method of registry.yaml."""

    key: str
    entry_point: str
    configs: dict[str, str]
    input: dict[str, Any]
    tasks: tuple[str, ...]
    paper: dict[str, Any]
    upstream: str
    weights: dict[str, Any]
    trained_on: str
    origin: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = "detector"

    def load_class(self) -> type:
        """Imports the entry point (``module:Class``)."""
        module_name, _, attr = self.entry_point.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise RegistryError(f"{self.origin}: method '{self.key}': entry point "
                                f"'{self.entry_point}' cannot be imported ({exc})") from exc

    def config(self, name: str) -> dict[str, Any]:
        """The named config as a plain dict; the entry's input spec fills what the config leaves out."""
        if name not in self.configs:
            raise UnknownKeyError(f"config of method '{self.key}'", name, self.configs)
        cfg = load_yaml(ROOT / self.configs[name]) or {}
        if self.kind == "defence":
            if not isinstance(cfg, dict):
                raise RegistryError(f"{ROOT / self.configs[name]}: a config must be a mapping")
        elif not isinstance(cfg, dict) or "model" not in cfg:
            raise RegistryError(f"{ROOT / self.configs[name]}: a config needs a 'model' mapping")
        else:
            cfg["input"] = {**copy.deepcopy(self.input), **cfg.get("input", {})}
        cfg.setdefault("name", name)
        cfg.setdefault("method", self.key)
        return cfg


class Registry:
    """The methods of one registry.yaml, validated on load."""

    def __init__(self, methods: dict[str, MethodEntry], origin: str):
        self.methods, self.origin = methods, origin

    @classmethod
    def from_file(cls, path: str | Path) -> "Registry":
        data = load_yaml(path)
        if not isinstance(data, dict) or not isinstance(data.get("methods"), dict):
            raise RegistryError(f"{path}: expected a top-level 'methods:' mapping")
        return cls({k: _entry(k, v, str(path)) for k, v in data["methods"].items()}, str(path))

    def get(self, key: str) -> MethodEntry:
        if key not in self.methods:
            raise UnknownKeyError("method", key, self.methods)
        return self.methods[key]

    def keys(self, kind: str | None = None) -> list[str]:
        """Method keys, all or those of one `kind` (``detector`` or ``defence``)."""
        return [k for k, e in self.methods.items() if kind is None or e.kind == kind]


def _entry(key: str, raw: Any, origin: str) -> MethodEntry:
    if not isinstance(raw, dict):
        raise RegistryError(f"{origin}: method '{key}' must be a mapping, got {type(raw).__name__}")
    kind = raw.get("kind", "detector")
    if kind not in KINDS:
        raise RegistryError(f"{origin}: method '{key}': kind must be one of {KINDS}, got '{kind}'")
    missing = [f for f in KIND_FIELDS[kind] if f not in raw]
    if missing:
        raise RegistryError(f"{origin}: method '{key}' lacks required fields: {', '.join(missing)}")
    if ":" not in str(raw["entry_point"]):
        raise RegistryError(f"{origin}: method '{key}': entry_point must be 'module:Class', "
                            f"got '{raw['entry_point']}'")
    bad = [t for t in raw["tasks"] if t not in KIND_TASKS[kind]]
    if bad:
        raise RegistryError(f"{origin}: method '{key}': unknown tasks {bad} for a {kind}; known: "
                            f"{KIND_TASKS[kind]}")
    if not {"mini", "paper"} <= set(raw["configs"]):
        raise RegistryError(f"{origin}: method '{key}': configs must name 'mini' and 'paper', "
                            f"got {sorted(raw['configs'])}")
    known = {f: raw.get(f, {}) for f in REQUIRED_FIELDS}
    extra = {k: v for k, v in raw.items() if k not in REQUIRED_FIELDS and k != "kind"}
    known["tasks"] = tuple(known["tasks"])
    return MethodEntry(key=key, origin=origin, extra=extra, kind=kind, **known)


@lru_cache(maxsize=None)
def _cached(path: str) -> Registry:
    return Registry.from_file(path)


def registry(path: str | Path | None = None) -> Registry:
    """The project registry (``$VBENCH_REGISTRY`` or ``registry.yaml`` at the repository root)."""
    return _cached(str(path or os.environ.get("VBENCH_REGISTRY") or ROOT / "registry.yaml"))
