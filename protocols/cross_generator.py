"""Cross-generator generalisation: train on some generators, test against real on each one.

Modes: ``one_vs_all`` trains one detector per generator (the train × test AUC matrix);
``leave_one_out`` trains on all generators but one and tests on every generator. With ``--weights``
nothing is trained: one unit evaluates the given weights (a model stored by an earlier run keeps
its training generators, so its seen cells stay marked). Scores of the validation split are stored
too, so thresholds chosen on validation can be recomputed from the score table alone.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from benchmark.errors import DataError
from benchmark.metrics import UndefinedMetricError, binary_summary, choose_threshold
from benchmark.protocol import Metric, Option, Unit
from benchmark.tables import Table, fmt

NAME = "cross_generator"
VERSION = "2"
DESCRIPTION = ("train on one generator (one_vs_all) or all but one (leave_one_out), test against "
               "real videos on each generator; AUC/AP/EER/ACC/TPR@FPR5% per (train set, generator)")
OPTIONS = (Option("mode", "one_vs_all", "one model per generator, or one per left-out generator",
                  choices=("one_vs_all", "leave_one_out")),)
PRIMARY_METRIC = Metric("mean_auc_unseen", "mean AUC (unseen)")
LEADERBOARD = (Metric("mean_auc_seen", "mean AUC (seen)"), Metric("mean_auc", "mean AUC (all)"))
MEMBERS = "train_generators"
REAL = "real"
log = logging.getLogger("vbench.protocol")


def train_sets(generators: list[str], mode: str) -> dict[str, list[str]]:
    """Train-set name → the generators whose fakes it trains on."""
    if mode == "one_vs_all":
        return {g: [g] for g in generators}
    if mode == "leave_one_out":
        return {f"all-but-{g}": [o for o in generators if o != g] for g in generators}
    raise ValueError(f"cross_generator: mode '{mode}' is not one of one_vs_all, leave_one_out")


def plan(ctx) -> list[Unit]:
    """One unit per train set, or one evaluation unit for given weights."""
    manifest = ctx.manifest
    generators = sorted(set(manifest.loc[manifest["label"] == 1, "generator"]))
    if ctx.weights is not None:
        stored = ctx.weights.stored
        if stored is not None and stored.card.get("protocol") == NAME:
            members = tuple(stored.card.get("members", {}).get(MEMBERS, ()))
            return [Unit(stored.unit, trains=False, members={MEMBERS: members})]
        return [Unit("weights", trains=False, members={MEMBERS: ()})]
    if not generators:
        raise DataError(f"{ctx.request.data}: no generated videos (label 1): nothing to train on")
    return [Unit(name, trains=True, members={MEMBERS: tuple(gens)})
            for name, gens in train_sets(generators, ctx.options["mode"]).items()]


def score(ctx, unit: Unit) -> pd.DataFrame:
    """Trains the unit's model (unless weights are given) and scores test and validation videos."""
    manifest = ctx.manifest
    train_gens = list(unit.members[MEMBERS])
    in_train = manifest["generator"].isin([REAL] + train_gens)
    detector = ctx.make_detector()
    if unit.trains:
        ctx.train(detector, manifest[in_train & (manifest["split"] == "train")],
                  manifest[in_train & (manifest["split"] == "val")])
    val = manifest[(manifest["split"] == "val") & (in_train if unit.trains else True)]
    evaluated = pd.concat([manifest[manifest["split"] == "test"], val], ignore_index=True)
    table = ctx.predict(detector, evaluated)
    table[MEMBERS] = [list(train_gens)] * len(table)
    return table


def metrics(scores: pd.DataFrame, options: dict) -> dict:
    """Metric rows per (train set, test generator), the AUC matrix and the summary."""
    rows = []
    for unit, part in scores.groupby("unit", sort=False):
        threshold, note = _val_threshold(part[part["split"] == "val"])
        seen = {str(g) for g in part[MEMBERS].iloc[0]}
        test = part[part["split"] == "test"]
        for gen in sorted(set(test.loc[test["label"] == 1, "generator"])):
            subset = test[test["generator"].isin([REAL, gen])]
            ok = subset[subset["status"] == "ok"]
            row = binary_summary(ok["label"].to_numpy(), ok["score"].to_numpy(), threshold)
            row["note"] = "; ".join(n for n in (row.get("note"), note) if n) or ""
            rows.append({"train_set": unit, "test_set": gen, "seen": gen in seen,
                         "n_failed": int((subset["status"] != "ok").sum()), **row})
    frame = pd.DataFrame(rows)
    return {"rows": rows, "auc_matrix": _matrix(frame), "summary": _summary(frame)}


def _val_threshold(val: pd.DataFrame) -> tuple[float | None, str | None]:
    ok = val[val["status"] == "ok"]
    try:
        return choose_threshold(ok["label"].to_numpy(), ok["score"].to_numpy()), None
    except UndefinedMetricError as err:
        return None, f"no validation threshold ({err})"


def _matrix(frame: pd.DataFrame) -> dict:
    if frame.empty:
        return {"rows": [], "cols": [], "values": []}
    pivot = frame.pivot(index="train_set", columns="test_set", values="auc")
    pivot = pivot.reindex(index=list(dict.fromkeys(frame["train_set"])))
    values = [[None if pd.isna(v) else float(v) for v in row] for row in pivot.to_numpy()]
    return {"rows": list(pivot.index), "cols": list(pivot.columns), "values": values}


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and not pd.isna(v)]
    return float(np.mean(values)) if values else None


def _summary(frame: pd.DataFrame) -> dict:
    """Mean AUCs; video and failure counts are recorded once, by the runner, in run.json."""
    if frame.empty:
        return {"mean_auc_unseen": None, "mean_auc_seen": None, "mean_auc": None}
    return {"mean_auc_unseen": _mean(frame.loc[~frame["seen"], "auc"]),
            "mean_auc_seen": _mean(frame.loc[frame["seen"], "auc"]),
            "mean_auc": _mean(frame["auc"])}


# ----------------------------------------------------------------------------- presentation
TABLE_COLUMNS = (("train_set", "train"), ("test_set", "test"), ("n_videos", "n"), ("auc", "AUC"),
                 ("ap", "AP"), ("eer", "EER"), ("acc_at_0.5", "ACC@0.5"), ("acc_at_val", "ACC@val"),
                 ("tpr_at_fpr5", "TPR@FPR5%"), ("n_failed", "failed"), ("note", "note"))


def tables(results: dict) -> list[Table]:
    """The AUC matrix and the metric rows, for the terminal and the Markdown report."""
    matrix = results["auc_matrix"]
    return [
        Table("AUC (rows: train set, columns: test generator)", ["train \\ test"] + matrix["cols"],
              [[r] + [fmt(v) for v in vals] for r, vals in zip(matrix["rows"], matrix["values"])]),
        Table("Metrics per (train set, test generator)", [h for _, h in TABLE_COLUMNS],
              [[fmt(row.get(k)) for k, _ in TABLE_COLUMNS] for row in results["rows"]]),
    ]


def views(run) -> dict:
    """Context of ``cross_generator.html.j2``: the AUC heat map, metric table and ROC curves."""
    from benchmark.report_views import heatmap, metric_table, roc_plots

    results = run.results
    matrix = results.get("auc_matrix") or {"rows": [], "cols": [], "values": []}
    seen = {(r["train_set"], r["test_set"]): r["seen"] for r in results["rows"]}
    notes = {(r["train_set"], r["test_set"]): r.get("note") or "" for r in results["rows"]}
    return {"heatmap": heatmap(matrix, seen, notes, "train", "test"),
            "metrics": metric_table(results["rows"], [k for k, _ in TABLE_COLUMNS
                                                      if k not in ("n_failed",)] + ["n_failed"]),
            "rocs": roc_plots(run.scores, group="unit", title="train set")}
