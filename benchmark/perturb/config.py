"""Perturbation sets (versioned YAML), grid validation, seeds and `apply`.

A perturbation is a name with levels 1..L; each level is a chain of steps ``(frame function,
params)``. The YAML says it in one of two forms (see ``perturbations.yaml``):

- graded: ``fn``, fixed ``params``, the parameter that varies (``vary``) and its value per level
  (``levels: [v1, v2, ...]``);
- chain: ``levels: [[step, step, ...], ...]`` where a step is ``{fn: name, params: {...}}`` or
  ``{perturbation: other, level: k}`` (the steps of another perturbation's level k).

A set is identified by the versions of its files and a hash of their parsed content
(`PerturbationSet.identity`); a single (perturbation, level) by `PerturbationSet.key`, the hash of
its resolved steps and function versions, so adding a level or a perturbation leaves every other
key (and the scores cached under it) valid.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from benchmark.errors import UnknownKeyError
from benchmark.perturb.errors import PerturbationSpecError
from benchmark.perturb.functions import check_params, function_spec
from benchmark.registry import PERTURBATION_FILES, load_yaml

DEFAULT_SET = Path(__file__).with_name("perturbations.yaml")
FORMAT_VERSION = 1  # of the YAML schema this module reads


@dataclass(frozen=True)
class Step:
    """One frame function with its parameters."""

    fn: str
    params: tuple[tuple[str, Any], ...]

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class Perturbation:
    """A named perturbation: ``levels[k - 1]`` is the chain of steps of level k."""

    name: str
    levels: tuple[tuple[Step, ...], ...]
    description: str = ""
    cite: tuple[str, ...] = ()
    origin: str = ""

    def steps(self, level: Any) -> tuple[Step, ...]:
        """The steps of ``level`` (an int in 1..L); raises `PerturbationSpecError` otherwise."""
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)):
            raise PerturbationSpecError(
                f"level {level!r} of perturbation '{self.name}' is not a level: levels are the "
                f"integers 1..{len(self.levels)} ({self.origin})")
        if not 1 <= level <= len(self.levels):
            raise PerturbationSpecError(
                f"level {level} of perturbation '{self.name}' is outside the declared range "
                f"1..{len(self.levels)} ({self.origin})")
        return self.levels[int(level) - 1]

    @property
    def scope(self) -> str:
        """``frame`` when every step of every level is per-frame, else ``video``."""
        scopes = {function_spec(s.fn).scope for level in self.levels for s in level}
        return "video" if "video" in scopes else "frame"

    @property
    def changes(self) -> tuple[str, ...]:
        """What some level may change: ``size`` and/or ``frames``."""
        found = {c for level in self.levels for s in level for c in function_spec(s.fn).changes}
        return tuple(sorted(found))


class PerturbationSet:
    """The perturbations of one or more YAML files.

    Attributes:
        perturbations: name -> `Perturbation`.
        versions: file -> its ``version:``.
        content_hash: sha256 of the parsed content of every file, in order.
    """

    def __init__(self, perturbations: dict[str, Perturbation], versions: dict[str, Any],
                 content_hash: str):
        self.perturbations, self.versions, self.content_hash = perturbations, versions, content_hash

    @property
    def identity(self) -> str:
        """``"v<version>[+v<version>...]-<12 hex>"``: for run keys and ``run.json``."""
        versions = "+".join(f"v{v}" for v in self.versions.values())
        return f"{versions}-{self.content_hash[:12]}"

    def names(self) -> list[str]:
        return list(self.perturbations)

    def get(self, name: str) -> Perturbation:
        if name not in self.perturbations:
            raise UnknownKeyError("perturbation", name, self.perturbations)
        return self.perturbations[name]

    def key(self, name: str, level: int) -> str:
        """sha256 of what (name, level) computes: its steps and the versions of their functions."""
        steps = [[s.fn, function_spec(s.fn).version, list(map(list, s.params))]
                 for s in self.get(name).steps(level)]
        return hashlib.sha256(json.dumps(steps, sort_keys=True, default=str).encode()).hexdigest()


# -- loading ---------------------------------------------------------------------------------------
def plugin_files() -> list[Path]:
    """The perturbation files every plugin declared, built-ins first (``perturbations.yaml``)."""
    return [Path(PERTURBATION_FILES.get(name)) for name in PERTURBATION_FILES.usable()]


def load_perturbation_set(extra: Sequence[str | Path] = (), base: str | Path | None | list = "plugins"
                          ) -> PerturbationSet:
    """Reads the base files and user files (``extra``) that add perturbations/chains.

    Args:
        extra: more perturbation files (e.g. the robustness option ``perturbation_file``).
        base: ``"plugins"`` (default): the files of every plugin (`plugin_files`, the built-in
            ``perturbations.yaml`` first); a path; or None for none.

    Raises:
        PerturbationSpecError: a malformed file, a name defined twice, a bad level list or step.
        UnknownKeyError: a step names an unknown frame function, parameter or perturbation.
    """
    if isinstance(base, list):
        bases = [Path(b) for b in base]
    else:
        bases = plugin_files() if base == "plugins" else [] if base is None else [Path(base)]
    files = bases + [Path(p) for p in extra]
    raw: dict[str, tuple[Mapping, str]] = {}
    versions, digest = {}, hashlib.sha256()
    for file in files:
        data = load_yaml(file)
        origin = str(file)
        _check_file(data, origin)
        versions[origin] = data["version"]
        digest.update(json.dumps(data, sort_keys=True, default=str).encode())
        for name, entry in data["perturbations"].items():
            if name in raw:
                raise PerturbationSpecError(f"{origin}: perturbation '{name}' is already defined "
                                            f"in {raw[name][1]}")
            raw[name] = (entry, origin)
    resolved: dict[str, Perturbation] = {}
    for name in raw:
        _resolve(name, raw, resolved, ())
    return PerturbationSet(resolved, versions, digest.hexdigest())


def _check_file(data: Any, origin: str) -> None:
    if not isinstance(data, dict) or "version" not in data:
        raise PerturbationSpecError(f"{origin}: a perturbation set needs a top-level 'version:'")
    if not isinstance(data.get("perturbations"), dict) or not data["perturbations"]:
        raise PerturbationSpecError(f"{origin}: expected a non-empty 'perturbations:' mapping")
    if data.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        raise PerturbationSpecError(f"{origin}: format {data['format']!r} is not the one this "
                                    f"vbench reads ({FORMAT_VERSION})")


def _resolve(name: str, raw: Mapping[str, tuple[Mapping, str]], done: dict[str, Perturbation],
             stack: tuple[str, ...]) -> Perturbation:
    """Builds perturbation ``name``, first resolving the perturbations its steps refer to."""
    if name in done:
        return done[name]
    if name in stack:
        raise PerturbationSpecError(f"{raw[name][1]}: perturbation '{name}' refers to itself "
                                    f"through {' -> '.join(stack + (name,))}")
    entry, origin = raw[name]
    where = f"{origin}: perturbation '{name}'"
    if not isinstance(entry, dict) or not isinstance(entry.get("levels"), list) or not entry["levels"]:
        raise PerturbationSpecError(f"{where}: needs a non-empty 'levels:' list")
    if "fn" in entry:
        levels = [_graded_level(entry, value, f"{where} level {k}")
                  for k, value in enumerate(entry["levels"], 1)]
    else:
        levels = [_chain_level(steps, raw, done, stack + (name,), f"{where} level {k}")
                  for k, steps in enumerate(entry["levels"], 1)]
    cite = entry.get("cite", ())
    done[name] = Perturbation(name, tuple(levels), str(entry.get("description", "")).strip(),
                              tuple([cite] if isinstance(cite, str) else cite), origin)
    return done[name]


def _step(fn: Any, params: Any, where: str) -> Step:
    if not isinstance(fn, str) or not isinstance(params, dict):
        raise PerturbationSpecError(f"{where}: a step is {{fn: <name>, params: {{...}}}}, got "
                                    f"fn={fn!r}, params={params!r}")
    check_params(fn, params, where, local=False)  # codecs are checked when a grid asks for them
    return Step(fn, tuple(sorted(params.items())))


def _graded_level(entry: Mapping, value: Any, where: str) -> tuple[Step, ...]:
    params = dict(entry.get("params") or {})
    if "vary" not in entry:
        raise PerturbationSpecError(f"{where}: a graded perturbation names the parameter its levels "
                                    f"set ('vary:')")
    params[entry["vary"]] = value
    return (_step(entry["fn"], params, where),)


def _chain_level(steps: Any, raw: Mapping[str, tuple[Mapping, str]], done: dict[str, Perturbation],
                 stack: tuple[str, ...], where: str) -> tuple[Step, ...]:
    if not isinstance(steps, list) or not steps:
        raise PerturbationSpecError(f"{where}: a chain level is a non-empty list of steps, got "
                                    f"{steps!r}")
    out: list[Step] = []
    for i, step in enumerate(steps, 1):
        here = f"{where} step {i}"
        if isinstance(step, dict) and "perturbation" in step:
            other = step["perturbation"]
            if other not in raw:
                raise UnknownKeyError(f"perturbation ({here})", other, raw)
            out.extend(_resolve(other, raw, done, stack).steps(step.get("level")))
        elif isinstance(step, dict) and set(step) <= {"fn", "params"}:
            out.append(_step(step.get("fn"), step.get("params", {}), here))
        else:
            raise PerturbationSpecError(f"{here}: a step is {{fn: <name>, params: {{...}}}} or "
                                        f"{{perturbation: <name>, level: <k>}}, got {step!r}")
    return tuple(out)


_DEFAULT: dict[tuple[Path, ...], PerturbationSet] = {}


def default_set() -> PerturbationSet:
    """The set of every plugin's perturbation files (``perturbations.yaml`` beside this module
    for the built-ins; read once)."""
    files = tuple(plugin_files())
    if files not in _DEFAULT:
        _DEFAULT[files] = load_perturbation_set(base=list(files))
    return _DEFAULT[files]


# -- grids and seeds -------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridPoint:
    """One (perturbation, level) of a validated grid and its `PerturbationSet.key`."""

    perturbation: str
    level: int
    key: str


def validate_grid(grid: Mapping[str, Any] | Iterable[Any],
                  pset: PerturbationSet | None = None) -> list[GridPoint]:
    """Checks a grid before any video is read and lists its points.

    Args:
        grid: ``{name: [levels] | "all"}``, or a list of names (all levels) and/or
            ``(name, level)`` pairs.
        pset: the perturbation set; the default one when None.

    Returns:
        The points in grid order.

    Raises:
        UnknownKeyError: an unknown perturbation.
        PerturbationSpecError: a level that is not an integer or lies outside the declared range,
            or a step this machine cannot run (e.g. a codec the local FFmpeg lacks).
    """
    pset = pset or default_set()
    points = []
    for name, levels in _grid_items(grid):
        perturbation = pset.get(name)
        wanted = range(1, len(perturbation.levels) + 1) if levels == "all" else levels
        for level in (wanted if isinstance(wanted, (list, tuple, range)) else [wanted]):
            for i, step in enumerate(perturbation.steps(level), 1):
                check_params(step.fn, step.kwargs, f"perturbation '{name}' level {level} step {i} "
                                                   f"({perturbation.origin})", local=True)
            points.append(GridPoint(name, int(level), pset.key(name, level)))
    return points


def _grid_items(grid: Mapping[str, Any] | Iterable[Any]) -> list[tuple[str, Any]]:
    if isinstance(grid, Mapping):
        return list(grid.items())
    items = []
    for item in grid:
        if isinstance(item, str):
            items.append((item, "all"))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            items.append((str(item[0]), [item[1]]))
        else:
            raise PerturbationSpecError(f"grid entry {item!r}: expected a perturbation name or a "
                                        f"(name, level) pair")
    return items


def perturbation_seed(video_id: str, perturbation: str, level: int) -> int:
    """A 63-bit seed from (video id, perturbation, level): the same triple, the same noise."""
    text = "\x1f".join([str(video_id), str(perturbation), str(int(level))])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def perturbation_rng(video_id: str, perturbation: str, level: int) -> np.random.Generator:
    """The generator `apply` should get for this video, perturbation and level."""
    return np.random.default_rng(perturbation_seed(video_id, perturbation, level))
