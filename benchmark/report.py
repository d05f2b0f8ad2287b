"""Leaderboard reports (HTML, Markdown, CSV) from stored run directories.

A run directory holds ``run.json``, ``scores.parquet``, ``metrics.csv`` and ``metrics.json`` (see
docs/ARCHITECTURE.md). This module only reads them: every number shown comes from those files, and
ROC curves are recomputed from the stored per-video scores. The HTML page is self-contained (inline
CSS, inline JS for sortable tables, inline SVG), so it opens offline and can be mailed as one file.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from benchmark.errors import DataError, VBenchError
from benchmark.metrics import ALL_METRICS, METRIC_LABELS, roc_auc, roc_points

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "reports" / "templates"
RUN_FILES = ("run.json", "scores.parquet", "metrics.csv", "metrics.json")
INFO_KEYS = ("run_id", "method", "config", "protocol", "dataset")
SCORE_COLUMNS = ("video_id", "generator", "label", "score", "train_set", "status")
METRIC_COLUMNS = ("train_set", "test_set", "auc")
LEADERBOARD_COLUMNS = ("run_id", "method", "config", "protocol", "dataset", "mean_auc_unseen",
                       "mean_auc_all", "n_videos", "n_failed", "wall_time_s")
TABLE_COLUMNS = ("train_set", "test_set", "n_videos", "n_real", "n_fake",
                 *(m.key for m in ALL_METRICS), "val_threshold", "note")
TEXT_COLUMNS = ("train_set", "test_set", "note")
# Perturbation values that mean "the clean video": ROC curves are drawn on clean scores only.
CLEAN = ("", "none", "clean")
SVG = {"left": 40, "top": 12, "size": 240, "width": 300, "height": 300}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22")


@dataclass
class RunData:
    """One run directory, loaded.

    Attributes:
        path: the run directory.
        info: run.json as stored; keys beyond ``INFO_KEYS`` are kept as they are.
        scores: the per-video score table (scores.parquet).
        metrics: one row per (train_set, test_set) (metrics.csv).
        summary: ``metrics.json["summary"]``, e.g. ``mean_auc_unseen``.
        auc_matrix: ``{"rows": [train sets], "cols": [test sets], "values": [[AUC or None]]}``.
    """

    path: Path
    info: dict[str, Any]
    scores: pd.DataFrame
    metrics: pd.DataFrame
    summary: dict[str, Any]
    auc_matrix: dict[str, Any]

    @property
    def label(self) -> str:
        """"method/config/protocol (run_id)", for messages."""
        i = self.info
        return f"{i['method']}/{i['config']}/{i['protocol']} ({i['run_id']})"


# ----------------------------------------------------------------------------- loading
def load_run(run_dir: str | os.PathLike) -> RunData:
    """Read a run directory written by a protocol run.

    Raises:
        DataError: a file is missing or unreadable, or lacks a required key or column.
    """
    run_dir = Path(run_dir)
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        raise DataError(f"run directory {run_dir} lacks {', '.join(missing)} "
                        f"(a finished run holds {', '.join(RUN_FILES)})")
    info = _read_json(run_dir / "run.json")
    lacking = [key for key in INFO_KEYS if key not in info]
    if lacking:
        raise DataError(f"{run_dir / 'run.json'}: missing key(s) {', '.join(lacking)}")
    stored = _read_json(run_dir / "metrics.json")
    metrics = _read_table(run_dir / "metrics.csv", METRIC_COLUMNS,
                          lambda p: pd.read_csv(p, dtype={"train_set": str, "test_set": str}))
    scores = _read_table(run_dir / "scores.parquet", SCORE_COLUMNS, pd.read_parquet)
    summary = stored.get("summary") or {}
    matrix = _check_matrix(stored.get("auc_matrix") or _matrix_from_rows(metrics),
                           run_dir / "metrics.json")
    return RunData(run_dir, info, scores, metrics, dict(summary), matrix)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _read_table(path: Path, required: tuple[str, ...],
                reader: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    try:
        table = reader(path)
    except Exception as exc:  # pandas/pyarrow raise many types for a damaged file
        raise DataError(f"{path}: cannot read table: {exc}") from exc
    lacking = [col for col in required if col not in table.columns]
    if lacking:
        raise DataError(f"{path}: missing column(s) {', '.join(lacking)}; "
                        f"has {', '.join(map(str, table.columns))}")
    return table


def _matrix_from_rows(metrics: pd.DataFrame) -> dict[str, Any]:
    rows = list(dict.fromkeys(metrics["train_set"]))
    cols = list(dict.fromkeys(metrics["test_set"]))
    auc = {(r, c): _num(v) for r, c, v in metrics[["train_set", "test_set", "auc"]].itertuples(
        index=False)}
    return {"rows": rows, "cols": cols, "values": [[auc.get((r, c)) for c in cols] for r in rows]}


def _check_matrix(matrix: Any, path: Path) -> dict[str, Any]:
    if not isinstance(matrix, dict):
        raise DataError(f"{path}: auc_matrix must be an object, got {type(matrix).__name__}")
    rows, cols, values = (matrix.get(k) for k in ("rows", "cols", "values"))
    if not (isinstance(rows, list) and isinstance(cols, list) and isinstance(values, list)):
        raise DataError(f"{path}: auc_matrix needs lists 'rows', 'cols' and 'values'")
    shape = [len(v) if isinstance(v, list) else None for v in values]
    if len(values) != len(rows) or any(n != len(cols) for n in shape):
        raise DataError(f"{path}: auc_matrix has {len(rows)} rows x {len(cols)} cols but values "
                        f"of shape {len(values)} x {shape}")
    return {"rows": [str(r) for r in rows], "cols": [str(c) for c in cols],
            "values": [[_num(v) for v in row] for row in values]}


# ----------------------------------------------------------------------------- small helpers
def _num(value: Any) -> float | None:
    """A finite float, or None for None/NaN/non-numbers (CSV and JSON spell "missing" both ways)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _fmt(value: Any, digits: int = 3) -> str:
    number = _num(value)
    return "n/a" if number is None else f"{number:.{digits}f}"


def _fmt_seconds(value: Any) -> str:
    s = _num(value)
    if s is None:
        return "n/a"
    if s < 60:
        return f"{s:.1f} s"
    minutes, sec = divmod(int(round(s)), 60)
    return f"{minutes}m {sec:02d}s" if minutes < 60 else f"{minutes // 60}h {minutes % 60:02d}m"


def _md(value: Any) -> str:
    """One Markdown table cell: no pipes, newlines or raw HTML."""
    text = _text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _cell(value: Any, digits: int = 3) -> dict[str, str]:
    """Display text plus the raw value the sortable table sorts by ("" = missing, sorts last)."""
    if isinstance(value, str):
        return {"text": value, "sort": value}
    number = _num(value)
    return {"text": _fmt(number, digits), "sort": "" if number is None else repr(number)}


# ----------------------------------------------------------------------------- view models
def _status_counts(scores: pd.DataFrame) -> tuple[int, int]:
    """Distinct video ids with an ok score, and with a failed one (a video may count in both)."""
    ok = scores["status"] == "ok"
    return int(scores.loc[ok, "video_id"].nunique()), int(scores.loc[~ok, "video_id"].nunique())


def _leaderboard_row(run: RunData, index: int) -> dict[str, Any]:
    n_ok, n_failed = _status_counts(run.scores)
    timings = run.info.get("timings")
    aucs = [v for v in map(_num, run.metrics["auc"]) if v is not None]
    row = {key: _text(run.info[key]) for key in INFO_KEYS}
    row.update(mean_auc_unseen=_num(run.summary.get("mean_auc_unseen")),
               mean_auc_all=float(np.mean(aucs)) if aucs else None,
               n_videos=n_ok, n_failed=n_failed,
               wall_time_s=_num(timings.get("total")) if isinstance(timings, dict) else None)
    return {**row, "anchor": f"run-{index}"}


def leaderboard_rows(runs: list[RunData]) -> list[dict[str, Any]]:
    """One row per run (``LEADERBOARD_COLUMNS`` plus an HTML ``anchor``), best unseen AUC first.

    Rows without a mean unseen AUC go last; ties fall back to the mean AUC over all test sets.
    """
    rows = [_leaderboard_row(run, i) for i, run in enumerate(runs)]

    def key(row: dict[str, Any]) -> tuple[float, float]:
        unseen, overall = row["mean_auc_unseen"], row["mean_auc_all"]
        return (-unseen if unseen is not None else math.inf,
                -overall if overall is not None else math.inf)

    return sorted(rows, key=key)


def _heat_cell(value: float | None, train: str, test: str, note: str) -> dict[str, Any]:
    if value is None:
        reason = note or "no AUC stored for this pair"
        return {"text": "n/a", "title": f"train {train} → test {test}: {reason}", "style": "",
                "na": True, "seen": train == test}
    hue = 120.0 * min(max((value - 0.5) / 0.5, 0.0), 1.0)  # red at chance, green at 1
    return {"text": f"{value:.3f}", "title": f"train {train} → test {test}: AUC {value:.4f}",
            "style": f"background-color: hsl({hue:.0f}, 70%, 78%)", "na": False,
            "seen": train == test}


def _matrix_view(run: RunData) -> list[dict[str, Any]]:
    notes = {(_text(r), _text(c)): _text(n) for r, c, n in zip(
        run.metrics["train_set"], run.metrics["test_set"],
        run.metrics.get("note", pd.Series([""] * len(run.metrics))))}
    m = run.auc_matrix
    return [{"train": r, "cells": [_heat_cell(v, r, c, notes.get((r, c), ""))
                                   for c, v in zip(m["cols"], values)]}
            for r, values in zip(m["rows"], m["values"])]


def _metrics_view(run: RunData) -> dict[str, Any]:
    columns = [c for c in TABLE_COLUMNS if c in run.metrics.columns]
    rows = [[_cell(_text(record[c])) if c in TEXT_COLUMNS
             else _cell(record[c], 0 if c.startswith("n_") else 3) for c in columns]
            for record in run.metrics[columns].to_dict("records")]
    return {"headers": [METRIC_LABELS.get(c, c) for c in columns], "rows": rows,
            "text_cols": [i for i, c in enumerate(columns) if c in TEXT_COLUMNS]}


def _clean_ok_scores(scores: pd.DataFrame) -> pd.DataFrame:
    keep = scores["status"] == "ok"
    if "split" in scores.columns:  # validation rows are stored for thresholds, not for curves
        keep &= scores["split"].isna() | (scores["split"] == "test")
    if "perturbation" in scores.columns:
        pert = scores["perturbation"]
        keep &= pert.isna() | pert.astype(str).str.lower().isin(CLEAN)
    return scores[keep]


def _curve(real: pd.DataFrame, fakes: pd.DataFrame, generator: str, color: str
           ) -> dict[str, Any]:
    labels = np.r_[np.zeros(len(real)), np.ones(len(fakes))]
    scores = np.r_[real["score"].to_numpy(float), fakes["score"].to_numpy(float)]
    view: dict[str, Any] = {"label": generator, "color": color, "n_fake": len(fakes)}
    try:
        fpr, tpr, _ = roc_points(labels, scores)
    except VBenchError as err:  # one class, or bad stored scores: say so in place of the curve
        return {**view, "error": str(err)}
    x = SVG["left"] + fpr * SVG["size"]
    y = SVG["top"] + (1.0 - tpr) * SVG["size"]
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))
    return {**view, "points": points, "auc": roc_auc(labels, scores), "error": ""}


def _roc_views(run: RunData) -> list[dict[str, Any]]:
    """Per train set: one ROC curve per generator (its fakes vs the real test videos)."""
    scores = _clean_ok_scores(run.scores)
    plots = []
    for train_set, group in scores.groupby(scores["train_set"].map(_text), sort=True):
        real = group[group["label"] == 0]
        fakes = group[group["label"] == 1].groupby(group["generator"].map(_text), sort=True)
        curves = [_curve(real, frame, gen, PALETTE[i % len(PALETTE)])
                  for i, (gen, frame) in enumerate(fakes)]
        plots.append({"train_set": train_set, "n_real": len(real), "curves": curves})
    return plots


def _failed_view(run: RunData) -> list[dict[str, str]]:
    failed = run.scores[run.scores["status"] != "ok"]
    cols = [c for c in ("video_id", "train_set", "error") if c in failed.columns]
    return [{c: _text(r[c]) for c in cols} for r in failed[cols].drop_duplicates().to_dict(
        "records")]


def _info_view(info: dict[str, Any]) -> list[tuple[str, str]]:
    keys = ("run_id", "protocol", "method", "config", "dataset", "seed", "created", "git_commit",
            "device")
    pairs = [(k, _text(info[k])) for k in keys if k in info]
    for key in ("timings", "versions"):
        value = info.get(key)
        if isinstance(value, dict) and value:
            fmt = _fmt_seconds if key == "timings" else _text
            pairs.append((key, ", ".join(f"{k} {fmt(v)}" for k, v in value.items())))
    return pairs


def _run_view(run: RunData, index: int) -> dict[str, Any]:
    n_ok, n_failed = _status_counts(run.scores)
    return {**{key: _text(run.info[key]) for key in INFO_KEYS}, "anchor": f"run-{index}",
            "info": _info_view(run.info), "matrix_cols": run.auc_matrix["cols"],
            "matrix": _matrix_view(run), "metrics": _metrics_view(run), "rocs": _roc_views(run),
            "failed": _failed_view(run), "n_failed": n_failed, "n_videos": n_ok}


# ----------------------------------------------------------------------------- rendering
def _environment(autoescape: bool) -> Any:
    import jinja2  # only report rendering needs it

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                             autoescape=autoescape, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(fmt=_fmt, seconds=_fmt_seconds, md=_md)
    return env


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, so readers never see half a report."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_report(runs: list[RunData], out_dir: str | os.PathLike,
                  title: str = "vbench leaderboard") -> dict[str, Path]:
    """Write ``report.html``, ``report.md`` and ``leaderboard.csv`` into ``out_dir``.

    Args:
        runs: loaded runs (:func:`load_run`), one leaderboard row each.
        out_dir: created if needed; existing reports are replaced atomically.
        title: page and document title.

    Returns:
        ``{"html": ..., "md": ..., "csv": ...}`` paths of the written files.

    Raises:
        DataError: no runs were given.
    """
    if not runs:
        raise DataError("render_report: no runs given; pass at least one run directory")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    board = leaderboard_rows(runs)
    context = {"title": title, "leaderboard": board, "svg": SVG,
               "runs": [_run_view(run, i) for i, run in enumerate(runs)],
               "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    texts = {
        "html": _environment(True).get_template("report.html.j2").render(**context),
        "md": _environment(False).get_template("report.md.j2").render(**context),
        "csv": pd.DataFrame(board, columns=list(LEADERBOARD_COLUMNS)).to_csv(index=False),
    }
    names = {"html": "report.html", "md": "report.md", "csv": "leaderboard.csv"}
    paths = {key: out_dir / names[key] for key in texts}
    for key, text in texts.items():
        _write_atomic(paths[key], text)
    return paths
