"""The HTML, Markdown and JSON of a `benchmark.compare.compare_runs` result."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.compare import compared_metrics
from benchmark.io import atomic_write_json, atomic_write_text, make_dir
from benchmark.report import RunData, _environment
from benchmark.report_views import PALETTE, SVG, _curve


def _metric_columns() -> list[dict[str, str]]:
    """The compared metrics' keys, labels and directions, from the catalog."""
    return [{"key": m.key, "label": m.label, "better": m.direction} for m in compared_metrics()]


def _overlays(runs: list[RunData]) -> list[dict[str, Any]]:
    """Per test set all runs hold: each run's ROC curve on one plot."""
    from benchmark.compare import cells

    per_run = [cells(run) for run in runs]
    shared = [c for c in per_run[0] if all(c in other for other in per_run[1:])]
    plots = []
    for cell in shared:
        curves = []
        for i, (run, table) in enumerate(zip(runs, per_run)):
            part = table[cell]
            curve = _curve(part[part["label"] == 0], part[part["label"] == 1],
                           f"{run.info['method']}/{run.info['config']} ({run.info['run_id'][-12:]})",
                           PALETTE[i % len(PALETTE)])
            curves.append(curve)
        plots.append({"title": "test set", "name": cell, "n_real": int((per_run[0][cell]["label"] == 0).sum()),
                      "curves": curves})
    return plots


def render_comparison(result: dict[str, Any], runs: list[RunData], out_dir: str | Path
                      ) -> dict[str, Path]:
    """Writes ``compare.html``, ``compare.md`` and ``compare.json`` into ``out_dir``."""
    out_dir = make_dir(out_dir, "comparison folder")
    context = {"result": result, "metrics": _metric_columns(), "svg": SVG, "overlays": _overlays(runs),
               "title": "vbench comparison: " + " vs ".join(r["run_id"] for r in result["runs"])}
    paths = {"html": out_dir / "compare.html", "md": out_dir / "compare.md",
             "json": out_dir / "compare.json"}
    atomic_write_text(paths["html"], _environment(True).get_template("compare.html.j2").render(**context))
    atomic_write_text(paths["md"], _environment(False).get_template("compare.md.j2").render(**context))
    atomic_write_json(paths["json"], result)
    return paths
