"""``vbench compare RUN_A RUN_B [...]``: paired comparisons of runs on the videos they share.

For every pair of runs and every test set both hold (a protocol's ``cells``: for cross_generator,
one per train set and test generator), each metric's difference comes with a paired interval and a
p-value computed on the same videos: DeLong's test for AUC, McNemar's exact test (plus a paired
bootstrap interval) for accuracy at 0.5, a paired bootstrap for AP, EER and TPR@FPR5%; the
protocol's primary summary is compared from the replicates each run stored (same resamples). All
p-values of a comparison report are corrected together (Holm). The report also overlays the runs'
ROC curves per test set and lists the videos whose verdict (score >= 0.5) flips.

Runs must be of the same protocol over the same data (manifest hash); ``intersect=True`` compares
runs over other data on the videos they share, and says so.
"""
from __future__ import annotations

import datetime as _dt
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.errors import DataError
from benchmark.intervals import SETTINGS, compared_metrics, paired_difference  # noqa: F401 (re-exported)
from benchmark.metric_catalog import Metric
from benchmark.report import RunData

THRESHOLD = 0.5  # a video's verdict: score >= THRESHOLD is called fake (flips)
MAX_FLIPS = 50


def check_comparable(runs: list[RunData], intersect: bool) -> None:
    """Same protocol always; same data unless ``intersect`` (errors name both runs and values)."""
    if len(runs) < 2:
        raise DataError("vbench compare: give at least two run directories")
    first = runs[0]
    for run in runs[1:]:
        if run.info["protocol"] != first.info["protocol"]:
            raise DataError(f"cannot compare runs of different protocols: {first.label} is "
                            f"{first.info['protocol']}, {run.label} is {run.info['protocol']}")
        if run.info.get("manifest_hash") != first.info.get("manifest_hash") and not intersect:
            raise DataError(f"runs over different data: {first.label} has manifest "
                            f"{first.info.get('manifest_hash')}, {run.label} has "
                            f"{run.info.get('manifest_hash')}; pass --intersect to compare them "
                            f"on the videos they share")


def cells(run: RunData) -> dict[str, pd.DataFrame]:
    """Test set name → its scored test videos (``video_id, label, score, source_id``)."""
    fn = getattr(run.protocol.module, "cells", None)
    if fn is None:
        raise DataError(f"protocol {run.info['protocol']} does not define test sets to compare")
    return fn(run.scores)


def _pair(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    return a.merge(b[["video_id", "score"]], on="video_id", suffixes=("_a", "_b"))


def compare_cell(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
    """Every compared metric's paired difference (a - b) on one test set's shared videos."""
    both = _pair(a, b)
    y = both["label"].to_numpy()
    sa, sb, groups = both["score_a"].to_numpy(), both["score_b"].to_numpy(), both["source_id"].to_numpy()
    out: dict[str, Any] = {"n_videos": len(both), "n_real": int((y == 0).sum()), "n_fake": int(y.sum())}
    if len(both) == 0:
        return {**out, "note": "no shared scored videos"}
    for metric in compared_metrics():
        out[metric.key] = _paired(metric, y, sa, sb, groups)
    return out


def _paired(metric: Metric, y: np.ndarray, sa: np.ndarray, sb: np.ndarray, groups: np.ndarray
            ) -> dict[str, Any]:
    """One metric's difference a - b by its declared paired test."""
    from benchmark.stats import correct_at, delong_test, mcnemar, paired_bootstrap

    if metric.paired_test == "delong":
        test = delong_test(y, sa, sb, level=SETTINGS["level"])
        return {"a": test.auc_a, "b": test.auc_b, "difference": test.difference, "low": test.low,
                "high": test.high, "p_value": test.p_value, "test": "DeLong", "note": test.note}
    boot = paired_bootstrap(metric, y, sa, sb, groups, n_resamples=SETTINGS["n_resamples"],
                            seed=SETTINGS["seed"], level=SETTINGS["level"])
    out = {"a": boot.estimate_a, "b": boot.estimate_b, "difference": boot.estimate,
           "low": boot.low, "high": boot.high, "p_value": boot.p_value,
           "test": "paired bootstrap", "note": boot.note}
    if metric.paired_test == "mcnemar":
        threshold = metric.params["threshold"]
        exact = mcnemar(correct_at(y, sa, threshold), correct_at(y, sb, threshold))
        out.update(p_value=exact.p_value, test="McNemar exact (interval: paired bootstrap)",
                   disagreements=[exact.a_only, exact.b_only])
    return out


def _flips(a: pd.DataFrame, b: pd.DataFrame, cell: str) -> list[dict[str, Any]]:
    both = _pair(a, b)
    flipped = both[(both["score_a"] >= THRESHOLD) != (both["score_b"] >= THRESHOLD)]
    return [{"test_set": cell, "video_id": r.video_id, "label": int(r.label),
             "score_a": float(r.score_a), "score_b": float(r.score_b),
             "right": "a" if (r.score_a >= THRESHOLD) == (r.label == 1) else "b"}
            for r in flipped.itertuples(index=False)]


def compare_pair(a: RunData, b: RunData) -> dict[str, Any]:
    cells_a, cells_b = cells(a), cells(b)
    shared = [c for c in cells_a if c in cells_b]
    per_cell = {c: compare_cell(cells_a[c], cells_b[c]) for c in shared}
    flips = [f for c in shared for f in _flips(cells_a[c], cells_b[c], c)]
    primary = a.protocol.primary.key
    overall = None
    if a.results.get("resample_key") == b.results.get("resample_key"):
        ra = ((a.results.get("summary_ci") or {}).get(primary) or {}).get("replicates")
        rb = ((b.results.get("summary_ci") or {}).get(primary) or {}).get("replicates")
        diff = paired_difference(ra or [], rb or [])
        if diff is not None:
            va, vb = a.summary.get(primary), b.summary.get(primary)
            overall = {"metric": primary, "a": va, "b": vb, "difference": None if va is None or vb is None
                       else va - vb, **diff, "test": "paired bootstrap (stored replicates)"}
    return {"a": a.info["run_id"], "b": b.info["run_id"], "cells": per_cell, "overall": overall,
            "only_in_a": [c for c in cells_a if c not in cells_b],
            "only_in_b": [c for c in cells_b if c not in cells_a],
            "flips": flips[:MAX_FLIPS], "n_flips": len(flips)}


def _correct(pairs: list[dict[str, Any]]) -> None:
    """Holm over every p-value of the report; marks which differences are significant."""
    from benchmark.stats import holm

    tests = {}
    for i, pair in enumerate(pairs):
        for cell, result in pair["cells"].items():
            for metric, value in result.items():
                if isinstance(value, dict) and value.get("p_value") is not None:
                    tests[(i, cell, metric)] = value["p_value"]
        if pair["overall"] is not None:
            tests[(i, "overall", "overall")] = pair["overall"]["p_value"]
    adjusted = holm({repr(k): v for k, v in tests.items()}) if tests else {}
    alpha = 1 - SETTINGS["level"]
    for key in tests:
        i, cell, metric = key
        target = pairs[i]["overall"] if cell == "overall" else pairs[i]["cells"][cell][metric]
        target["p_holm"] = adjusted[repr(key)]
        target["significant"] = bool(adjusted[repr(key)] < alpha)


def compare_runs(runs: list[RunData], intersect: bool = False) -> dict[str, Any]:
    """The JSON-able comparison of every pair of ``runs``."""
    check_comparable(runs, intersect)
    pairs = [compare_pair(a, b) for a, b in itertools.combinations(runs, 2)]
    _correct(pairs)
    return {"protocol": runs[0].info["protocol"], "intersect": intersect, "seed_groups": False,
            "runs": [{"run_id": r.info["run_id"], "method": r.info["method"],
                      "config": r.info["config"], "seed": r.info.get("seed"),
                      "code": (r.info.get("code") or {}).get("code_version"),
                      "data": r.info.get("manifest_hash")} for r in runs],
            "settings": {**SETTINGS, "threshold": THRESHOLD, "correction": "Holm over all tests"},
            "pairs": pairs,
            "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
