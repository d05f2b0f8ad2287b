"""Cross-generator generalisation: train on some generators, test against real on each one.

Modes: ``one_vs_all`` trains one detector per generator (the train × test AUC matrix);
``leave_one_out`` trains on all generators but one and tests on every generator. A generator with
test videos but no training videos (a dataset's held-out generators: AIGVDBench's closed-source
ones, GenVideo's val_ood set) is trained on by no unit and tested by every one: it is reported as
held out, always unseen. With ``--weights``
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
from benchmark.tables import Table, interval_table

NAME = "cross_generator"
VERSION = "2"
DESCRIPTION = ("train on one generator (one_vs_all) or all but one (leave_one_out), test against "
               "real videos on each generator; AUC/AP/EER/ACC/TPR@FPR5% per (train set, generator)")
OPTIONS = (Option("mode", "one_vs_all", "one model per generator, or one per left-out generator",
                  choices=("one_vs_all", "leave_one_out")),
           Option("labels", "true", "permuted: a leak control; training and validation labels "
                  "re-drawn independently of the videos (seeded, counts kept), so seen AUCs "
                  "should sit at chance",
                  choices=("true", "permuted")))
PRIMARY_METRIC = Metric("mean_auc_unseen", "mean AUC (unseen)", description="mean AUC over the "
                        "(train set, generator) cells whose generator the model did not train on")
LEADERBOARD = (Metric("mean_auc_seen", "mean AUC (seen)"), Metric("mean_auc", "mean AUC (all)"))
METRICS = (PRIMARY_METRIC, *LEADERBOARD, Metric("seen", "seen in training", None, tasks=(),
                                                format="text"))
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
    """One unit per train set, or one evaluation unit for given weights; refuses data it cannot
    run on (no test videos, no real videos, leakage, missing files; for training also no training
    rows, a class missing from train or validation, no generator with training videos). Held-out
    generators (`split_generators`) join no train set."""
    from benchmark.data.checks import run_checks

    manifest = ctx.manifest
    generators = sorted(set(manifest.loc[manifest["label"] == 1, "generator"]))
    if ctx.weights is not None:
        run_checks(manifest, ["test_rows", "real", "leakage", "files"], ctx.data_name,
                   splits=["test", "val"])
        stored = ctx.weights.stored
        if stored is not None and stored.card.get("protocol") == NAME:
            members = tuple(stored.card.get("members", {}).get(MEMBERS, ()))
            return [Unit(stored.unit, trains=False, members={MEMBERS: members})]
        return [Unit("weights", trains=False, members={MEMBERS: ()})]
    if not generators:
        raise DataError(f"{ctx.request.data}: no generated videos (label 1): nothing to train on")
    trainable, held = split_generators(manifest)
    if held:
        log.info("held-out test generator(s), no training videos: %s (tested by every unit, "
                 "trained on by none)", ", ".join(held))
    run_checks(manifest, ["train_rows", "test_rows", "classes", "generators", "real", "leakage",
                          "files"], ctx.data_name, splits=["train", "val"],
               generators=trainable or generators)
    return [Unit(name, trains=True, members={MEMBERS: tuple(gens)})
            for name, gens in train_sets(trainable, ctx.options["mode"]).items()]


def split_generators(manifest: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(generators with training videos, held-out ones: test videos but no training videos).

    A generator with neither stays among the first, so the training check names it."""
    fakes = manifest[manifest["label"] == 1]
    train = set(fakes.loc[fakes["split"] == "train", "generator"])
    test = set(fakes.loc[fakes["split"] == "test", "generator"])
    held = sorted(test - train)
    return sorted(set(fakes["generator"]) - set(held)), held


def held_out(results: dict) -> list[str]:
    """The held-out test generators of a run's metrics (`metrics` records them)."""
    return list(results.get("held_out") or [])


def _held_out(scores: pd.DataFrame) -> list[str]:
    """Test generators that no unit trained on; none when no unit names its training generators
    (given weights of unknown training)."""
    trained = {str(g) for gens in scores.drop_duplicates("unit")[MEMBERS] for g in gens}
    test = scores[(scores["split"] == "test") & (scores["label"] == 1)]
    return sorted(set(test["generator"].astype(str)) - trained) if trained else []


def score(ctx, unit: Unit) -> pd.DataFrame:
    """Trains the unit's model (unless weights are given) and scores test and validation videos."""
    manifest = ctx.manifest
    train_gens = list(unit.members[MEMBERS])
    in_train = manifest["generator"].isin([REAL] + train_gens)
    detector = ctx.make_detector()
    if unit.trains:
        train, val = (manifest[in_train & (manifest["split"] == split)] for split in ("train", "val"))
        if ctx.options.get("labels") == "permuted":
            log.warning("%s: training on PERMUTED labels (a leak control, not a detector)", unit.name)
            train, val = permute_labels(train, ctx.seed), permute_labels(val, ctx.seed + 1)
        ctx.train(detector, train, val)
    val = manifest[(manifest["split"] == "val") & (in_train if unit.trains else True)]
    evaluated = pd.concat([manifest[manifest["split"] == "test"], val], ignore_index=True)
    table = ctx.predict(detector, evaluated)
    table[MEMBERS] = [list(train_gens)] * len(table)
    return table


def permute_labels(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``rows`` with labels re-drawn independently of the videos (the leak control).

    The label-1 count stays, and each true class gets its proportional share of the 1s (largest
    remainder), at seeded random positions: the new labels are uncorrelated with the true classes
    *in this sample*, not only in expectation. A plain shuffle is not enough here: its chance
    correlation with the truth (about ±0.08 for 80 + 80 videos) is learned by any detector that
    sees the artefact, and pulls the AUC off 0.5 in the shuffle's direction. Trained on these
    labels, a detector can only beat chance on test videos through a path that bypasses what it
    learned, e.g. labels reaching the scores through file names, sizes, order or split.
    """
    labels = rows["label"].to_numpy()
    classes, sizes = np.unique(labels, return_counts=True)
    quota = sizes * labels.mean()  # each class's share of the 1s
    ones = np.floor(quota).astype(int)
    for k in np.argsort(-(quota - ones), kind="stable")[: int(labels.sum()) - ones.sum()]:
        ones[k] += 1
    rng = np.random.default_rng(seed)
    new = np.zeros_like(labels)
    for cls, count in zip(classes, ones):
        new[rng.choice(np.flatnonzero(labels == cls), size=count, replace=False)] = 1
    out = rows.copy()
    out["label"] = new
    return out


def metrics(scores: pd.DataFrame, options: dict) -> dict:
    """Metric rows per (train set, test generator) with intervals, the AUC matrix, the summary
    (mean AUCs) with joint-bootstrap intervals and replicates, per-train-set reliability bins, and
    ``held_out``: the test generators no unit trained on (only when there are some)."""
    from benchmark.intervals import SETTINGS

    rows, reliability = cell_rows(scores)
    frame = pd.DataFrame(rows)
    held = _held_out(scores)  # recorded only where there are some: earlier runs had none
    return {"rows": rows, "auc_matrix": _matrix(frame), "summary": _summary(frame),
            **_summary_intervals(scores, rows), "intervals": SETTINGS, "reliability": reliability,
            **({"held_out": held} if held else {})}


def cell_rows(scores: pd.DataFrame) -> tuple[list[dict], dict]:
    """Per (unit, test generator): its generated test videos against the real test videos, every
    binary and deployment metric with its interval, ACC at the unit's validation threshold, and
    ``seen`` (the unit trained on the generator); plus each unit's reliability bins. Other
    protocols that train one model per generator set (``chronological``) read the same rows."""
    from benchmark.deployment import deployment_summary, reliability_diagram
    from benchmark.intervals import binary_intervals

    rows, reliability = [], {}
    for unit, part in scores.groupby("unit", sort=False):
        threshold, note = _val_threshold(part[part["split"] == "val"])
        seen = {str(g) for g in part[MEMBERS].iloc[0]}
        test = part[part["split"] == "test"]
        ok_test = test[test["status"] == "ok"]
        if len(ok_test):
            reliability[unit] = reliability_diagram(ok_test["label"].to_numpy(), ok_test["score"].to_numpy())
        for gen in sorted(set(test.loc[test["label"] == 1, "generator"])):
            subset = test[test["generator"].isin([REAL, gen])]
            ok = subset[subset["status"] == "ok"]
            y, s = ok["label"].to_numpy(), ok["score"].to_numpy()
            row = {**binary_summary(y, s, threshold), **_deployment(deployment_summary, y, s)}
            row["note"] = "; ".join(n for n in (row.get("note"), row.pop("deployment_note"), note) if n)
            row["ci"] = binary_intervals(y, s, ok["source_id"].to_numpy(), row)
            rows.append({"train_set": unit, "test_set": gen, "seen": gen in seen,
                         "n_failed": int((subset["status"] != "ok").sum()), **row})
    return rows, reliability


def _deployment(summary_fn, y, s) -> dict:
    if len(y) == 0:
        return {"deployment_note": ""}
    out = summary_fn(y, s)
    out["deployment_note"] = out.pop("note")
    return out


def cell_replicates(scores: pd.DataFrame, rows: list[dict]) -> tuple[np.ndarray, list[int], str]:
    """The AUC of every row with an AUC on the same bootstrap resamples of the test videos.

    Returns ``(replicates [B, cells], row index of each cell, resample key)``: a summary over
    some rows (a mean) takes the mean of their columns per replicate, so its interval is joint."""
    from benchmark.intervals import joint_auc_replicates, resample_key

    test = scores[(scores["split"] == "test") & (scores["status"] == "ok")]
    videos = test.drop_duplicates("video_id").sort_values("video_id").reset_index(drop=True)
    position = {v: i for i, v in enumerate(videos["video_id"])}
    cells, kept = [], []
    for i, row in enumerate(rows):
        if row["auc"] is None:
            continue
        part = test[(test["unit"] == row["train_set"]) & test["generator"].isin([REAL, row["test_set"]])]
        cells.append((part["video_id"].map(position).to_numpy(), part["score"].to_numpy(float)))
        kept.append(i)
    return joint_auc_replicates(videos, cells), kept, resample_key(videos)


def _summary_intervals(scores: pd.DataFrame, rows: list[dict]) -> dict:
    """Joint bootstrap of the mean AUCs: the test videos resampled once per replicate, every cell
    recomputed on it; replicates stored so that runs over the same videos compare paired."""
    from benchmark.intervals import summary_interval

    reps, kept, key = cell_replicates(scores, rows)  # [B, cells]
    kinds = np.array([rows[i]["seen"] for i in kept], dtype=bool)
    out = {}
    for name, mask in (("mean_auc_unseen", ~kinds), ("mean_auc_seen", kinds),
                       ("mean_auc", np.ones_like(kinds))):
        if mask.any():
            out[name] = summary_interval(reps[:, mask].mean(axis=1))
    return {"summary_ci": out, "resample_key": key}


def cells(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The test sets a comparison pairs up: per (train set, test generator), its scored real and
    generated test videos (``video_id, label, score, source_id``)."""
    test = scores[(scores["split"] == "test") & (scores["status"] == "ok")]
    out = {}
    for unit, part in test.groupby("unit", sort=False):
        for gen in sorted(set(part.loc[part["label"] == 1, "generator"])):
            subset = part[part["generator"].isin([REAL, gen])]
            out[f"{unit} → {gen}"] = subset[["video_id", "label", "score", "source_id"]].reset_index(
                drop=True)
    return out


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
TABLE_COLUMNS = ("train_set", "test_set", "n_videos", "auc", "ap", "eer", "acc_at_0.5", "acc_at_val",
                 "tpr_at_fpr5", "n_failed", "note")
DEPLOYMENT_COLUMNS = ("tpr_at_fpr1", "fpr_reached_at_fpr1", "tpr_at_fpr0.1", "fpr_reached_at_fpr0.1",
                      "pauc_fpr10", "ece", "brier")


def tables(results: dict) -> list[Table]:
    """The AUC matrix and the metric rows, with 95 % intervals, for the terminal and Markdown."""
    from benchmark.intervals import with_interval

    matrix = results["auc_matrix"]
    ci = {(r["train_set"], r["test_set"]): r.get("ci") or {} for r in results["rows"]}
    summary = results.get("summary_ci") or {}
    held = held_out(results)
    extra = [["held-out test generators (no training videos)", ", ".join(held)]] if held else []
    return [
        Table("AUC [95% interval] (rows: train set, columns: test generator)",
              ["train \\ test"] + [f"{c} (held out)" if c in held else c for c in matrix["cols"]],
              [[r] + [with_interval(v, ci.get((r, c), {}).get("auc")) for c, v in zip(matrix["cols"], vals)]
               for r, vals in zip(matrix["rows"], matrix["values"])]),
        interval_table("Metrics per (train set, test generator), 95% intervals",
                       results["rows"], TABLE_COLUMNS),
        Table("Summary (joint bootstrap over the test videos)", ["metric", "value [95% interval]"],
              [[key, with_interval(results["summary"].get(key), (summary.get(key) or {}).get("interval"))]
               for key in ("mean_auc_seen", "mean_auc_unseen", "mean_auc")] + extra),
    ]


def views(run) -> dict:
    """Context of ``cross_generator.html.j2``: the AUC heat map, metric table and ROC curves."""
    from benchmark.report_views import heatmap, metric_table, reliability_plots, roc_plots

    results = run.results
    matrix = results.get("auc_matrix") or {"rows": [], "cols": [], "values": []}
    seen = {(r["train_set"], r["test_set"]): r["seen"] for r in results["rows"]}
    notes = {(r["train_set"], r["test_set"]): r.get("note") or "" for r in results["rows"]}
    bands = {(r["train_set"], r["test_set"]): (r.get("ci") or {}).get("auc") for r in results["rows"]}
    return {"heatmap": heatmap(matrix, seen, notes, "train", "test", intervals=bands),
            "held_out": held_out(results),
            "metrics": metric_table(results["rows"], [k for k in TABLE_COLUMNS
                                                      if k not in ("n_failed",)] + ["n_failed"]),
            "deployment": metric_table(results["rows"], ["train_set", "test_set",
                                                         *DEPLOYMENT_COLUMNS]),
            "reliability": reliability_plots(results.get("reliability") or {}, "train set"),
            "rocs": roc_plots(run.scores, group="unit", title="train set")}
