"""Registries: one primitive for every named thing, and registry.yaml, the list of methods.

`Registry` maps names to lazily imported targets (``"module:attr"``) or plain objects, with
"Unknown X 'y'. Did you mean: ...? Available: ..." errors. Methods (registry.yaml), protocols,
datasets, dataset layouts and perturbations are each one `Registry`.

Nothing here imports a detector: an entry's ``entry_point`` (``"module:Class"``) is imported only
when the method is built, so ``vbench ls`` and ``import benchmark`` stay cheap.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Generic, Iterator, TypeVar

from benchmark.errors import RegistryError, UnknownKeyError

T = TypeVar("T")

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


def import_target(target: str, origin: str = "") -> Any:
    """Imports ``"module:attr"`` (``attr`` may be dotted) or a whole ``"module"``; errors name the
    target and its origin."""
    module_name, sep, attr = target.partition(":")
    if not module_name or (sep and not attr):
        raise RegistryError(f"{origin or 'registry'}: target must be 'module' or 'module:attr', "
                            f"got '{target}'")
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError) as exc:
        where = f"{origin}: " if origin else ""
        raise RegistryError(f"{where}'{target}' cannot be imported ({exc})") from exc


@dataclass
class _Slot:
    target: Any            # an object, or "module:attr" imported on first use
    description: str
    meta: dict[str, Any]
    resolved: bool


class Registry(Generic[T]):
    """Names → objects, resolved lazily, with did-you-mean errors.

    Args:
        kind: what the names are ("protocol", "dataset", ...), used in messages.

    Example:
        >>> PROTOCOLS = Registry("protocol")
        >>> PROTOCOLS.register("cross_generator", "protocols.cross_generator:PROTOCOL")
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._slots: dict[str, _Slot] = {}

    def register(self, name: str, target: Any = None, description: str = "",
                 **meta: Any) -> Callable[[T], T] | None:
        """Adds ``name``; with no ``target`` returns a decorator that registers the decorated object.

        Raises:
            RegistryError: the name is taken.
        """
        if target is None:
            def decorate(obj: T) -> T:
                self.register(name, obj, description or (obj.__doc__ or "").strip().split("\n")[0],
                              **meta)
                return obj
            return decorate
        if name in self._slots:
            raise RegistryError(f"{self.kind} '{name}' is registered twice")
        lazy = isinstance(target, str)
        self._slots[name] = _Slot(target, description, dict(meta), not lazy)
        return None

    def require(self, name: str) -> str:
        """``name`` if registered; else `UnknownKeyError` with close matches."""
        if name not in self._slots:
            raise UnknownKeyError(self.kind, str(name), self._slots)
        return name

    def get(self, name: str) -> T:
        """The object registered as ``name`` (imported on first use)."""
        slot = self._slots[self.require(name)]
        if not slot.resolved:
            slot.target = import_target(slot.target, f"{self.kind} '{name}'")
            slot.resolved = True
        return slot.target

    def description(self, name: str) -> str:
        return self._slots[self.require(name)].description

    def meta(self, name: str) -> dict[str, Any]:
        return dict(self._slots[self.require(name)].meta)

    def names(self) -> list[str]:
        return list(self._slots)

    def __contains__(self, name: object) -> bool:
        return name in self._slots

    def __iter__(self) -> Iterator[str]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)


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
        return import_target(self.entry_point, f"{self.origin}: method '{self.key}': entry point")

    def config(self, name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The named config, validated against the method's schema, as a plain dict.

        The entry's input spec fills what the config's ``input`` leaves out; ``overrides``
        (``{"train.epochs": 2}``, from ``--cfg-options``) are applied and validated too. Unknown keys
        and values of the wrong type are refused (see `benchmark.config`). The method's class
        loads it (``load_config``: `benchmark.detector.Detector`'s, `benchmark.defence.Defence`'s),
        so the registry knows no schema.
        """
        if name not in self.configs:
            raise UnknownKeyError(f"config of method '{self.key}'", name, self.configs)
        cls = self.load_class()
        load = getattr(cls, "load_config", None)
        if load is None:
            raise RegistryError(f"{self.origin}: method '{self.key}': '{self.entry_point}' has no "
                                f"load_config (subclass benchmark.detector.Detector or "
                                f"benchmark.defence.Defence)")
        return load(self, name, ROOT / self.configs[name], overrides or {})


class MethodRegistry(Registry[MethodEntry]):
    """The methods of one registry.yaml, validated on load."""

    def __init__(self, methods: dict[str, MethodEntry], origin: str):
        super().__init__("method")
        self.origin = origin
        for key, entry in methods.items():
            self.register(key, entry, str(entry.paper.get("title", "")))

    @classmethod
    def from_file(cls, path: str | Path) -> "MethodRegistry":
        data = load_yaml(path)
        if not isinstance(data, dict) or not isinstance(data.get("methods"), dict):
            raise RegistryError(f"{path}: expected a top-level 'methods:' mapping")
        return cls({k: _entry(k, v, str(path)) for k, v in data["methods"].items()}, str(path))

    @property
    def methods(self) -> dict[str, MethodEntry]:
        return {key: self.get(key) for key in self.names()}

    def keys(self, kind: str | None = None) -> list[str]:
        """Method keys, all or those of one `kind` (``detector`` or ``defence``)."""
        return [k for k in self.names() if kind is None or self.get(k).kind == kind]


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
def _cached(path: str) -> MethodRegistry:
    return MethodRegistry.from_file(path)


def registry(path: str | Path | None = None) -> MethodRegistry:
    """The project registry (``$VBENCH_REGISTRY`` or ``registry.yaml`` at the repository root)."""
    return _cached(str(path or os.environ.get("VBENCH_REGISTRY") or ROOT / "registry.yaml"))
