"""What `vbench ls` prints: every entry of an extension point with where it came from."""
from __future__ import annotations

from typing import Callable

from benchmark import plugins
from benchmark.protocol import get_protocol
from benchmark.registry import (DATASETS, LAYOUTS, METHODS, PERTURBATION_FILES, PROTOCOLS,
                                Registry)


def list_entries(kind: str) -> tuple[list[str], list[str]]:
    """(lines to print, problems) for ``vbench ls KIND``.

    A problem is a name of that kind declared twice (never silently overridden); the CLI prints
    each as an error line and exits 2. An entry with a bad field and a plugin that failed to load
    are listed with the reason (they raise only when used, so the rest keeps working).
    """
    lines, problems = LISTERS[kind]()
    failed = [r for r in plugins.records() if r.error]
    if failed and kind != "plugins":
        lines.append(f"({len(failed)} plugin(s) failed to load; their entries are missing: "
                     f"vbench ls plugins)")
    return lines, problems


def _problems(point: Registry) -> tuple[list[str], list[str]]:
    """Lines for the unusable entries of ``point`` (with why), and its duplicate names."""
    bad = [name for name in point.names() if point.problem(name)]
    return ([f"{name:18s} UNUSABLE: {point.problem(name)}" for name in bad],
            [point.problem(name) for name in point.duplicates()])


def _methods() -> tuple[list[str], list[str]]:
    lines = []
    for key in METHODS.usable():
        entry = METHODS.get(key)
        paper = entry.paper
        lines.append(f"{key:14s} {entry.kind:9s} {'/'.join(entry.tasks):18s} "
                     f"{', '.join(entry.configs):12s} {paper.get('title', '')} "
                     f"(arXiv {paper.get('arxiv', '?')})  [{entry.source or 'registry file'}]")
    more, problems = _problems(METHODS)
    return lines + more, problems


def _protocols() -> tuple[list[str], list[str]]:
    lines = []
    for name in PROTOCOLS.usable():
        protocol = get_protocol(name)
        lines.append(f"{name} (version {protocol.version}): {protocol.description}  "
                     f"[{PROTOCOLS.source(name)}]")
        lines.append(f"  primary metric: {protocol.primary.label}")
        lines.extend(f"  --option {option.describe()}" for option in protocol.options.values())
    more, problems = _problems(PROTOCOLS)
    return lines + more, problems


def _datasets() -> tuple[list[str], list[str]]:
    lines = [f"{name:18s} {DATASETS.description(name)}  [{DATASETS.source(name)}]"
             for name in DATASETS.usable()]
    for name in LAYOUTS.usable():
        meta = LAYOUTS.meta(name)
        lines.append(f"{'layout:' + name:18s} {LAYOUTS.description(name)}  [{LAYOUTS.source(name)}]")
        lines += [f"{'':18s}   {key}: {meta[key]}" for key in ("reads", "sources") if meta.get(key)]
    d_lines, d_problems = _problems(DATASETS)
    l_lines, l_problems = _problems(LAYOUTS)
    return lines + d_lines + l_lines, d_problems + l_problems


def _perturbations() -> tuple[list[str], list[str]]:
    from benchmark.perturb.config import default_set

    pset = default_set()
    lines = [f"{name:22s} levels 1-{len(p.levels)}  {p.description}  [{p.origin}]"
             for name, p in pset.perturbations.items()]
    files = [f"file: {PERTURBATION_FILES.get(n)}  [{PERTURBATION_FILES.source(n)}]"
             for n in PERTURBATION_FILES.usable()]
    more, problems = _problems(PERTURBATION_FILES)
    return lines + files + more, problems


def _plugins() -> tuple[list[str], list[str]]:
    records = plugins.records()
    lines = [f"{r.name:22s} {'FAILED: ' + r.error if r.error else 'loaded'}  [{r.source}]"
             for r in records]
    return lines, []


def _metrics() -> tuple[list[str], list[str]]:
    from benchmark.metric_catalog import CATALOG

    better = {"high": "higher is better", "low": "lower is better", "text": "(a column)"}
    lines = [f"{m.key:22s} {m.label:24s} {better[m.direction]:16s} {'/'.join(m.tasks) or '-':18s} "
             f"[{CATALOG.source(m.key)}]" for m in CATALOG]
    return lines, []


LISTERS: dict[str, Callable[[], tuple[list[str], list[str]]]] = {
    "methods": _methods, "protocols": _protocols, "datasets": _datasets, "metrics": _metrics,
    "perturbations": _perturbations, "plugins": _plugins}
