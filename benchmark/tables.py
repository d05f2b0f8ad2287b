"""Plain-text metric tables for the terminal."""
from __future__ import annotations

import json
from pathlib import Path

COLUMNS = [("train_set", "train"), ("test_set", "test"), ("n_videos", "n"), ("auc", "AUC"),
           ("ap", "AP"), ("eer", "EER"), ("acc_at_0.5", "ACC@0.5"), ("acc_at_val", "ACC@val"),
           ("tpr_at_fpr5", "TPR@FPR5%"), ("n_failed", "failed"), ("note", "note")]


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def run_tables(run_dir: Path) -> str:
    """The AUC matrix, the metrics table and the summary of one run, as text."""
    results = json.loads((Path(run_dir) / "metrics.json").read_text())
    info = json.loads((Path(run_dir) / "run.json").read_text())
    matrix = results["auc_matrix"]
    parts = [f"== {info.get('run_id', run_dir)} ==", "AUC (rows: train set, columns: test generator)",
             format_table(["train \\ test"] + matrix["cols"],
                          [[r] + [_fmt(v) for v in vals] for r, vals in zip(matrix["rows"], matrix["values"])]),
             "", "Metrics per (train set, test generator)",
             format_table([h for _, h in COLUMNS],
                          [[_fmt(row.get(k)) for k, _ in COLUMNS] for row in results["rows"]]), ""]
    counts = {k: info[k] for k in ("n_videos", "n_failed") if k in info}
    parts.append("  ".join(f"{k}={_fmt(v)}" for k, v in {**results["summary"], **counts}.items()))
    timings = info.get("timings", {})
    if "total" in timings:
        parts.append(f"wall time of the computing run: {timings['total']:.1f} s")
    return "\n".join(parts)


def print_run(run_dir: Path) -> None:
    print(run_tables(run_dir))
