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
from pathlib import Path
from typing import Any, Callable, Generic, Iterator, TypeVar

from benchmark.errors import RegistryError, UnknownKeyError

T = TypeVar("T")

REQUIRED_FIELDS = ("entry_point", "configs", "input", "tasks", "paper", "upstream", "weights",
                   "trained_on")
# A method's `kind` (default `detector`): detectors score clips (benchmark.detector.Detector);
# defences act while a video is generated (benchmark.defences.build_defence) and take no `input`.
KINDS = ("detector", "defence")
KIND_FIELDS = {"detector": REQUIRED_FIELDS,
               "defence": tuple(f for f in REQUIRED_FIELDS if f != "input")}
KIND_TASKS = {"detector": ("binary", "multiclass"), "defence": ("protection", "unsafe_generation")}
KNOWN_TASKS = KIND_TASKS["detector"]
OPTIONAL_FIELDS = ("kind",)


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
    source: str = ""       # where the entry came from (a plugin), shown by `vbench ls`
    problem: str = ""      # set: using the entry raises RegistryError with this text
    twice: bool = False    # the problem is a name declared by two sources


class Registry(Generic[T]):
    """Names → objects, resolved lazily, with did-you-mean errors and where each came from.

    A registry that is an extension point is filled by `benchmark.plugins` on first use (``fill``,
    called once before the first lookup). A name registered twice keeps both sources: using it
    raises, naming them (never a silent override). An entry that could not be declared (a bad
    field) is kept as a problem that raises when the entry is used, so the others keep working.

    Args:
        kind: what the names are ("protocol", "dataset", ...), used in messages.
        fill: called once, before the first lookup, to register the entries.

    Example:
        >>> PROTOCOLS = Registry("protocol")
        >>> PROTOCOLS.register("cross_generator", "protocols.cross_generator:PROTOCOL")
    """

    def __init__(self, kind: str, fill: Callable[[], None] | None = None):
        self.kind = kind
        self._slots: dict[str, _Slot] = {}
        self._fill = fill
        self._filling = False
        self.notes: list[str] = []  # plugins that failed to load: their names are unknown

    def _ready(self) -> None:
        if self._fill is not None and not self._filling:
            fill, self._filling = self._fill, True
            try:
                fill()
            finally:
                self._fill, self._filling = None, False

    def reset(self, fill: Callable[[], None] | None = None) -> None:
        """Forgets every entry; ``fill`` fills it again on the next lookup."""
        self._slots.clear()
        self.notes.clear()
        self._fill = fill

    def register(self, name: str, target: Any = None, description: str = "", *,
                 source: str = "", **meta: Any) -> Callable[[T], T] | None:
        """Adds ``name``; with no ``target`` returns a decorator that registers the decorated object.

        Raises:
            RegistryError: the name is taken and no ``source`` tells the two apart (a plugin's
                duplicate is kept as a problem instead, raised when the name is used).
        """
        if target is None:
            def decorate(obj: T) -> T:
                self.register(name, obj, description or (obj.__doc__ or "").strip().split("\n")[0],
                              source=source, **meta)
                return obj
            return decorate
        if name in self._slots:
            first = self._slots[name]
            if not (source and first.source):
                raise RegistryError(f"{self.kind} '{name}' is registered twice")
            if not first.twice:
                first.problem = (f"{self.kind} '{name}' is defined twice: by {first.source} and "
                                 f"by {source}; remove one (an entry is never silently overridden)")
                first.twice = True
            return None
        lazy = isinstance(target, str)
        self._slots[name] = _Slot(target, description, dict(meta), not lazy, source)
        return None

    def unregister(self, name: str) -> None:
        """Removes ``name`` (tests; a plugin never removes another's entry)."""
        self._slots.pop(name, None)

    def add_problem(self, name: str, source: str, problem: str) -> None:
        """Declares ``name`` as unusable: using it raises ``problem`` (naming ``source``)."""
        if name in self._slots:
            self.register(name, problem, source=source)  # a duplicate: both sources are named
            return
        self._slots[name] = _Slot(None, "(cannot be used: see vbench ls)", {}, True, source,
                                  f"{self.kind} '{name}' from {source}: {problem}")

    def require(self, name: str) -> str:
        """``name`` if registered and usable; else `UnknownKeyError` with close matches (and the
        plugins that failed to load), or `RegistryError` with the entry's problem."""
        self._ready()
        if name not in self._slots:
            err = UnknownKeyError(self.kind, str(name), self.usable())
            if self.notes:
                err.args = (err.args[0] + ". " + "; ".join(self.notes),)
            raise err
        if self._slots[name].problem:
            raise RegistryError(self._slots[name].problem)
        return name

    def get(self, name: str) -> T:
        """The object registered as ``name`` (imported on first use)."""
        slot = self._slots[self.require(name)]
        if not slot.resolved:
            where = f"{self.kind} '{name}'" + (f" from {slot.source}" if slot.source else "")
            slot.target = import_target(slot.target, where)
            slot.resolved = True
        return slot.target

    def description(self, name: str) -> str:
        return self._slots[self.require(name)].description

    def meta(self, name: str) -> dict[str, Any]:
        return dict(self._slots[self.require(name)].meta)

    def source(self, name: str) -> str:
        """Where ``name`` was declared (no check that it is usable)."""
        self._ready()
        if name not in self._slots:
            self.require(name)
        return self._slots[name].source

    def problem(self, name: str) -> str:
        """Why ``name`` cannot be used ("" when it can)."""
        self._ready()
        return self._slots[name].problem if name in self._slots else ""

    def duplicates(self) -> list[str]:
        """The names declared by two sources (each raises, naming both, when used)."""
        self._ready()
        return [n for n, s in self._slots.items() if s.twice]

    def usable(self) -> list[str]:
        """The names that can be used (declared once, without a problem)."""
        self._ready()
        return [n for n, s in self._slots.items() if not s.problem]

    def names(self) -> list[str]:
        """Every declared name, usable or not (`problem` tells)."""
        self._ready()
        return list(self._slots)

    def __contains__(self, name: object) -> bool:
        self._ready()
        return name in self._slots

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


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
    """One method of a registry file (the built-ins' ``detectors/registry.yaml`` or a plugin's).

    Attributes:
        origin: the registry file it was read from.
        base: the folder its config paths resolve against (the registry file's folder).
        source: the plugin that declared it (``vbench ls`` shows it).
    """

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
    kind: str = "detector"
    base: str = ""
    source: str = ""

    def load_class(self) -> type:
        """Imports the entry point (``module:Class``)."""
        return import_target(self.entry_point, f"{self.origin}: method '{self.key}': entry point")

    def config_path(self, name: str) -> Path:
        """The file of config ``name``, resolved against the registry file's folder."""
        if name not in self.configs:
            raise UnknownKeyError(f"config of method '{self.key}'", name, self.configs)
        path = Path(self.configs[name])
        return path if path.is_absolute() else Path(self.base or ".") / path

    def config(self, name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The named config, validated against the method's schema, as a plain dict.

        The entry's input spec fills what the config's ``input`` leaves out; ``overrides``
        (``{"train.epochs": 2}``, from ``--cfg-options``) are applied and validated too. Unknown keys
        and values of the wrong type are refused (see `benchmark.config`). The method's class
        loads it (``load_config``: `benchmark.detector.Detector`'s, `benchmark.defence.Defence`'s),
        so the registry knows no schema.
        """
        path = self.config_path(name)  # unknown names refused before anything is imported
        cls = self.load_class()
        load = getattr(cls, "load_config", None)
        if load is None:
            raise RegistryError(f"{self.origin}: method '{self.key}': '{self.entry_point}' has no "
                                f"load_config (subclass benchmark.detector.Detector or "
                                f"benchmark.defence.Defence)")
        return load(self, name, path, overrides or {})


class MethodRegistry(Registry[MethodEntry]):
    """Method keys → `MethodEntry`, from registry files, validated on load."""

    def __init__(self, methods: dict[str, MethodEntry] | None = None, origin: str = "",
                 fill: Callable[[], None] | None = None):
        super().__init__("method", fill)
        self.origin = origin
        for key, entry in (methods or {}).items():
            self.register(key, entry, str(entry.paper.get("title", "")), source=entry.source)

    @classmethod
    def from_file(cls, path: str | Path) -> "MethodRegistry":
        """The methods of one registry file; the first bad entry raises."""
        return cls(read_methods(path), str(path))

    def add_file(self, path: str | Path, source: str) -> None:
        """Adds the methods of a registry file; a bad entry becomes a problem of that name only."""
        for key, raw in _methods_section(path).items():
            try:
                entry = _entry(key, raw, str(path), source)
            except RegistryError as err:
                self.add_problem(key, source, str(err))
                continue
            self.register(key, entry, str(entry.paper.get("title", "")), source=source)

    @property
    def methods(self) -> dict[str, MethodEntry]:
        """The usable methods (an entry with a problem is left out; `vbench ls` shows it)."""
        return {key: self.get(key) for key in self.usable()}

    def keys(self, kind: str | None = None) -> list[str]:
        """Usable method keys, all or those of one `kind` (``detector`` or ``defence``)."""
        return [k for k in self.usable() if kind is None or self.get(k).kind == kind]


def _methods_section(path: str | Path) -> dict[str, Any]:
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("methods", {}), dict):
        raise RegistryError(f"{path}: expected a top-level 'methods:' mapping")
    return data.get("methods") or {}


def read_methods(path: str | Path, source: str = "") -> dict[str, MethodEntry]:
    """Every method of a registry file, validated; the first bad entry raises `RegistryError`."""
    return {k: _entry(k, v, str(path), source) for k, v in _methods_section(path).items()}


def _entry(key: str, raw: Any, origin: str, source: str = "") -> MethodEntry:
    if not isinstance(raw, dict):
        raise RegistryError(f"{origin}: method '{key}' must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise RegistryError(f"{origin}: method '{key}': unknown field(s) {', '.join(unknown)}; "
                            f"known: {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)}")
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
    if not isinstance(raw["configs"], dict) or not {"mini", "paper"} <= set(raw["configs"]):
        raise RegistryError(f"{origin}: method '{key}': configs must name 'mini' and 'paper', "
                            f"got {sorted(raw['configs']) if isinstance(raw['configs'], dict) else raw['configs']!r}")
    known = {f: raw.get(f, {}) for f in REQUIRED_FIELDS}
    known["tasks"] = tuple(known["tasks"])
    return MethodEntry(key=key, origin=origin, kind=kind, base=str(Path(origin).parent),
                       source=source, **known)


# -- the extension points ------------------------------------------------------------------------
# Every registry a plugin can add to. They start empty and are filled on first use by the loader
# (`benchmark.plugins`, which sets `_LOADER` when `benchmark` is imported): the built-ins, the
# `vbench.plugins` entry points of installed packages, and `--include` / `$VBENCH_PATH` folders.
_LOADER: list[Callable[[], None]] = []


def _fill() -> None:
    for load in _LOADER:
        load()


def set_loader(load: Callable[[], None]) -> None:
    """Makes ``load`` the function that fills every extension point on first use."""
    _LOADER[:] = [load]


METHODS = MethodRegistry(fill=_fill)                                  # detectors and defences
PROTOCOLS: Registry = Registry("protocol", _fill)                     # module or object
LAYOUTS: Registry = Registry("dataset layout", _fill)                 # reader(path, options, log)
DATASETS: Registry = Registry("dataset", _fill)                       # builder(seed) -> manifest
FRAME_FUNCTIONS: Registry = Registry("frame function", _fill)         # @frame_function fn
PERTURBATION_FILES: Registry = Registry("perturbation file", _fill)   # a YAML perturbation set
# (target, source) of every metric a plugin declared; the metric catalog
# (`benchmark.metric_catalog.CATALOG`) reads them on its first use.
METRIC_DECLARATIONS: list[tuple[Any, str]] = []
_REFILL_HOOKS: list[Callable[[], None]] = []
EXTENSION_POINTS: dict[str, Registry] = {
    "methods": METHODS, "protocols": PROTOCOLS, "layouts": LAYOUTS, "datasets": DATASETS,
    "frame_functions": FRAME_FUNCTIONS, "perturbations": PERTURBATION_FILES}


def ensure_filled() -> None:
    """Runs the loader now if it has not run yet."""
    METHODS.names()


def metric_declarations() -> list[tuple[Any, str]]:
    """Every metric declaration of every plugin, in loading order."""
    ensure_filled()
    return list(METRIC_DECLARATIONS)


def on_refill(hook: Callable[[], None]) -> None:
    """Calls ``hook`` whenever the extension points are emptied (a catalog of its own resets)."""
    _REFILL_HOOKS.append(hook)


def refill() -> None:
    """Empties every extension point; the next lookup runs the loader again (tests, --include)."""
    for point in EXTENSION_POINTS.values():
        point.reset(_fill)
    METRIC_DECLARATIONS.clear()
    for hook in _REFILL_HOOKS:
        hook()


def registry(path: str | Path | None = None) -> MethodRegistry:
    """Every method (the built-ins and every plugin's), or the methods of one registry file."""
    return METHODS if path is None else MethodRegistry.from_file(path)
