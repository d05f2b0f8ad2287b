"""The core's import graph, read from the source with `ast` (nothing is imported).

Two rules of docs/ARCHITECTURE.md and STYLE.md, checked on every module under ``benchmark/``:

* the core never imports a plugin (``detectors``, ``protocols`` or their submodules);
* the core has no import circles. Imports inside functions count as much as module-level ones:
  an import moved into a function still runs, it only hides the circle.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = "benchmark"
PLUGINS = ("detectors", "protocols")
# Edges allowed to close a circle, each with the reason it cannot be opened. Keep it empty.
ALLOWED_CYCLE_EDGES: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``file:line`` (``where``: module level or a function)."""

    source: str
    target: str
    file: str
    line: int
    where: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} ({self.where}): {self.source} -> {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def core_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / CORE).rglob("*.py"))}


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join(base + ([name] if name else []))


def _deepest(name: str, known: set[str]) -> str | None:
    """The longest prefix of dotted ``name`` that is a known module."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


class _Imports(ast.NodeVisitor):
    """Every imported dotted name with its line and scope (module level or the function's name)."""

    def __init__(self, module: str, is_package: bool):
        self.module, self.is_package = module, is_package
        self.found: list[tuple[str, int, str]] = []
        self.scope: list[str] = []

    def _where(self) -> str:
        return "in " + ".".join(self.scope) + "()" if self.scope else "module level"

    def _function(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, node.lineno, self._where()))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = (_resolve_relative(self.module, self.is_package, node.level, node.module)
                if node.level else node.module or "")
        for alias in node.names:
            # `from a import b` imports module a.b when there is one, else the name b of a
            self.found.append((f"{base}.{alias.name}" if alias.name != "*" else base,
                               node.lineno, self._where()))


def imports_of(module: str, path: Path) -> list[tuple[str, int, str]]:
    visitor = _Imports(module, path.name == "__init__.py")
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return visitor.found


def _file(path: Path) -> str:
    return str(path.relative_to(ROOT))


def graph() -> tuple[list[Edge], list[Edge]]:
    """(edges between core modules, imports of plugins) over all of ``benchmark/``."""
    modules = core_modules()
    known = set(modules)
    internal, plugin = [], []
    for module, path in modules.items():
        for name, line, where in imports_of(module, path):
            top = name.split(".")[0]
            if top in PLUGINS:
                plugin.append(Edge(module, name, _file(path), line, where))
            elif top == CORE:
                for target in _targets(module, name, known):
                    edge = Edge(module, target, _file(path), line, where)
                    if edge not in internal:  # `from m import a, b` is one edge
                        internal.append(edge)
    return internal, plugin


def _targets(module: str, name: str, known: set[str]) -> list[str]:
    """The modules an import of ``name`` runs: the deepest known one, and the ``__init__`` of each
    package above it that ``module`` is not inside (a package's own modules find it already
    importing)."""
    deepest = _deepest(name, known)
    if deepest is None:
        return []
    parts = deepest.split(".")
    packages = [".".join(parts[:end]) for end in range(2, len(parts))]
    out = [p for p in packages if p in known and not module.startswith(p + ".")] + [deepest]
    return [t for t in out if t != module]


def cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    succ: dict[str, set[str]] = {}
    for e in edges:
        succ.setdefault(e.source, set()).add(e.target)
        succ.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        # iterative: a recursive Tarjan can hit the recursion limit on a long chain
        work = [(node, iter(sorted(succ[node])))]
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(succ[child]))))
                elif child in on_stack:
                    low[current] = min(low[current], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for node in sorted(succ):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_core_imports_no_plugin():
    _, plugin = graph()
    assert not plugin, ("benchmark/ (the core) must not import detectors/ or protocols/ (plugins "
                        "import the core, never the other way):\n  "
                        + "\n  ".join(map(str, plugin)))


def test_the_core_has_no_import_circles():
    internal, _ = graph()
    counted = [e for e in internal if (e.source, e.target) not in ALLOWED_CYCLE_EDGES]
    found = cycles(counted)
    report = []
    for component in found:
        members = set(component)
        inside = [e for e in counted if e.source in members and e.target in members]
        report.append("circle among " + ", ".join(component) + ":\n    "
                      + "\n    ".join(map(str, inside)))
    assert not found, ("import circles in benchmark/ (open them by inverting a dependency, not by "
                       "moving an import into a function):\n  " + "\n  ".join(report))


def test_importing_a_submodule_runs_its_package():
    known = {"benchmark.defences", "benchmark.defences.images", "benchmark.defence"}
    assert _targets("benchmark.defence", "benchmark.defences.images.rgb_array", known) == [
        "benchmark.defences", "benchmark.defences.images"]
    assert _targets("benchmark.defences.efficacy", "benchmark.defences.images", known) == [
        "benchmark.defences.images"]


@pytest.mark.parametrize("source, expected", [
    ("import benchmark.data.prepare\n", ["benchmark.data.prepare"]),
    ("from benchmark.data import prepare\n", ["benchmark.data.prepare"]),
    ("from benchmark.data.prepare import PreparedData\n", ["benchmark.data.prepare"]),
    ("from . import prepare\n", ["benchmark.data.prepare"]),
    ("from .. import registry\n", ["benchmark.registry"]),
    ("def f():\n    from .prepare import prepare_data\n", ["benchmark.data.prepare"]),
    ("import numpy\n", []),
])
def test_imports_are_resolved(source, expected):
    """Absolute, relative, `from package import module` and function-level imports all count."""
    known = set(core_modules())
    found = [_deepest(name, known) for name, _, _ in _collect("benchmark.data.several", source)]
    assert [f for f in found if f is not None] == expected


def _collect(module: str, source: str) -> list[tuple[str, int, str]]:
    visitor = _Imports(module, False)
    visitor.visit(ast.parse(source))
    return visitor.found


def test_cycles_are_found():
    edges = [Edge("a", "b", "a.py", 1, "module level"), Edge("b", "c", "b.py", 1, "in f()"),
             Edge("c", "a", "c.py", 1, "module level"), Edge("c", "d", "c.py", 2, "module level")]
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles(edges[1:]) == []
