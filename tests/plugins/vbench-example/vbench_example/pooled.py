"""pooled: one model trained on every generator's training videos, tested on each generator.

A protocol added from outside vbench: it imports only `benchmark.api`, declares its own summary
metrics (`METRICS`) and its report partial (``pooled.html.j2``) lives beside it. Each test set is
the real test videos against one generator's fakes, plus ``all`` (every fake); the decision
threshold is chosen on the validation split only.
"""
from __future__ import annotations

import pandas as pd

from benchmark.api import (CATALOG, DataError, Metric, Table, UndefinedMetricError, Unit, binary_intervals,
                           binary_summary, choose_threshold, metric_table, roc_plots, run_checks,
                           with_interval)
from vbench_example.metrics import YOUDEN

NAME = "pooled"
VERSION = "1"
DESCRIPTION = ("one model trained on every generator at once, tested against real videos on each "
               "generator and on all of them (an example protocol from the vbench-example plugin)")
OPTIONS = ()
METRICS = (Metric("pooled_auc", "pooled AUC", tasks=(), description="AUC of real vs every fake"),
           Metric("worst_generator_auc", "worst generator AUC", tasks=(),
                  description="the lowest AUC of real vs one generator's fakes"))
PRIMARY_METRIC, LEADERBOARD = METRICS[0], METRICS[1:]
ALL = "all"
COLUMNS = ("test_set", "n_videos", "auc", "youden_j", "acc_at_val", "tpr_at_fpr5", "n_failed")


def plan(ctx) -> list[Unit]:
    """One unit: training on every generator (or evaluating ``--weights``)."""
    manifest = ctx.manifest
    generators = tuple(sorted(set(manifest.loc[manifest["label"] == 1, "generator"])))
    if not generators:
        raise DataError(f"{ctx.data_name}: no generated videos (label 1)")
    if ctx.weights is not None:
        run_checks(manifest, ["test_rows", "real", "leakage", "files"], ctx.data_name,
                   splits=["test", "val"])
        return [Unit("weights", trains=False)]
    run_checks(manifest, ["train_rows", "test_rows", "classes", "real", "leakage", "files"],
               ctx.data_name, splits=["train", "val"])
    return [Unit("every generator", trains=True)]


def score(ctx, unit: Unit) -> pd.DataFrame:
    """Trains (unless weights are given), then scores the validation and test videos."""
    manifest = ctx.manifest
    detector = ctx.make_detector()
    if unit.trains:
        ctx.train(detector, manifest[manifest["split"] == "train"],
                  manifest[manifest["split"] == "val"])
    return ctx.predict(detector, manifest[manifest["split"].isin(["val", "test"])])


def metrics(scores: pd.DataFrame, options: dict) -> dict:
    """A row per test set (each generator, and ``all``), from the score table alone."""
    ok = scores[scores["status"] == "ok"]
    val, test = ok[ok["split"] == "val"], scores[scores["split"] == "test"]
    try:
        threshold = choose_threshold(val["label"].to_numpy(), val["score"].to_numpy())
    except UndefinedMetricError:
        threshold = None
    fakes = sorted(set(test.loc[test["label"] == 1, "generator"]))
    rows = [_row(test, name, threshold) for name in (*fakes, ALL)]
    per_generator = [r["auc"] for r in rows if r["test_set"] != ALL and r["auc"] is not None]
    summary = {"pooled_auc": rows[-1]["auc"],
               "worst_generator_auc": min(per_generator) if per_generator else None}
    return {"rows": rows, "summary": summary}


def _row(test: pd.DataFrame, name: str, threshold: float | None) -> dict:
    part = test if name == ALL else test[test["generator"].isin(["real", name])]
    ok = part[part["status"] == "ok"]
    y, s = ok["label"].to_numpy(), ok["score"].to_numpy()
    row = {"test_set": name, "n_failed": int((part["status"] != "ok").sum()),
           **binary_summary(y, s, threshold)}
    try:
        row["youden_j"] = YOUDEN(y, s)
    except UndefinedMetricError:
        row["youden_j"] = None
    row["ci"] = binary_intervals(y, s, ok["source_id"].to_numpy(), row)
    return row


def tables(results: dict) -> list[Table]:
    """The per-test-set metrics with their 95 % intervals, for the terminal and Markdown."""
    def cell(row: dict, key: str) -> str:
        value, metric = row.get(key), CATALOG.get(key)
        if metric.format == "text" or value is None:
            return "" if value is None else str(value)
        if metric.format == "count":
            return str(int(value))
        return with_interval(value, (row.get("ci") or {}).get(key))

    return [Table("pooled: one model, every generator (95% intervals)",
                  [CATALOG.label(key) for key in COLUMNS],
                  [[cell(row, key) for key in COLUMNS] for row in results["rows"]])]


def views(run) -> dict:
    """Context of ``pooled.html.j2``."""
    return {"metrics": metric_table(run.results["rows"], COLUMNS),
            "rocs": roc_plots(run.scores, group="unit", title="model")}
