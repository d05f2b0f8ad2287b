"""Source tracing (attribution): which generator made a video; real is a class.

Every detector that declares the ``multiclass`` task trains a K-way head (`Detector.
with_num_classes`); its per-video class probabilities go into the score table as ``prob_0`` ..
``prob_{K-1}``, the unit's class list (index = position) as ``classes`` (also in run.json's units
and metrics.json's ``classes``). The checkpoint is chosen on validation balanced accuracy.

- Closed set (default): one unit, every class known. Accuracy, balanced accuracy, macro-F1, top-2
  accuracy, per-class precision/recall/F1 and the confusion matrix on the test split.
- Open set: ``held_out=a,b`` (one unit) or ``leave_one_out=true`` (one unit per generator) leaves
  generators out of training and validation; their test videos are scored as "unknown" by one
  minus the maximum softmax probability (AUROC against the known classes' test videos), and the
  closed-set metrics are computed on the known classes.
- ``preset=mmvgm9``: MMVGM's nine labels over folder-per-generator data (`protocols.
  tracing_classes`); real videos are not traced there.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from benchmark.errors import DataError
from benchmark.inference import prob_column
from benchmark.metrics_multiclass import ACCURACY, BALANCED_ACCURACY, MACRO_F1, TOP2_ACCURACY
from benchmark.protocol import Metric, Option, Unit, parse_bool, parse_list
from benchmark.metric_catalog import CATALOG
from benchmark.tables import Table, interval_table
from protocols.cross_generator import _mean as mean_or_none  # shared with cross_generator
from protocols.tracing_classes import PRESETS, REAL, check_classes, class_plan, resolve_held_out
from protocols.tracing_metrics import AUROC_UNKNOWN

NAME = "source_tracing"
VERSION = "1"
DESCRIPTION = ("attribute each video to its generator (real is a class): accuracy, balanced "
               "accuracy, macro-F1, top-2, confusion matrix; open set: AUROC of unknown generators")
OPTIONS = (
    Option("held_out", (), "generators left out of training and validation (open set); their "
           "test videos are scored as unknown", type=parse_list),
    Option("leave_one_out", False, "open set: one model per generator, each held out in turn",
           type=parse_bool),
    Option("preset", "none", "class set: none (real + each generator) or mmvgm9 (MMVGM's nine "
           "labels in the published order over generator folders; real not traced)",
           choices=PRESETS),
)
PRIMARY_METRIC = BALANCED_ACCURACY  # the summaries average the rows' metrics over units
LEADERBOARD = (ACCURACY, MACRO_F1, TOP2_ACCURACY, AUROC_UNKNOWN)
METRICS = (AUROC_UNKNOWN,
           Metric("n_known", "known", tasks=(), format="count",
                  description="test videos of classes the model trained on"),
           Metric("n_unknown", "unknown", tasks=(), format="count",
                  description="test videos of held-out generators"),
           Metric("n_support", "videos", tasks=(), format="count"),
           Metric("class", "index: class", None, tasks=(), format="text"))
CLASSES, HELD_OUT = "classes", "held_out"
log = logging.getLogger("vbench.protocol")


def plan(ctx) -> list[Unit]:
    """Units of the closed or open set; refuses, before any training, a binary-only method, bad
    options, held-out generators not in the data and classes without training or test videos."""
    from benchmark.data.checks import run_checks

    _check_method(ctx.request.method)
    options, data = ctx.options, ctx.data_name
    if options["held_out"] and options["leave_one_out"]:
        raise DataError("options held_out and leave_one_out=true both choose the held-out "
                        "generators; give one of them")
    run_checks(ctx.manifest, ["test_rows", "leakage", "files"], data)
    tracing = class_plan(ctx.manifest, options["preset"], data)
    if tracing.excluded:
        n = int(ctx.manifest["generator"].isin(tracing.excluded).sum())
        log.warning("preset %s: %d %s video(s) are not traced (MMVGM's tracing has no real class)",
                    options["preset"], n, "/".join(tracing.excluded))
    labelled = ctx.manifest.assign(class_name=tracing.label(ctx.manifest["generator"]))
    if ctx.weights is not None:
        known = _weights_classes(ctx.weights.stored, tracing, options["preset"], data)
        held = tuple(c for c in tracing.classes if c not in known)
        check_classes(labelled, known, (), data, trains=False)
        return [_unit(ctx.weights.stored.unit if ctx.weights.stored else "weights", known, held,
                      False)]
    units = []
    for held in _held_out_sets(options, tracing, data):
        known = tuple(c for c in tracing.classes if c not in held)
        check_classes(labelled, known, held, data)
        ctx.detector_class().with_num_classes(ctx.config, len(known))  # refuses unfit configs now
        name = "closed set" if not held else "held out: " + ", ".join(held)
        units.append(_unit(name, known, held, True))
    return units


def _unit(name: str, known: tuple[str, ...], held: tuple[str, ...], trains: bool) -> Unit:
    return Unit(name, trains=trains, members={CLASSES: known, HELD_OUT: held})


def _check_method(method: str) -> None:
    from benchmark.registry import registry

    methods = registry().methods
    if "multiclass" not in methods[method].tasks:
        able = [key for key, entry in methods.items() if "multiclass" in entry.tasks]
        raise DataError(f"method {method!r} declares only the {'/'.join(methods[method].tasks)} "
                        f"task (registry.yaml), so it cannot attribute videos to generators; "
                        f"methods that support source tracing: {', '.join(able)}")


def _held_out_sets(options: dict, tracing, data: str) -> list[tuple[str, ...]]:
    if options["leave_one_out"]:
        return [(c,) for c in tracing.classes if c != REAL]
    return [resolve_held_out(options["held_out"], tracing, data)]


def _weights_classes(stored, tracing, preset: str, data: str) -> tuple[str, ...]:
    """The classes (head order) of given weights: a stored source_tracing model's, or a preset's."""
    if stored is not None and stored.card.get("protocol") == NAME:
        return tuple(str(c) for c in stored.card.get("members", {}).get(CLASSES, ()))
    if preset != "none":
        return tracing.classes
    raise DataError(f"data {data!r}: --weights for source tracing needs their class order: a "
                    f"model stored by a source_tracing run (RUN_DIR:UNIT) or a preset (e.g. "
                    f"--option preset=mmvgm9 for MMVGM's nine-label checkpoints)")


def score(ctx, unit: Unit) -> pd.DataFrame:
    """Trains the K-way head on the known classes (unless weights are given) and scores the test
    videos of known and held-out classes."""
    known, held = tuple(unit.members[CLASSES]), tuple(unit.members[HELD_OUT])
    tracing = class_plan(ctx.manifest, ctx.options["preset"], ctx.data_name)
    manifest = ctx.manifest.assign(class_name=tracing.label(ctx.manifest["generator"]))
    index = {name: i for i, name in enumerate(known)}
    detector = ctx.make_detector(num_classes=len(known))
    if unit.trains:
        rows = manifest[manifest["class_name"].isin(known)]
        rows = rows.assign(label=rows["class_name"].map(index).astype(np.int64))
        ctx.train(detector, rows[rows["split"] == "train"], rows[rows["split"] == "val"],
                  task="multiclass")
    test = manifest[(manifest["split"] == "test") & manifest["class_name"].isin(known + held)]
    table = ctx.predict(detector, test, class_probs=True)
    names = test["class_name"].reset_index(drop=True)
    table["class_name"] = names
    table["class_index"] = names.map(index).fillna(-1).astype(np.int64)
    table["known"] = names.isin(known)
    table[CLASSES] = [list(known)] * len(table)
    table[HELD_OUT] = [list(held)] * len(table)
    real = table[prob_column(index[REAL])] if REAL in index else 0.0
    table["score"] = np.where(table["status"] == "ok", 1.0 - real, np.nan)  # P(generated)
    return table


# ----------------------------------------------------------------------------- metrics
def metrics(scores: pd.DataFrame, options: dict) -> dict:
    """Per unit: closed-set metrics on the known classes, per-class rows, the confusion matrix,
    and the open-set AUROC of its held-out generators; the summary averages over units."""
    from benchmark.intervals import SETTINGS
    from protocols.tracing_intervals import summary_intervals
    from protocols.tracing_metrics import tracing_metrics

    found = tracing_metrics(scores)
    rows, per_class, confusion, classes = [], [], [], {}
    for result in found["units"]:
        rows.append(result["row"])
        per_class += result["per_class"]
        confusion.append(result["confusion"])
        classes[result["row"]["unit"]] = {name: i for i, name in
                                          enumerate(result["confusion"]["cols"])}
    keys = [metric.key for metric in (PRIMARY_METRIC, *LEADERBOARD)]
    summary = {key: mean_or_none(r[key] for r in rows) for key in keys}
    note = ("preset mmvgm9: real videos are not traced (MMVGM's tracing has no real class)"
            if options.get("preset") == "mmvgm9" else "")
    return {"rows": rows, "per_class": per_class, "confusion": confusion, "classes": classes,
            "summary": summary, **summary_intervals(found["videos"], found["replicates"], keys),
            "intervals": SETTINGS, "note": note}


# ----------------------------------------------------------------------------- presentation
TABLE_COLUMNS = ("unit", "n_known", "n_unknown", "accuracy", "balanced_accuracy", "macro_f1",
                 "top2_accuracy", "auroc_unknown", "n_failed", "note")
CLASS_COLUMNS = ("unit", "class", "precision", "recall", "f1", "n_support")


def tables(results: dict) -> list[Table]:
    """The metric rows and the per-class rows with their 95 % intervals, and the summary, for
    the terminal and the Markdown report."""
    from benchmark.intervals import with_interval

    summary_ci = results.get("summary_ci") or {}
    out = [interval_table("Source tracing per unit, 95% intervals", results["rows"],
                          TABLE_COLUMNS),
           interval_table("Per class, 95% intervals", results["per_class"], CLASS_COLUMNS),
           Table("Summary: mean over units (joint bootstrap over the test videos)",
                 ["metric", "value [95% interval]"],
                 [[CATALOG.label(key), with_interval(value, (summary_ci.get(key) or {}).get(
                     "interval"))] for key, value in results["summary"].items()])]
    for matrix in results["confusion"]:
        out.append(Table(f"Confusion matrix, {matrix['unit']} (rows: true, columns: predicted)",
                         ["true \\ predicted"] + matrix["cols"],
                         [[r] + [str(n) for n in counts]
                          for r, counts in zip(matrix["rows"], matrix["counts"])]))
    return out


def views(run) -> dict:
    """Context of ``source_tracing.html.j2``: tables and one confusion heat map per unit."""
    from benchmark.report_views import confusion_heatmap, metric_table

    results = run.results
    return {"metrics": metric_table(results["rows"], TABLE_COLUMNS),
            "per_class": metric_table(results["per_class"], CLASS_COLUMNS),
            "confusion": [{"unit": m["unit"], "map": confusion_heatmap(m)}
                          for m in results["confusion"]],
            "note": results.get("note", "")}
