"""Plain-text tables: the terminal output of a run and the cells of the Markdown report."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from benchmark.metric_catalog import CATALOG


@dataclass(frozen=True)
class Table:
    """A titled table of display strings (a protocol's ``tables(results)`` returns these)."""

    title: str
    headers: list[str]
    rows: list[list[str]]


def fmt(value: Any, digits: int = 3) -> str:
    """Numbers with ``digits`` decimals, ints as they are, None/NaN as ``n/a``, text unchanged."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def key_table(title: str, records: Iterable[Mapping[str, Any]], keys: Iterable[str]) -> Table:
    """A `Table` of ``records`` with a column per key, headed by the key's catalog label."""
    keys = list(keys)
    return Table(title, [CATALOG.label(k) for k in keys],
                 [[fmt(record.get(k)) for k in keys] for record in records])


def interval_cell(record: Mapping[str, Any], key: str) -> str:
    """``record[key]`` with its interval from ``record["ci"]`` when it has one
    (``0.873 [0.812, 0.931]``), else the value alone."""
    from benchmark.intervals import with_interval

    if key in (record.get("ci") or {}):
        return with_interval(record.get(key), record["ci"][key])
    return fmt(record.get(key))


def interval_table(title: str, records: Iterable[Mapping[str, Any]], keys: Iterable[str]) -> Table:
    """`key_table` with each value's interval beside it (`interval_cell`)."""
    keys = list(keys)
    return Table(title, [CATALOG.label(k) for k in keys],
                 [[interval_cell(record, k) for k in keys] for record in records])


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def run_tables(run_dir: Path) -> str:
    """The protocol's tables and the summary of one finished run, as text."""
    from benchmark.protocol import get_protocol

    results = json.loads((Path(run_dir) / "metrics.json").read_text(encoding="utf-8"))
    info = json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
    protocol = get_protocol(info["protocol"])
    parts = [f"== {info.get('run_id', run_dir)} =="]
    for table in protocol.tables(results):
        parts += [table.title, format_table(table.headers, table.rows), ""]
    counts = {k: info[k] for k in ("n_videos", "n_failed") if k in info}
    parts.append("  ".join(f"{k}={fmt(v)}" for k, v in {**results["summary"], **counts}.items()))
    if info.get("cfg_overrides"):
        parts.append("config overrides: " + " ".join(f"{k}={v}" for k, v in
                                                     info["cfg_overrides"].items()))
    if info.get("reused_from"):
        parts.append(f"scores reused from {info['reused_from'].get('run_id')} (other code version)")
    if isinstance(info.get("cost"), dict):
        from benchmark.cost_meter import cost_summary

        parts.append(f"cost: {cost_summary(info['cost'])}")
    timings = info.get("timings", {})
    if "total" in timings:
        parts.append(f"wall time of the computing run: {timings['total']:.1f} s")
    return "\n".join(parts)


def print_run(run_dir: Path) -> None:
    print(run_tables(run_dir))
