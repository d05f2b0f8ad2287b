"""The plugin loader: one door through which every extension point is filled.

Sources, in this order, all loaded the same way:

1. the built-ins (`BUILTIN`: vbench's own plugin modules, also declared as vbench's entry points);
2. installed packages' entry points in the group ``vbench.plugins``;
3. ``$VBENCH_PATH`` (``os.pathsep``-separated) and ``--include PATH``: folders of plugin modules
   and registry files, or single files.

A plugin is a Python module with a ``register(plugin)`` function (it gets a `PluginContext`) or a
registry file (YAML with the sections of `SECTIONS`; paths in it resolve against the file). A
plugin declares names and lazy ``"module:attr"`` targets; code is imported when an entry is used.

Failures stay local: a plugin that cannot be imported, or an entry with an unknown field, is
recorded (`vbench ls plugins` shows it) and raises `RegistryError` naming the plugin and its
source only when it is used; a name declared twice raises naming both sources when it is used.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from benchmark import registry as R
from benchmark.errors import RegistryError, VBenchError

GROUP = "vbench.plugins"
DIST = "vbench"
# vbench's own plugins: also its entry points in pyproject.toml (a test keeps the two equal).
BUILTIN: dict[str, str] = {
    "core": "benchmark.builtin:register",
    "detectors": "detectors:register",
    "protocols": "protocols:register",
    "layouts": "layouts:register",
}
ENV_PATH = "VBENCH_PATH"
BUILTIN_SOURCE = "vbench built-in plugin"
SECTIONS = ("version", "methods", "protocols", "layouts", "datasets", "frame_functions",
            "perturbations", "metrics")
REGISTRY_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class PluginRecord:
    """One loaded (or failed) plugin, as `vbench ls plugins` shows it."""

    name: str
    source: str
    error: str = ""


_STATE: dict[str, Any] = {"includes": [], "records": [], "loading": False}


class PluginContext:
    """What a plugin's ``register(plugin)`` gets: one method per extension point.

    Targets are ``"module:attr"`` strings (imported when the entry is first used) or the objects
    themselves. Relative file paths resolve against ``folder`` (the plugin module's folder).

    Attributes:
        name: the plugin's name (entry point name, file stem, or ``builtin:<name>``).
        source: where it came from, e.g. ``entry point 'example' of vbench-example 0.1.0``.
        folder: the folder its relative paths resolve against.
    """

    def __init__(self, name: str, source: str, folder: Path):
        self.name, self.source, self.folder = name, source, Path(folder)

    def _path(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        return path if path.is_absolute() else self.folder / path

    def registry_file(self, path: str | os.PathLike) -> None:
        """Every section of a registry file (methods, protocols, ...); paths resolve against it."""
        load_registry_file(self._path(path), self.source)

    def protocol(self, name: str, target: Any, description: str = "") -> None:
        """A protocol: a module (or object) with the `benchmark.protocol` contract."""
        R.PROTOCOLS.register(name, target, description, source=self.source)

    def layout(self, name: str, reader: Any, description: str, detect: Any = None,
               priority: int = 50, reads: str = "", sources: str = "") -> None:
        """A data layout: ``reader(path, options, log) -> rows``; ``detect(path) -> bool`` lets
        `--data FOLDER` find it (lower ``priority`` is tried first; the built-in catch-all
        ``generator_folders`` is 90). ``reads``: which published files and which version of them
        the reader reads; ``sources``: how it groups videos into sources (`vbench data inspect`
        and dataset cards print both)."""
        R.LAYOUTS.register(name, reader, description, source=self.source, detect=detect,
                           priority=int(priority), reads=str(reads), sources=str(sources))

    def dataset(self, name: str, builder: Any, description: str) -> None:
        """A named dataset (``--data NAME``): ``builder(seed) -> manifest path``."""
        R.DATASETS.register(name, builder, description, source=self.source)

    def frame_function(self, name: str, target: Any) -> None:
        """A frame function (decorated with ``@frame_function``) that perturbations can name."""
        R.FRAME_FUNCTIONS.register(name, target, source=self.source)

    def perturbations(self, path: str | os.PathLike) -> None:
        """A perturbation-set YAML file whose perturbations join the default set."""
        file = self._path(path)
        R.PERTURBATION_FILES.register(str(file), file, f"perturbations of {self.name}",
                                      source=self.source)

    def metric(self, metric: Any) -> None:
        """A `benchmark.api.Metric` (or ``"module:attr"`` naming one, or a sequence of them);
        imported when the metric catalog is first used."""
        R.METRIC_DECLARATIONS.append((metric, self.source))


# -- sources ---------------------------------------------------------------------------------------
def include(paths: Iterable[str | os.PathLike]) -> None:
    """Adds ``--include`` paths (before the first lookup, or the registries are filled again).

    Raises:
        RegistryError: a path that does not exist.
    """
    paths = [Path(p).expanduser().resolve() for p in paths]
    for path in paths:
        if not path.exists():
            raise RegistryError(f"--include {path}: no such file or folder")
    new = [p for p in paths if p not in _STATE["includes"]]
    if new:
        _STATE["includes"].extend(new)
        # subprocesses (DataLoader workers started by spawn, torchrun ranks) see the same plugins
        os.environ[ENV_PATH] = os.pathsep.join(map(str, _env_paths() + new))
        R.refill()


def _env_paths() -> list[Path]:
    raw = os.environ.get(ENV_PATH, "")
    return [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]


def records() -> list[PluginRecord]:
    """Every plugin the loader saw, loaded or failed (after the registries were filled)."""
    R.METHODS.names()  # fills every extension point
    return list(_STATE["records"])


def load() -> None:
    """Fills every extension point from every source (called once, on first lookup)."""
    if _STATE["loading"]:
        return
    _STATE["loading"], _STATE["records"] = True, []
    try:
        for point in R.EXTENSION_POINTS.values():
            point._fill = None  # filled now: a lookup during loading sees what is there so far
        for name, value in BUILTIN.items():
            _load_module(f"builtin:{name}", value, f"{BUILTIN_SOURCE} '{name}'")
        for ep in _entry_points():
            dist = getattr(ep.dist, "name", None) or "an installed package"
            if _normal(dist) == DIST:
                continue  # vbench's own entry points are BUILTIN, loaded above
            version = getattr(ep.dist, "version", "")
            _load_module(ep.name, ep.value, f"entry point '{ep.name}' of {dist} {version}".strip())
        seen: set[Path] = set()
        for path in _env_paths() + list(_STATE["includes"]):
            if path not in seen:
                seen.add(path)
                _load_path(path)
    finally:
        _STATE["loading"] = False


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=GROUP), key=lambda ep: (ep.name, ep.value))


def _load_path(path: Path) -> None:
    """An include path: a plugin package (a folder with ``__init__.py``), a registry file, a
    plugin module file, or a folder of those (its registry files, modules and packages)."""
    source = f"--include {path}"
    if path.is_dir() and (path / "__init__.py").is_file():
        _load_file_module(path, source)
    elif path.is_dir():
        for item in sorted(p for p in path.iterdir() if not p.name.startswith(("_", "."))):
            if item.is_file() and item.suffix in REGISTRY_SUFFIXES:
                _load_registry(item, f"{source} ({item.name})")
            elif (item.is_file() and item.suffix == ".py") or (item / "__init__.py").is_file():
                _load_file_module(item, f"{source} ({item.name})")
    elif path.suffix in REGISTRY_SUFFIXES:
        _load_registry(path, source)
    elif path.suffix == ".py":
        _load_file_module(path, source)
    else:
        _fail(path.name, source, "an --include path is a folder, a plugin package, a registry "
                                 ".yaml file or a plugin .py module")


def _load_registry(file: Path, source: str) -> None:
    folder = str(file.parent)  # its "module:attr" targets may be modules beside it
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        load_registry_file(file, source)
    except VBenchError as err:
        _fail(file.stem, source, str(err))
        return
    _STATE["records"].append(PluginRecord(file.stem, source))


def _load_file_module(path: Path, source: str) -> None:
    """A plugin module file or package folder; its parent goes on ``sys.path`` so that it and
    its ``"module:attr"`` targets import by name (also in DataLoader workers)."""
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = path.stem if path.is_file() else path.name
    _load_module(name, name, source)


def _load_module(name: str, value: str, source: str) -> None:
    module_name, _, attr = value.partition(":")
    try:
        module = importlib.import_module(module_name)
        hook = getattr(module, attr or "register", None)
        if not callable(hook):
            raise RegistryError(f"'{value}' has no register(plugin) function")
        folder = Path(module.__file__).resolve().parent if getattr(module, "__file__", None) else Path()
        hook(PluginContext(name, source, folder))
    except VBenchError as err:
        _fail(name, source, str(err))
        return
    except Exception as err:  # a plugin's own bug or missing dependency: keep the others working
        _fail(name, source, f"{type(err).__name__}: {err}")
        return
    _STATE["records"].append(PluginRecord(name, source))


def _fail(name: str, source: str, message: str) -> None:
    _STATE["records"].append(PluginRecord(name, source, message))
    note = f"plugin '{name}' ({source}) failed to load and may define it: {message}"
    for point in R.EXTENSION_POINTS.values():
        point.notes.append(note)


# -- registry files ----------------------------------------------------------------------------
def load_registry_file(file: Path, source: str) -> None:
    """Registers every section of a registry file (see `SECTIONS`).

    Raises:
        RegistryError: the file is not a mapping or has an unknown section; a bad entry becomes a
            problem of that name only.
    """
    data = R.load_yaml(file)
    if not isinstance(data, dict):
        raise RegistryError(f"{file}: a registry file is a mapping of sections {', '.join(SECTIONS)}")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise RegistryError(f"{file}: unknown section(s) {', '.join(map(str, unknown))}; known: "
                            f"{', '.join(SECTIONS)}")
    ctx = PluginContext(file.stem, source, file.parent)
    if "methods" in data:
        R.METHODS.add_file(file, source)
    for section, add in (("protocols", _protocol), ("layouts", _layout), ("datasets", _dataset),
                         ("frame_functions", _frame_function)):
        for name, raw in _section(data, section, file).items():
            try:
                add(ctx, str(name), raw)
            except (RegistryError, TypeError, ValueError) as err:
                R.EXTENSION_POINTS[section].add_problem(str(name), source, f"{file}: {err}")
    for key, value in (("metrics", "'module:attr' targets of Metric declarations"),
                       ("perturbations", "perturbation-set YAML files")):
        if not isinstance(data.get(key) or [], list):
            raise RegistryError(f"{file}: section '{key}' must be a list of {value}")
    for target in data.get("metrics") or []:
        ctx.metric(target)
    for path in data.get("perturbations") or []:
        ctx.perturbations(path)


def _section(data: dict, section: str, file: Path) -> dict:
    value = data.get(section) or {}
    if not isinstance(value, dict):
        raise RegistryError(f"{file}: section '{section}' must be a mapping of names to entries")
    return value


def _fields(raw: Any, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict:
    if isinstance(raw, str):
        raw = {"target": raw}
    if not isinstance(raw, dict):
        raise RegistryError(f"expected 'module:attr' or a mapping with {', '.join(allowed)}, "
                            f"got {raw!r}")
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise RegistryError(f"unknown field(s) {', '.join(map(str, unknown))}; known: "
                            f"{', '.join(allowed)}")
    missing = [f for f in required if f not in raw]
    if missing:
        raise RegistryError(f"lacks {', '.join(missing)}")
    return raw


def _protocol(ctx: PluginContext, name: str, raw: Any) -> None:
    raw = _fields(raw, ("target", "description"), ("target",))
    ctx.protocol(name, raw["target"], str(raw.get("description", "")))


def _layout(ctx: PluginContext, name: str, raw: Any) -> None:
    raw = _fields(raw, ("target", "description", "detect", "priority", "reads", "sources"),
                  ("target", "description"))
    ctx.layout(name, raw["target"], str(raw["description"]), raw.get("detect"),
               int(raw.get("priority", 50)), str(raw.get("reads", "")), str(raw.get("sources", "")))


def _dataset(ctx: PluginContext, name: str, raw: Any) -> None:
    raw = _fields(raw, ("target", "description"), ("target", "description"))
    ctx.dataset(name, raw["target"], str(raw["description"]))


def _frame_function(ctx: PluginContext, name: str, raw: Any) -> None:
    ctx.frame_function(name, _fields(raw, ("target",), ("target",))["target"])


def is_builtin(source: str) -> bool:
    """Whether ``source`` (an entry's) is one of vbench's own plugins."""
    return source.startswith(BUILTIN_SOURCE)


def outside_code(method: str, protocol: str) -> list[Path]:
    """The folders of the outside plugins that provide ``method`` and ``protocol`` (their code
    joins the run key's code version); empty for the built-ins."""
    folders = []
    entry = R.METHODS.get(method)
    if not is_builtin(entry.source):
        folders.append(Path(entry.base))
        code = find_spec_folder(entry.entry_point.partition(":")[0])
        folders += [code] if code is not None else []
    if not is_builtin(R.PROTOCOLS.source(protocol)):
        target = R.PROTOCOLS.get(protocol)
        module = sys.modules.get(getattr(target, "__module__", None) or getattr(target, "__name__", ""))
        if module is not None and getattr(module, "__file__", None):
            folders.append(Path(module.__file__).resolve().parent)
    return folders


def find_spec_folder(module: str) -> Path | None:
    """The folder of an importable module without importing it (None if not found)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).resolve().parent


R.set_loader(load)
