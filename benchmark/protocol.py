"""The protocol contract: what a protocol module declares and provides (docs/ARCHITECTURE.md).

A protocol is a module declared by a plugin (``plugin.protocol(name, "module")``; the built-ins are
``protocols/``) and found by `get_protocol`. It declares

- ``NAME``, ``VERSION`` (bump when its scores or metrics change; part of every run key),
  ``DESCRIPTION``, ``OPTIONS`` (a tuple of `Option`), ``PRIMARY_METRIC`` (a `Metric` read from
  ``metrics.json["summary"]``; the leaderboard sorts by it) and optionally ``LEADERBOARD`` (more
  summary `Metric` columns), ``METRICS`` (the `Metric` declarations of its own summary keys and
  table columns, added to `benchmark.metric_catalog.CATALOG` when it is loaded),
  ``DEFAULT_DATA`` (the ``--data`` of a run that names none; ``vbench-mini`` when not declared)
  and ``METHOD_KINDS`` (the registry.yaml method kinds it runs; ``("detector",)`` when not
  declared);

and provides

- ``plan(ctx) -> list[Unit]``: the units of work (e.g. one train set each), known before any work;
- ``score(ctx, unit) -> DataFrame``: the tidy per-video score table of one unit (through
  ``ctx.make_detector``, ``ctx.train`` and ``ctx.predict``);
- ``metrics(scores, options) -> dict``: ``rows`` (one dict per table row), ``summary`` (the
  leaderboard numbers) and anything its views need, computed from the score table alone;
- ``views(run) -> dict``: the context of its report partial ``<name>.html.j2`` (and
  ``<name>.md.j2``) beside the module; ``tables(results) -> list[Table]`` for the terminal.

The runner owns everything else: resuming finished units, ``--force``, torchrun sharding,
provenance, saved models and writing.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping

from benchmark.errors import DataError, RegistryError, UnknownKeyError
from benchmark.metric_catalog import CATALOG, Metric
from benchmark.registry import PROTOCOLS

DEFAULT_DATA = "vbench-mini"
METHOD_KINDS = ("detector",)  # a protocol scores clips with detectors unless it says otherwise
REQUIRED = ("NAME", "VERSION", "DESCRIPTION", "OPTIONS", "PRIMARY_METRIC", "plan", "score",
            "metrics", "views", "tables")


def parse_list(text: Any) -> tuple[str, ...]:
    """``"a,b"`` → ``("a", "b")``; a list stays a list of strings; ``""`` → ``()``."""
    if isinstance(text, (list, tuple)):
        return tuple(str(t) for t in text)
    return tuple(part.strip() for part in str(text).split(",") if part.strip())


def parse_bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    low = str(text).strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


@dataclass(frozen=True)
class Option:
    """One typed protocol option (``--option name=value``).

    Attributes:
        name: the option's name.
        default: its value when not given.
        help: one line for ``vbench ls protocols``.
        choices: the allowed values, or None for any value of ``type``.
        type: parses a command-line string (``str``, ``int``, ``float``, `parse_bool`,
            `parse_list`).
    """

    name: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    type: Callable[[Any], Any] = str

    def parse(self, raw: Any) -> Any:
        """The typed value of ``raw``; errors name the option and what it accepts."""
        try:
            value = self.type(raw)
        except (TypeError, ValueError) as exc:
            kind = getattr(self.type, "__name__", "value")
            raise DataError(f"option '{self.name}': expected {kind}, got {raw!r} ({exc})") from None
        if self.choices is not None and value not in self.choices:
            raise UnknownKeyError(f"value of option '{self.name}'", str(value),
                                  [str(c) for c in self.choices])
        return value

    def describe(self) -> str:
        allowed = "|".join(map(str, self.choices)) if self.choices else getattr(
            self.type, "__name__", "value").replace("parse_", "")
        return f"{self.name}={allowed} (default {self.default!r}): {self.help}"


@dataclass(frozen=True)
class Unit:
    """One unit of work of a plan: a name plus what it trains on and scores (JSON-able lists).

    Attributes:
        name: shown in tables; unique within a plan (any characters, any length).
        trains: whether the unit trains a model (which is then saved in the run directory).
        members: named lists the protocol needs, e.g. ``{"train_generators": ("a", "b")}``; stored
            as lists, never joined into strings.
    """

    name: str
    trains: bool = True
    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        """A file name for the unit: readable prefix + digest of the full name (never collides)."""
        return file_stem(self.name)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "trains": self.trains,
                "members": {k: list(v) for k, v in self.members.items()}}


def file_stem(name: str, keep: int = 40) -> str:
    """``"gen a/b"`` → ``"gen_a_b-3f2a9c1b7d"``: safe characters, at most ``keep`` of them, plus
    10 hex of sha256(name), so names that differ only in unsafe characters do not collide."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:keep] or "unit"
    return f"{slug}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


class Protocol:
    """A protocol module, checked against the contract, with its declarations as attributes."""

    def __init__(self, module: ModuleType):
        missing = [name for name in REQUIRED if not hasattr(module, name)]
        if missing:
            raise RegistryError(f"protocol module {module.__name__} lacks {', '.join(missing)} "
                                f"(see benchmark/protocol.py for the contract)")
        self.module = module
        self.name: str = module.NAME
        self.version: str = str(module.VERSION)
        self.description: str = module.DESCRIPTION
        self.options: dict[str, Option] = {o.name: o for o in module.OPTIONS}
        self.primary: Metric = module.PRIMARY_METRIC
        self.leaderboard: tuple[Metric, ...] = (self.primary, *getattr(module, "LEADERBOARD", ()))
        for metric in (*getattr(module, "METRICS", ()), *self.leaderboard):
            CATALOG.add(metric, module.__name__)  # an existing equal declaration: a no-op
        self.folder = Path(module.__file__).resolve().parent
        self.default_data: str = getattr(module, "DEFAULT_DATA", DEFAULT_DATA)
        self.method_kinds: tuple[str, ...] = tuple(getattr(module, "METHOD_KINDS", METHOD_KINDS))

    def parse_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Every declared option's value: given ones parsed and checked, the rest defaults."""
        for name in given:
            if name not in self.options:
                raise UnknownKeyError(f"option of protocol '{self.name}'", str(name), self.options)
        return {name: option.parse(given[name]) if name in given else option.default
                for name, option in self.options.items()}

    def plan(self, ctx) -> list[Unit]:
        units = list(self.module.plan(ctx))
        names = [u.name for u in units]
        if len(set(names)) != len(names):
            raise RegistryError(f"protocol {self.name}: plan has repeated unit names {names}")
        stems = [u.stem for u in units]
        if len(set(stems)) != len(stems):  # a sha256 prefix collision: practically impossible
            raise RegistryError(f"protocol {self.name}: unit file names collide: {stems}")
        return units

    def score(self, ctx, unit: Unit):
        return self.module.score(ctx, unit)

    def metrics(self, scores, options: Mapping[str, Any]) -> dict[str, Any]:
        return self.module.metrics(scores, dict(options))

    def views(self, run) -> dict[str, Any]:
        return self.module.views(run)

    def tables(self, results: Mapping[str, Any]) -> list:
        return self.module.tables(results)

    def partial(self, kind: str) -> str:
        """The report partial's template name (``html`` or ``md``), beside the module."""
        return f"{self.name}.{kind}.j2"


@lru_cache(maxsize=None)
def _checked(module: Any) -> Protocol:
    return Protocol(module)


def get_protocol(name: str) -> Protocol:
    """The `Protocol` registered as ``name`` by any plugin (its module imported on first use)."""
    return _checked(PROTOCOLS.get(name))


def describe() -> dict[str, str]:
    """Name → one-line description (imports each usable protocol module; they are light)."""
    return {name: get_protocol(name).description for name in PROTOCOLS.usable()}
