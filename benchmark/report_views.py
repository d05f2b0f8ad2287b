"""View models shared by the protocols' report partials: heat maps, sortable metric tables, ROC
plots. Each returns plain dicts of display strings; the macros in
``reports/templates/macros.html.j2`` draw them (every value is autoescaped there)."""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from benchmark.errors import VBenchError
from benchmark.metric_catalog import CATALOG
from benchmark.metrics import roc_auc, roc_points

SVG = {"left": 40, "top": 12, "size": 240, "width": 300, "height": 300}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22")
CLEAN = ("", "none", "clean")  # perturbation values that mean "the clean video"
# Diverging colour scale around chance (0.5): purple below, white at chance, green above.
SCALE = ((0.0, (118, 42, 131)), (0.5, (247, 247, 247)), (1.0, (27, 120, 55)))
# Sequential scale for shares (confusion-matrix rows): white at 0, dark blue at 1.
SHARE_SCALE = ((0.0, (247, 251, 255)), (0.5, (107, 174, 214)), (1.0, (8, 48, 107)))


def number(value: Any) -> float | None:
    """A finite float, or None for None/NaN/non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return None
    return float(value) if math.isfinite(value) else None


def fmt(value: Any, digits: int = 3) -> str:
    value = number(value)
    return "n/a" if value is None else f"{value:.{digits}f}"


def colour(value: float, scale=SCALE) -> str:
    """The scale's colour at ``value`` in [0, 1] (linear between the stops)."""
    value = min(max(value, 0.0), 1.0)
    for (x0, c0), (x1, c1) in zip(scale, scale[1:]):
        if value <= x1:
            t = (value - x0) / (x1 - x0)
            rgb = [round(a + t * (b - a)) for a, b in zip(c0, c1)]
            return "#%02x%02x%02x" % tuple(rgb)
    return "#%02x%02x%02x" % scale[-1][1]


def legend() -> dict[str, Any]:
    """The colour bar under a heat map: a CSS gradient and its tick labels."""
    stops = ", ".join(f"{colour(x)} {x * 100:.0f}%" for x in np.linspace(0, 1, 11))
    return {"gradient": f"linear-gradient(to right, {stops})",
            "ticks": ["0", "0.25", "0.5 (chance)", "0.75", "1"]}


def heatmap(matrix: Mapping[str, Any], seen: Mapping[tuple, bool], notes: Mapping[tuple, str],
            row_label: str, col_label: str, metric: str = "AUC",
            intervals: Mapping[tuple, Mapping[str, float] | None] | None = None) -> dict[str, Any]:
    """A matrix ``{rows, cols, values}`` as coloured cells with hover text (value, interval)
    and a legend."""
    intervals = intervals or {}
    lines = []
    for r, values in zip(matrix["rows"], matrix["values"]):
        cells = []
        for c, v in zip(matrix["cols"], values):
            value, where = number(v), f"{row_label} {r} → {col_label} {c}"
            if value is None:
                reason = notes.get((r, c)) or f"no {metric} stored for this pair"
                cells.append({"text": "n/a", "title": f"{where}: {reason}", "style": "",
                              "na": True, "seen": bool(seen.get((r, c)))})
                continue
            text_colour = "#fff" if abs(value - 0.5) > 0.3 else "#111"
            band = intervals.get((r, c))
            shown = f" [{band['low']:.3f}, {band['high']:.3f}] (95%)" if band else ""
            cells.append({"text": f"{value:.3f}", "title": f"{where}: {metric} {value:.4f}{shown}",
                          "style": f"background-color: {colour(value)}; color: {text_colour}",
                          "na": False, "seen": bool(seen.get((r, c)))})
        lines.append({"label": r, "cells": cells})
    return {"cols": list(matrix["cols"]), "lines": lines, "legend": legend(), "metric": metric,
            "row_label": row_label, "col_label": col_label}


def cell(value: Any, digits: int = 3) -> dict[str, str]:
    """Display text plus the raw value the sortable table sorts by ("" = missing, sorts last)."""
    if isinstance(value, str):
        return {"text": value, "sort": value}
    if isinstance(value, (bool, np.bool_)):
        return {"text": "yes" if value else "no", "sort": str(int(value))}
    if isinstance(value, (int, np.integer)):
        return {"text": str(int(value)), "sort": str(int(value))}
    num = number(value)
    return {"text": fmt(num, digits), "sort": "" if num is None else repr(num)}


def metric_table(rows: list[Mapping[str, Any]], keys: Iterable[str]) -> dict[str, Any]:
    """Rows of metric dicts as a sortable table; headers take label and better direction from the
    catalog (`benchmark.metric_catalog`); a row's ``ci`` intervals are shown beside the values
    (``0.873 [0.812, 0.931]``), sorting by value."""
    keys = [k for k in keys if any(k in row for row in rows)] if rows else list(keys)
    headers = [header(k) for k in keys]
    body = [[_interval_cell(row, k) for k in keys] for row in rows]
    return {"headers": headers, "rows": body}


def header(key: str) -> dict[str, Any]:
    """A column header: label, better direction, whether the column is text. An undeclared key
    (a plugin's column) shows its name and claims no direction."""
    if key not in CATALOG:
        return {"key": key, "label": CATALOG.label(key), "text": False, "better": "text"}
    metric = CATALOG.get(key)
    return {"key": key, "label": metric.label, "text": metric.format == "text",
            "better": metric.direction}


def _format(key: str) -> str:
    return CATALOG.get(key).format if key in CATALOG else "number"


def _interval_cell(row: Mapping[str, Any], key: str) -> dict[str, str]:
    value, kind = row.get(key), _format(key)
    out = cell("" if value is None and kind == "text" else value, 0 if kind == "count" else 3)
    interval = (row.get("ci") or {}).get(key)
    if interval and number(value) is not None:
        out["text"] += f" [{interval['low']:.3f}, {interval['high']:.3f}]"
    return out


def clean_test_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Scored test rows of clean videos (validation rows and perturbed copies are left out)."""
    keep = scores["status"] == "ok"
    if "split" in scores.columns:
        keep &= scores["split"].isna() | (scores["split"] == "test")
    if "perturbation" in scores.columns:
        keep &= scores["perturbation"].isna() | scores["perturbation"].astype(str).str.lower().isin(CLEAN)
    return scores[keep]


def confusion_heatmap(matrix: Mapping[str, Any]) -> dict[str, Any]:
    """A confusion matrix ``{rows, cols, counts, normalised}`` as a heat map of row shares (the
    `heatmap` macro draws it): each cell shows its share and count; true-class cells outlined."""
    lines = []
    for r, counts, shares in zip(matrix["rows"], matrix["counts"], matrix["normalised"]):
        cells = []
        for c, n, v in zip(matrix["cols"], counts, shares):
            value, where = number(v), f"true {r} → predicted {c}"
            if value is None:
                cells.append({"text": f"n/a ({n})", "title": f"{where}: no test videos in this "
                              f"row", "style": "", "na": True, "seen": r == c})
                continue
            style = (f"background-color: {colour(value, SHARE_SCALE)}; "
                     f"color: {'#fff' if value > 0.55 else '#111'}")
            cells.append({"text": f"{value:.2f} ({n})", "title": f"{where}: {n} video(s), "
                          f"{value:.1%} of the row", "style": style, "na": False, "seen": r == c})
        lines.append({"label": r, "cells": cells})
    stops = ", ".join(f"{colour(x, SHARE_SCALE)} {x * 100:.0f}%" for x in np.linspace(0, 1, 11))
    text = ("share of the row's test videos (count in brackets); outlined: the true class; "
            "a held-out row shows which known classes its videos were taken for.")
    return {"cols": list(matrix["cols"]), "lines": lines, "metric": "share",
            "legend": {"gradient": f"linear-gradient(to right, {stops})",
                       "ticks": ["0", "0.5", "1"], "text": text},
            "row_label": "true", "col_label": "predicted"}


def _curve(real: pd.DataFrame, fakes: pd.DataFrame, label: str, color: str) -> dict[str, Any]:
    labels = np.r_[np.zeros(len(real)), np.ones(len(fakes))]
    values = np.r_[real["score"].to_numpy(float), fakes["score"].to_numpy(float)]
    view: dict[str, Any] = {"label": label, "color": color, "n_fake": len(fakes)}
    try:
        fpr, tpr, _ = roc_points(labels, values)
    except VBenchError as err:  # one class, or bad stored scores: say so in place of the curve
        return {**view, "error": str(err)}
    x = SVG["left"] + fpr * SVG["size"]
    y = SVG["top"] + (1.0 - tpr) * SVG["size"]
    return {**view, "points": " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y)),
            "auc": roc_auc(labels, values), "error": ""}


def roc_plots(scores: pd.DataFrame, group: str, title: str) -> list[dict[str, Any]]:
    """Per value of ``group``: one ROC curve per generator (its fakes vs the real test videos)."""
    scores = clean_test_scores(scores)
    plots = []
    for name, part in scores.groupby(scores[group].astype(str), sort=True):
        real = part[part["label"] == 0]
        fakes = part[part["label"] == 1].groupby(part["generator"].astype(str), sort=True)
        curves = [_curve(real, frame, gen, PALETTE[i % len(PALETTE)])
                  for i, (gen, frame) in enumerate(fakes)]
        plots.append({"title": title, "name": name, "n_real": len(real), "curves": curves})
    return plots


def reliability_plots(bins_by_name: Mapping[str, list[Mapping[str, Any]]], title: str
                      ) -> list[dict[str, Any]]:
    """Reliability diagrams (mean P(fake) vs fraction fake per bin) as SVG points, one per name."""
    plots = []
    for name, bins in bins_by_name.items():
        used = [b for b in bins if b.get("count")]
        xs = [SVG["left"] + b["mean_score"] * SVG["size"] for b in used]
        ys = [SVG["top"] + (1.0 - b["fraction_fake"]) * SVG["size"] for b in used]
        total = sum(b["count"] for b in used) or 1
        dots = [{"x": f"{x:.1f}", "y": f"{y:.1f}", "r": f"{2 + 6 * (b['count'] / total) ** 0.5:.1f}",
                 "title": f"P(fake) {b['low']:.2f}-{b['high']:.2f}: {b['count']} videos, mean "
                          f"P(fake) {b['mean_score']:.3f}, fraction fake {b['fraction_fake']:.3f}"}
                for x, y, b in zip(xs, ys, used)]
        plots.append({"title": title, "name": name, "points": " ".join(
            f"{d['x']},{d['y']}" for d in dots), "dots": dots, "n_bins": len(bins)})
    return plots
