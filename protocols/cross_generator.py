"""Cross-generator generalisation: train on some generators, test against real on each one.

Modes: ``one_vs_all`` trains one detector per generator (the train × test AUC matrix);
``leave_one_out`` trains on all generators but one and tests on every generator. With ``--weights``
no training happens: one evaluation of the given weights (all generators are unseen).
Scores of the validation split are stored too, so thresholds chosen on validation can be recomputed
from the score table alone.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from benchmark.metrics import UndefinedMetricError, binary_summary, choose_threshold

DESCRIPTION = ("train on one generator (one_vs_all) or all but one (leave_one_out), test against "
               "real videos on each generator; AUC/AP/EER/ACC/TPR@FPR5% per (train set, generator)")
OPTIONS = {"mode": ("one_vs_all", "leave_one_out")}
REAL = "real"
log = logging.getLogger("vbench.protocol")


def train_sets(generators: list[str], mode: str) -> dict[str, list[str]]:
    """Train-set name → the generators whose fakes it trains on."""
    if mode == "one_vs_all":
        return {g: [g] for g in generators}
    if mode == "leave_one_out":
        return {f"all-but-{g}": [o for o in generators if o != g] for g in generators}
    raise ValueError(f"cross_generator: mode '{mode}' is not one of {OPTIONS['mode']}")


def score(ctx) -> pd.DataFrame:
    """Runs the protocol and returns the per-video score table (val and test rows)."""
    manifest = ctx.manifest
    generators = sorted(set(manifest.loc[manifest["label"] == 1, "generator"]))
    if ctx.weights:
        return _score_one(ctx, "weights", train_gens=None)
    parts = [_score_one(ctx, name, gens) for name, gens in
             train_sets(generators, ctx.options["mode"]).items()]
    return pd.concat(parts, ignore_index=True)


def _score_one(ctx, train_set: str, train_gens: list[str] | None) -> pd.DataFrame:
    stored = ctx.run.load_part(train_set)
    if stored is not None:
        log.info("train set %s: reusing stored scores (%s)", train_set, ctx.run.part_path(train_set))
        return stored
    manifest = ctx.manifest
    in_train = manifest["generator"].isin([REAL] + (train_gens or []))
    detector = ctx.make_detector()
    if train_gens is not None:
        ctx.train(detector, manifest[in_train & (manifest["split"] == "train")],
                  manifest[in_train & (manifest["split"] == "val")], desc=f"train[{train_set}]")
    val = manifest[(manifest["split"] == "val") & (in_train if train_gens else True)]
    evaluated = pd.concat([manifest[manifest["split"] == "test"], val], ignore_index=True)
    table = ctx.predict(detector, evaluated, desc=f"eval[{train_set}]")
    table["train_set"] = train_set
    table["train_generators"] = ",".join(train_gens) if train_gens else "(given weights)"
    ctx.run.save_part(train_set, table)
    return table


def metrics(scores: pd.DataFrame) -> dict:
    """Metric rows per (train set, test generator), the AUC matrix and the summary."""
    rows = []
    for train_set, part in scores.groupby("train_set", sort=False):
        threshold, note = _val_threshold(part[part["split"] == "val"])
        seen = set(str(part["train_generators"].iloc[0]).split(","))
        test = part[part["split"] == "test"]
        for gen in sorted(set(test.loc[test["label"] == 1, "generator"])):
            subset = test[test["generator"].isin([REAL, gen])]
            ok = subset[subset["status"] == "ok"]
            row = binary_summary(ok["label"].to_numpy(), ok["score"].to_numpy(), threshold)
            row["note"] = "; ".join(n for n in (row.get("note"), note) if n) or ""
            rows.append({"train_set": train_set, "test_set": gen, "seen": gen in seen,
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
