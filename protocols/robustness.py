"""Robustness: how a detector's AUC falls under the degradations videos meet on their way.

One unit: the detector (trained once on the clean training split of every generator against real,
or the given weights) scores the clean validation and test videos, then every test video under
every (perturbation, level) of the grid — each video decoded once and read through every view by
the detector's own reader, so AIGVDet's optical flow and GenConViT's face finding see the
perturbed frames (`benchmark.data.views`). Scores are cached by (model, video content, view), so
adding a level or re-running computes only what is new.

Per (perturbation, level): AUC, AP and ACC at the threshold chosen on clean validation videos,
each with its interval. Per perturbation: the area under its AUC-vs-severity curve (severity 0 is
the clean video) divided by the clean AUC times the largest level (1.0: no loss at any level) and
the relative drop at each level. Cost: the reader's seconds per video under each perturbation
beside the clean read and the decode.

With ``dataset_perturbations=true`` the test videos' own perturbed copies (the manifest column
``perturbed_path``, which a layout such as DecepTIV's fills from its ``videos_pert/``) are scored
too, as the perturbation ``dataset:videos_pert``, and reported apart from vbench's perturbations:
their AUC beside the clean AUC of the same videos (paired by video id), never in the curves, the
areas or the summary.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.errors import DataError
from benchmark.metric_catalog import CATALOG
from benchmark.metrics import UndefinedMetricError, binary_summary, choose_threshold
from benchmark.protocol import Metric, Option, Unit, parse_bool, parse_list
from benchmark.tables import Table, fmt

NAME = "robustness"
VERSION = "1"
DESCRIPTION = ("train once on clean videos (or take --weights), score the test videos clean and "
               "under every (perturbation, level): AUC per level, area under each AUC-vs-severity "
               "curve relative to clean, the perturbations' cost")
DEFAULT_TYPES = ("df_saturation", "df_contrast", "df_block", "df_noise", "df_blur",
                 "df_pixelation", "df_compression")


def _levels(text) -> tuple[int, ...]:
    values = parse_list(text)
    try:
        levels = tuple(int(v) for v in values)
    except ValueError:
        raise ValueError(f"levels must be integers, got {text!r}") from None
    if not levels:
        raise ValueError("no levels given")
    return levels


OPTIONS = (
    Option("perturbations", DEFAULT_TYPES, "comma-separated perturbations or chains (see "
           "docs/PERTURBATIONS.md; default: the seven DeeperForensics-1.0 types)", type=parse_list),
    Option("levels", (1, 3, 5), "comma-separated levels of each perturbation", type=_levels),
    Option("perturbation_file", "", "a YAML file of more perturbations or chains", type=str),
    Option("decode_once", True, "decode each video once for every view (false: once per view, "
           "to measure the saving)", type=parse_bool),
    Option("cache", True, "reuse scores cached by (model, video, view)", type=parse_bool),
    Option("dataset_perturbations", False, "also score the dataset's own perturbed copy of each "
           "test video (manifest column perturbed_path, e.g. DecepTIV's videos_pert/), reported "
           "apart", type=parse_bool),
)
DATASET_COPY = "dataset:videos_pert"  # the perturbation name of the dataset's own perturbed copies
COPY_COLUMN = "perturbed_path"
PRIMARY_METRIC = Metric("mean_relative_area", "relative AUC area under perturbation (mean)")
LEADERBOARD = (Metric("clean_auc", "clean AUC"),
               Metric("worst_relative_area", "worst perturbation (relative area)"))
METRICS = (
    PRIMARY_METRIC, *LEADERBOARD,
    Metric("relative_area", "relative area", description="area under AUC(severity) over clean "
           "AUC x largest level; 1.0: no loss at any level"),
    Metric("worst_perturbation", "worst perturbation", None, format="text"),
    Metric("level", "level", None, tasks=(), format="count", description="perturbation level"),
    Metric("read_seconds", "read s/video", False, tasks=()),
    Metric("extra_seconds_per_video", "extra s/video", False, tasks=(),
           description="reader seconds per video beyond the clean read"),
    Metric("decode_seconds", "decode s/video", False, tasks=()),
    Metric("clean_auc_same_videos", "clean AUC (same videos)",
           description="clean AUC of the test videos that have a perturbed copy in the dataset"),
    Metric("auc_drop_same_videos", "AUC drop (same videos)", False,
           description="clean AUC - AUC of the dataset's perturbed copies, on the same videos"),
)
REAL = "real"


def perturbation_set(options: dict):
    from benchmark.perturb.config import default_set, load_perturbation_set

    if options.get("perturbation_file"):
        return load_perturbation_set([options["perturbation_file"]])
    return default_set()


def plan(ctx) -> list[Unit]:
    """One unit; the grid and the data are checked here, before any work."""
    from benchmark.data.checks import run_checks
    from benchmark.perturb.config import validate_grid

    types, levels = ctx.options["perturbations"], ctx.options["levels"]
    if not types:
        raise DataError("robustness: --option perturbations=... names no perturbation")
    validate_grid({t: list(levels) for t in types}, perturbation_set(ctx.options))
    manifest = ctx.manifest
    if ctx.weights is not None:
        run_checks(manifest, ["test_rows", "real", "leakage", "files"], ctx.data_name,
                   splits=["test", "val"])
    else:
        run_checks(manifest, ["train_rows", "test_rows", "classes", "real", "leakage", "files"],
                   ctx.data_name, splits=["train", "val"])
    members = {"perturbations": tuple(types), "levels": tuple(map(str, levels))}
    if ctx.options["dataset_perturbations"]:  # only then, so other runs keep their unit keys
        _check_copies(manifest, ctx.data_name)
        members["dataset_perturbations"] = (DATASET_COPY,)
    return [Unit("robustness", trains=ctx.weights is None, members=members)]


def _copies(manifest: pd.DataFrame) -> pd.DataFrame:
    """Test rows that have a perturbed copy, with ``path`` pointing at it (same video id)."""
    test = manifest[manifest["split"] == "test"]
    if COPY_COLUMN not in test.columns:
        return test.iloc[:0]
    copies = test[test[COPY_COLUMN].fillna("").astype(str).str.strip() != ""]
    return copies.assign(path=copies[COPY_COLUMN])


def _check_copies(manifest: pd.DataFrame, data: str) -> None:
    import os

    copies = _copies(manifest)
    if not len(copies):
        raise DataError(f"data {data!r}: dataset_perturbations=true needs test videos with a "
                        f"perturbed copy (column {COPY_COLUMN}, e.g. the deceptiv layout's "
                        f"videos_pert/); none has one")
    missing = [p for p in copies["path"] if not os.path.exists(p)]
    if missing:
        raise DataError(f"data {data!r}: {len(missing)} perturbed cop(ies) in column {COPY_COLUMN} "
                        f"do not exist, e.g. {missing[0]}")


def score(ctx, unit: Unit) -> pd.DataFrame:
    """Clean validation scores, then the test videos clean and under every view."""
    from benchmark.data.views import View

    manifest = ctx.manifest
    detector = ctx.make_detector()
    if unit.trains:
        ctx.train(detector, manifest[manifest["split"] == "train"], manifest[manifest["split"] == "val"])
    tables = []
    val = manifest[manifest["split"] == "val"]
    if len(val):
        tables.append(ctx.predict(detector, val))
    views = [View("none", 0)] + [View(t, int(level)) for t in unit.members["perturbations"]
                                 for level in unit.members["levels"]]
    tables.append(ctx.predict_views(detector, manifest[manifest["split"] == "test"], views,
                                    perturbation_set(ctx.options), ctx.options["decode_once"],
                                    ctx.options["cache"]))
    if unit.members.get("dataset_perturbations"):
        copies = ctx.predict(detector, _copies(manifest))  # the copies' files, the clean rows' ids
        tables.append(copies.assign(perturbation=DATASET_COPY, severity=1))
    return pd.concat(tables, ignore_index=True)


# ----------------------------------------------------------------------------- metrics
def _threshold(val: pd.DataFrame) -> tuple[float | None, str]:
    ok = val[val["status"] == "ok"]
    try:
        return choose_threshold(ok["label"].to_numpy(), ok["score"].to_numpy()), ""
    except UndefinedMetricError as err:
        return None, f"no validation threshold ({err})"


def _row(test: pd.DataFrame, threshold, note: str) -> dict:
    from benchmark.intervals import binary_intervals

    ok = test[test["status"] == "ok"]
    y, s = ok["label"].to_numpy(), ok["score"].to_numpy()
    row = binary_summary(y, s, threshold)
    row["note"] = "; ".join(n for n in (row["note"], note) if n)
    row["ci"] = binary_intervals(y, s, ok["source_id"].to_numpy(), row)
    row["n_failed"] = int((test["status"] != "ok").sum())
    seconds = test.get("read_seconds")
    row["read_seconds"] = float(np.nanmean(seconds)) if seconds is not None and seconds.notna().any() else None
    return row


def metrics(scores: pd.DataFrame, options: dict) -> dict:
    """Rows per (perturbation, level) with intervals, curves, relative areas, drops and cost."""
    from benchmark.intervals import SETTINGS

    threshold, note = _threshold(scores[(scores["split"] == "val") & (scores["perturbation"] == "none")])
    test = scores[scores["split"] == "test"]
    own = test[test["perturbation"].astype(str).str.startswith("dataset:")]
    test = test.drop(own.index)
    clean = _row(test[test["perturbation"] == "none"], threshold, note)
    rows = [{"perturbation": "none", "level": 0, **clean}]
    curves = {}
    for name, part in test[test["perturbation"] != "none"].groupby("perturbation", sort=False):
        levels = sorted(int(v) for v in part["severity"].unique())
        points = []
        for level in levels:
            row = _row(part[part["severity"] == level], threshold, note)
            rows.append({"perturbation": name, "level": level, **row})
            points.append(row["auc"])
        curves[name] = _curve(clean["auc"], levels, points, clean["read_seconds"],
                              [r["read_seconds"] for r in rows[-len(levels):]])
    areas = [c["relative_area"] for c in curves.values() if c["relative_area"] is not None]
    worst = min(curves, key=lambda k: curves[k]["relative_area"] or np.inf) if areas else None
    decode = scores.get("decode_seconds")
    summary = {"clean_auc": clean["auc"], "mean_relative_area": float(np.mean(areas)) if areas else None,
               "worst_relative_area": min(areas) if areas else None, "worst_perturbation": worst,
               "decode_seconds": float(np.nanmean(decode)) if decode is not None and decode.notna().any() else None}
    return {"rows": rows, "curves": curves, "summary": summary, "intervals": SETTINGS,
            "dataset_perturbations": _dataset_rows(own, test[test["perturbation"] == "none"],
                                                   threshold, note)}


def _dataset_rows(own: pd.DataFrame, clean: pd.DataFrame, threshold, note: str) -> list[dict]:
    """Per dataset perturbation: its AUC, and the clean AUC of the same videos (by video id)."""
    rows = []
    for name, part in own.groupby("perturbation", sort=True):
        row = _row(part, threshold, note)
        same = _row(clean[clean["video_id"].isin(part["video_id"])], threshold, note)
        row["clean_auc_same_videos"] = same["auc"]
        row["ci"] = {**row["ci"], "clean_auc_same_videos": same["ci"].get("auc")}
        drop = None if same["auc"] is None or row["auc"] is None else same["auc"] - row["auc"]
        rows.append({"perturbation": name, **row, "auc_drop_same_videos": drop})
    return rows


def _curve(clean_auc, levels, aucs, clean_seconds, seconds) -> dict:
    """Area under AUC(severity) from the clean video (0) to the largest level, over clean AUC x
    largest level; the relative drop at each level; the perturbation's reading cost."""
    out = {"levels": levels, "auc": aucs, "relative_area": None,
           "drop": [None if a is None or not clean_auc else (clean_auc - a) / clean_auc for a in aucs]}
    if clean_auc and all(a is not None for a in aucs):
        xs, ys = np.r_[0, levels], np.r_[clean_auc, aucs]
        area = float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2.0))
        out["relative_area"] = area / (clean_auc * xs[-1])
    costs = [s - clean_seconds for s in seconds if s is not None and clean_seconds is not None]
    out["extra_seconds_per_video"] = float(np.mean(costs)) if costs else None
    return out


# ----------------------------------------------------------------------------- presentation
COLUMNS = ("perturbation", "level", "n_videos", "auc", "ap", "acc_at_val", "n_failed", "note")
DATASET_COLUMNS = ("perturbation", "n_videos", "clean_auc_same_videos", "auc",
                   "auc_drop_same_videos", "ap", "acc_at_val", "n_failed", "note")


def tables(results: dict) -> list[Table]:
    from benchmark.intervals import with_interval

    def cell(row, key):
        if key in (row.get("ci") or {}):
            return with_interval(row.get(key), row["ci"][key])
        return fmt(row.get(key))

    curves = results.get("curves") or {}
    own = results.get("dataset_perturbations") or []
    extra = [Table("The dataset's own perturbed copies (apart from the above; paired by video)",
                   [CATALOG.label(k) for k in DATASET_COLUMNS],
                   [[cell(r, k) for k in DATASET_COLUMNS] for r in own])] if own else []
    return [Table("AUC per perturbation and level, 95% intervals", [CATALOG.label(k) for k in COLUMNS],
                  [[cell(r, k) for k in COLUMNS] for r in results["rows"]]),
            Table("Per perturbation: area under AUC(severity) relative to clean; drop per level; cost",
                  [CATALOG.label("perturbation"), CATALOG.label("relative_area"), "drop per level",
                   CATALOG.label("extra_seconds_per_video")],
                  [[name, fmt(c["relative_area"]), ", ".join(fmt(d) for d in c["drop"]),
                    fmt(c.get("extra_seconds_per_video"), 4)] for name, c in curves.items()]),
            *extra]


def views(run) -> dict:
    from benchmark.report_views import metric_table

    results = run.results
    curves = results.get("curves") or {}
    costs = [{"perturbation": k, "relative_area": c["relative_area"],
              "extra_seconds_per_video": c.get("extra_seconds_per_video")} for k, c in curves.items()]
    return {"plots": severity_plots({run.info["method"]: results}),
            "metrics": metric_table(results["rows"], COLUMNS),
            "costs": metric_table(costs, ["perturbation", "relative_area", "extra_seconds_per_video"]),
            "decode_seconds": results["summary"].get("decode_seconds"),
            "dataset_perturbations": metric_table(results.get("dataset_perturbations") or [],
                                                  DATASET_COLUMNS)}


def board_views(runs) -> dict:
    """Every run of a board on one AUC-vs-severity plot per perturbation."""
    return {"plots": severity_plots({f"{r.info['method']}/{r.info['config']}": r.results
                                     for r in runs})}


def severity_plots(results_by_name: dict) -> list[dict]:
    """Per perturbation, one polyline per run: AUC (0.4-1) against severity (0 = clean)."""
    from benchmark.report_views import PALETTE, SVG

    names = list(dict.fromkeys(k for r in results_by_name.values() for k in (r.get("curves") or {})))
    plots = []
    for perturbation in names:
        lines = []
        for i, (label, results) in enumerate(results_by_name.items()):
            curve = (results.get("curves") or {}).get(perturbation)
            clean = (results.get("summary") or {}).get("clean_auc")
            if not curve or clean is None:
                continue
            xs, ys = [0, *curve["levels"]], [clean, *curve["auc"]]
            top = max(xs) or 1
            points = " ".join(f"{SVG['left'] + x / top * SVG['size']:.1f},"
                              f"{SVG['top'] + (1 - (min(max(y, 0.4), 1.0) - 0.4) / 0.6) * SVG['size']:.1f}"
                              for x, y in zip(xs, ys) if y is not None)
            lines.append({"label": label, "color": PALETTE[i % len(PALETTE)], "points": points,
                          "relative_area": curve["relative_area"]})
        plots.append({"name": perturbation, "lines": lines,
                      "max_level": max((c for r in results_by_name.values()
                                        for c in ((r.get("curves") or {}).get(perturbation) or {}).get("levels", [])),
                                       default=1)})
    return plots
