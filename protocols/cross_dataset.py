"""Cross-dataset generalisation: train on one dataset's train split, test on every dataset's.

Datasets are the values of the manifest's ``dataset`` column: ``--data A,B`` (names, manifests or
folders, `benchmark.data.several`), or one source that holds several. One unit per training
dataset trains on its train split (checkpoint chosen on its validation split) and scores the test
split of every dataset (in-domain and cross-domain) plus its own validation split (thresholds).
With ``--weights`` nothing is trained: one unit evaluates the weights on every dataset's test split
(a model stored by an earlier run keeps the datasets it was trained on, so in-domain cells stay
marked). Outputs: metrics per (train dataset, test dataset), the AUC matrix, the in-domain →
cross-domain drop per training dataset, and AUC per generator of each test dataset.
"""
from __future__ import annotations

import logging

import pandas as pd

from benchmark.errors import DataError, UnknownKeyError
from benchmark.metrics import UndefinedMetricError, binary_summary, roc_auc
from benchmark.protocol import Metric, Option, Unit, parse_list
from benchmark.tables import Table, fmt, key_table
# Shared with cross_generator: the validation threshold, the metric matrix, means over cells.
from protocols.cross_generator import _matrix as metric_matrix
from protocols.cross_generator import _mean as mean_or_none
from protocols.cross_generator import _val_threshold as val_threshold

NAME = "cross_dataset"
VERSION = "1"
DESCRIPTION = ("train on one dataset's train split, test on every dataset's test split; "
               "AUC/AP/EER/ACC per (train dataset, test dataset) and the in-domain → cross-domain drop")
OPTIONS = (Option("train_on", (), "datasets to train on (default: every dataset with training "
                  "videos); the others are test sets only", type=parse_list),)
PRIMARY_METRIC = Metric("mean_auc_cross", "mean AUC (cross-dataset)")
LEADERBOARD = (Metric("mean_auc_in", "mean AUC (in-domain)"),
               Metric("mean_auc_drop", "mean AUC drop in → cross", higher_is_better=False))
METRICS = (PRIMARY_METRIC, *LEADERBOARD,
           Metric("in_domain", "in-domain", None, tasks=(), format="text",
                  description="the test dataset is one the model trained on"),
           Metric("auc_in_domain", "AUC in-domain"), Metric("auc_cross_domain", "AUC cross-domain"),
           Metric("auc_drop", "AUC drop", False, description="in-domain AUC - mean cross-domain AUC"))
DEFAULT_DATA = "vbench-mini,vbench-mini-footage"
MEMBERS = "train_datasets"
log = logging.getLogger("vbench.protocol")


def plan(ctx) -> list[Unit]:
    """One unit per training dataset, or one evaluation unit for given weights; refuses data it
    cannot run on before any training (see `_check_training_data`)."""
    from benchmark.data.checks import run_checks

    manifest = ctx.manifest
    if ctx.weights is not None:
        run_checks(manifest, ["test_rows", "real", "leakage", "files"], ctx.data_name,
                   splits=["test", "val"])
        unit = _weights_unit(ctx.weights.stored)
        seen = sorted(set(unit.members[MEMBERS]) & set(manifest["dataset"]))
        if seen and ctx.data is not None and ctx.data.options.split == "all-test":
            log.warning("--weights: the model was trained on %s, and every video is a test video "
                        "here (no --split), so its in-domain cells include its own training "
                        "videos; pass --split given to test on that dataset's test split only",
                        ", ".join(seen))
        return [unit]
    train_on = _check_training_data(manifest, ctx.options["train_on"], ctx.data_name)
    return [Unit(dataset, trains=True, members={MEMBERS: (dataset,)}) for dataset in train_on]


def _weights_unit(stored) -> Unit:
    """The evaluation unit of ``--weights``: a stored model keeps its name and training datasets."""
    if stored is None:
        return Unit("weights", trains=False, members={MEMBERS: ()})
    trained = tuple(str(d) for d in stored.card.get("train_datasets") or ())
    protocol = stored.card.get("protocol")
    name = stored.unit if protocol == NAME else f"{protocol}:{stored.unit}"
    return Unit(name, trains=False, members={MEMBERS: trained})


def _check_training_data(manifest: pd.DataFrame, train_on: tuple[str, ...], data: str) -> list[str]:
    """The training datasets, after checking that every dataset has test videos and each training
    dataset has train and validation videos of both classes."""
    from benchmark.data.checks import run_checks

    datasets = sorted(set(manifest["dataset"]))
    if len(datasets) < 2:
        raise DataError(f"data {data!r}: cross_dataset needs videos of at least two datasets (the "
                        f"dataset column), found only {datasets}; pass several, e.g. --data "
                        f"vbench-mini,vbench-mini-footage (or --weights to evaluate on one)")
    for name in train_on:
        if name not in datasets:
            raise UnknownKeyError("dataset in option train_on", name, datasets)
    run_checks(manifest, ["real", "leakage", "files"], data)
    for dataset in datasets:
        run_checks(manifest[manifest["dataset"] == dataset], ["test_rows"], f"{data}: {dataset}")
    trainable = [d for d in datasets if ((manifest["dataset"] == d) & (manifest["split"] == "train")).any()]
    chosen = list(train_on) or trainable
    if not chosen:
        raise DataError(f"data {data!r}: no dataset has training videos (datasets: "
                        f"{', '.join(datasets)}); pass --weights to evaluate without training")
    for dataset in chosen:
        run_checks(manifest[manifest["dataset"] == dataset], ["train_rows", "classes"],
                   f"{data}: {dataset}", splits=["train", "val"])
    return chosen


def score(ctx, unit: Unit) -> pd.DataFrame:
    """Trains on the unit's dataset (unless weights are given), scores every test split and the
    unit's own validation split."""
    manifest = ctx.manifest
    trained = list(unit.members[MEMBERS])
    own = manifest["dataset"].isin(trained)
    detector = ctx.make_detector()
    if unit.trains:
        ctx.train(detector, manifest[own & (manifest["split"] == "train")],
                  manifest[own & (manifest["split"] == "val")])
    val = manifest[(manifest["split"] == "val") & (own if unit.trains else True)]
    evaluated = pd.concat([manifest[manifest["split"] == "test"], val], ignore_index=True)
    table = ctx.predict(detector, evaluated)
    table[MEMBERS] = [list(trained)] * len(table)
    return table


def metrics(scores: pd.DataFrame, options: dict) -> dict:
    """Rows per (train set, test dataset) with 95 % intervals, the AUC matrix, drops,
    per-generator AUCs, summary."""
    from benchmark.intervals import SETTINGS, binary_intervals

    rows, generator_rows = [], []
    for unit, part in scores.groupby("unit", sort=False):
        threshold, note = val_threshold(part[part["split"] == "val"])
        trained = {str(d) for d in part[MEMBERS].iloc[0]}
        test = part[part["split"] == "test"]
        for dataset, subset in test.groupby("dataset", sort=True):
            ok = subset[subset["status"] == "ok"]
            row = binary_summary(ok["label"].to_numpy(), ok["score"].to_numpy(), threshold)
            row["note"] = "; ".join(n for n in (row.get("note"), note) if n) or ""
            groups = ok["source_id"].to_numpy() if "source_id" in ok else None  # None: per video
            row["ci"] = binary_intervals(ok["label"].to_numpy(), ok["score"].to_numpy(), groups, row)
            rows.append({"train_set": unit, "test_set": dataset, "in_domain": dataset in trained,
                         "n_failed": int((subset["status"] != "ok").sum()), **row})
            generator_rows += _generator_rows(unit, dataset, ok)
    frame = pd.DataFrame(rows)
    drops = _drops(frame)
    return {"rows": rows, "auc_matrix": metric_matrix(frame), "drops": drops,
            "generator_rows": generator_rows, "summary": _summary(frame, drops), "intervals": SETTINGS}


def _generator_rows(unit: str, dataset: str, ok: pd.DataFrame) -> list[dict]:
    """AUC of each generator's fakes against the real videos of the same test dataset."""
    real = ok[ok["label"] == 0]
    out = []
    for generator, fakes in ok[ok["label"] == 1].groupby("generator", sort=True):
        labels = [0] * len(real) + [1] * len(fakes)
        values = list(real["score"]) + list(fakes["score"])
        try:
            auc, note = roc_auc(labels, values), ""
        except UndefinedMetricError as err:
            auc, note = None, str(err)
        out.append({"train_set": unit, "test_set": dataset, "generator": generator,
                    "n_real": len(real), "n_fake": len(fakes), "auc": auc, "note": note})
    return out


def _drops(frame: pd.DataFrame) -> list[dict]:
    """Per train set: in-domain AUC, mean cross-domain AUC and their difference (in − cross)."""
    out = []
    if frame.empty:
        return out
    for unit, part in frame.groupby("train_set", sort=False):
        inside = mean_or_none(part.loc[part["in_domain"], "auc"])
        cross = mean_or_none(part.loc[~part["in_domain"], "auc"])
        drop = None if inside is None or cross is None else inside - cross
        note = "" if drop is not None else (
            "no in-domain test set (the model's training datasets are not in this data)"
            if not part["in_domain"].any() else "an in-domain or cross-domain AUC is undefined")
        out.append({"train_set": unit, "auc_in_domain": inside, "auc_cross_domain": cross,
                    "auc_drop": drop, "note": note})
    return out


def _summary(frame: pd.DataFrame, drops: list[dict]) -> dict:
    if frame.empty:
        return {"mean_auc_cross": None, "mean_auc_in": None, "mean_auc_drop": None}
    return {"mean_auc_cross": mean_or_none(frame.loc[~frame["in_domain"], "auc"]),
            "mean_auc_in": mean_or_none(frame.loc[frame["in_domain"], "auc"]),
            "mean_auc_drop": mean_or_none(d["auc_drop"] for d in drops)}


# ----------------------------------------------------------------------------- presentation
TABLE_COLUMNS = ("train_set", "test_set", "in_domain", "n_videos", "auc", "ap", "eer", "acc_at_0.5",
                 "acc_at_val", "tpr_at_fpr5", "n_failed", "note")
DROP_COLUMNS = ("train_set", "auc_in_domain", "auc_cross_domain", "auc_drop", "note")
GENERATOR_COLUMNS = ("train_set", "test_set", "generator", "n_real", "n_fake", "auc", "note")


def tables(results: dict) -> list[Table]:
    """The AUC matrix, the drops and the metric rows, for the terminal and the Markdown report."""
    matrix = results["auc_matrix"]
    return [
        Table("AUC (rows: train dataset, columns: test dataset)", ["train \\ test"] + matrix["cols"],
              [[r] + [fmt(v) for v in vals] for r, vals in zip(matrix["rows"], matrix["values"])]),
        key_table("In-domain → cross-domain AUC", results["drops"], DROP_COLUMNS),
        key_table("Metrics per (train dataset, test dataset)", results["rows"], TABLE_COLUMNS),
    ]


def views(run) -> dict:
    """Context of ``cross_dataset.html.j2``: AUC heat map, drops, metric tables, ROC curves."""
    from benchmark.report_views import heatmap, metric_table, roc_plots

    results = run.results
    matrix = results.get("auc_matrix") or {"rows": [], "cols": [], "values": []}
    seen = {(r["train_set"], r["test_set"]): r["in_domain"] for r in results["rows"]}
    notes = {(r["train_set"], r["test_set"]): r.get("note") or "" for r in results["rows"]}
    pairs = run.scores.assign(pair=run.scores["unit"].astype(str) + " → "
                              + run.scores["dataset"].astype(str))
    bands = {(r["train_set"], r["test_set"]): (r.get("ci") or {}).get("auc") for r in results["rows"]}
    return {"heatmap": heatmap(matrix, seen, notes, "train", "test", intervals=bands),
            "drops": metric_table(results.get("drops", []), DROP_COLUMNS),
            "metrics": metric_table(results["rows"], TABLE_COLUMNS),
            "generators": metric_table(results.get("generator_rows", []), GENERATOR_COLUMNS),
            "rocs": roc_plots(pairs, group="pair", title="train → test")}
