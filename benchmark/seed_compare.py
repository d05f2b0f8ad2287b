"""``vbench compare GROUP_A GROUP_B [...]``: seed groups compared paired, seed by seed.

Two groups pair when they hold the same seeds and, seed by seed, the same videos
(`benchmark.seed_group.check_paired`). For every test set both hold and every compared metric, the
difference is taken per seed on the videos both runs of that seed scored (one set of test
resamples for both), and the mean difference over seeds gets the combined interval of
`benchmark.seed_stats` (seeds drawn with replacement, then the videos) and its two-sided p-value.
The primary summary is compared from the groups' combined replicates. All p-values of a report are
Holm-corrected together, as for single runs; the result has `benchmark.compare.compare_runs`'s
shape, so the same pages render it.
"""
from __future__ import annotations

import datetime as _dt
import itertools
from typing import Any

import numpy as np

from benchmark import seed_stats as SS
from benchmark.compare import THRESHOLD, _correct
from benchmark.errors import DataError
from benchmark.intervals import SETTINGS, compared_metrics, paired_difference
from benchmark.seed_group import (check_paired, data_key, resample_key, shared_cells,
                                  summary_over_seeds)
from benchmark.stored_run import SeedGroupData


def _cell(cells_a: list[dict], cells_b: list[dict], name: str) -> dict[str, Any]:
    """Every compared metric's a - b over seeds on one test set."""
    out: dict[str, Any] = {}
    counts: list[int] = []
    for metric in compared_metrics():
        parts = [SS.paired_cell_replicates(ca[name], cb[name], metric)
                 for ca, cb in zip(cells_a, cells_b)]
        out[metric.key] = SS.paired_over_seeds([p[0] for p in parts], [p[1] for p in parts],
                                               np.stack([p[2] for p in parts]))
        counts = [p[3] for p in parts]
    labels = cells_a[0][name]["label"]
    return {"n_videos": counts[0] if len(set(counts)) == 1 else "/".join(map(str, counts)),
            "n_real": int((labels == 0).sum()), "n_fake": int((labels == 1).sum()), **out}


def _overall(a: SeedGroupData, b: SeedGroupData) -> dict[str, Any] | None:
    """The primary summary's a - b from the groups' combined replicates (same seeds drawn, same
    test resamples), when both have them."""
    if resample_key(a) != resample_key(b):
        return None
    key = a.protocol.primary.key
    sa, sb = summary_over_seeds(a)[key], summary_over_seeds(b)[key]
    diff = paired_difference(sa["replicates"] or [], sb["replicates"] or [])
    if diff is None:
        return None
    return {"metric": key, "a": sa["mean"], "b": sb["mean"], "difference": sa["mean"] - sb["mean"],
            **diff, "test": "two-level bootstrap (seeds x videos, stored replicates)"}


def compare_pair(a: SeedGroupData, b: SeedGroupData) -> dict[str, Any]:
    cells_a, names_a = shared_cells(a)
    cells_b, names_b = shared_cells(b)
    shared = [c for c in names_a if c in names_b]
    return {"a": a.record["group_id"], "b": b.record["group_id"],
            "cells": {c: _cell(cells_a, cells_b, c) for c in shared}, "overall": _overall(a, b),
            "only_in_a": [c for c in names_a if c not in names_b],
            "only_in_b": [c for c in names_b if c not in names_a], "flips": [], "n_flips": 0}


def compare_groups(groups: list[SeedGroupData]) -> dict[str, Any]:
    """The JSON-able comparison of every pair of seed groups.

    Raises:
        DataError: fewer than two groups, or two that do not pair (other protocol, other seeds,
            other videos at a seed; named).
    """
    if len(groups) < 2:
        raise DataError("vbench compare: give at least two seed groups")
    for other in groups[1:]:
        check_paired(groups[0], other, "vbench compare")
    pairs = [compare_pair(a, b) for a, b in itertools.combinations(groups, 2)]
    _correct(pairs)
    return {"protocol": groups[0].record["protocol"], "intersect": False, "seed_groups": True,
            "seeds": groups[0].seeds,
            "runs": [{"run_id": g.record["group_id"], "method": g.record["method"],
                      "config": g.record["config"], "seed": ",".join(map(str, g.seeds)),
                      "code": g.record["code_version"], "data": data_key(g)} for g in groups],
            "settings": {**SETTINGS, "threshold": THRESHOLD, "correction": "Holm over all tests",
                         "method": SS.METHOD, "seed_draws_seed": SS.SEED_DRAWS},
            "pairs": pairs,
            "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
