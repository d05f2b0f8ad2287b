"""What a seed group reports: one protocol run per training seed, reported together.

Each seed is an ordinary stored run, with the run key a ``--seed S`` run has: it is resumed,
reused and checked like any run. The group is a small record, ``group.json`` in
``<store>/seed_groups/<protocol>/<method>-<config>/<group id>/``, naming its member runs by key
with the method, protocol, options, config, data, code and seeds (`benchmark.stored_run.load_group`
reads it back and checks every member). What a group reports is computed from its members' stored
scores alone (`group_results`): per summary metric and per test set, the mean over seeds, the
across-seed spread (sd, min-max) and the combined interval of `benchmark.seed_stats`.
``vbench run --seeds`` (`benchmark.seed_runs`) runs the members and writes the record.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import seed_stats as SS
from benchmark.errors import DataError
from benchmark.intervals import SETTINGS, compared_metrics
from benchmark.stored_run import RunData, SeedGroupData



# ----------------------------------------------------------------------------- what a group reports
def data_key(group: SeedGroupData) -> str:
    """Names the group's data: each seed with its member's manifest (equal keys: same videos)."""
    pairs = [[s, r.info.get("manifest_hash")] for s, r in zip(group.seeds, group.members)]
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16]


def summary_over_seeds(group: SeedGroupData) -> dict[str, Any]:
    """Per leaderboard metric: the seed mean, spread and combined interval (from each member's
    stored summary replicates, which use the same test resamples)."""
    out = {}
    for metric in group.protocol.leaderboard:
        values = [r.summary.get(metric.key) for r in group.members]
        stored = [((r.results.get("summary_ci") or {}).get(metric.key) or {}).get("replicates")
                  for r in group.members]
        reps = None
        if all(stored) and len({len(s) for s in stored}) == 1:
            reps = np.array([[np.nan if v is None else v for v in s] for s in stored], dtype=float)
        out[metric.key] = SS.over_seeds(values, reps)
    return out


def member_cells(run: RunData) -> dict[str, Any]:
    """The run's test sets (its protocol's ``cells``), or none when the protocol has none."""
    fn = getattr(run.protocol.module, "cells", None)
    return fn(run.scores) if fn is not None else {}


def shared_cells(group: SeedGroupData) -> tuple[list[dict[str, Any]], list[str]]:
    """Each member's test sets, and the names every member holds (in the first one's order)."""
    per_seed = [member_cells(r) for r in group.members]
    names = [c for c in per_seed[0] if all(c in other for other in per_seed[1:])]
    return per_seed, names


def _cells(group: SeedGroupData) -> list[dict[str, Any]]:
    per_seed, names = shared_cells(group)
    rows = []
    for name in names:
        metrics = {}
        for metric in compared_metrics():
            parts = [SS.cell_replicates(cells[name], metric) for cells in per_seed]
            metrics[metric.key] = SS.over_seeds([v for v, _ in parts], np.stack([r for _, r in parts]))
        rows.append({"cell": name, "n_videos": [len(cells[name]) for cells in per_seed],
                     "metrics": metrics})
    return rows


def resample_key(group: SeedGroupData) -> str:
    """Names the group's replicates: each seed with its member's test resamples (equal keys:
    the combined replicates of two groups pair)."""
    pairs = [[s, r.results.get("resample_key")] for s, r in zip(group.seeds, group.members)]
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16]


def group_results(group: SeedGroupData) -> dict[str, Any]:
    """Everything a group's report, leaderboard row, comparison and gate read."""
    resample = resample_key(group)
    firsts = [r.scores.drop_duplicates("video_id") for r in group.members]
    return {"seeds": group.seeds, "method": SS.METHOD,
            "settings": {**SETTINGS, "seed_draws_seed": SS.SEED_DRAWS},
            "summary": summary_over_seeds(group), "cells": _cells(group), "resample_key": resample,
            "data_key": data_key(group),
            "n_videos": int(sum(f["status"].eq("ok").sum() for f in firsts)),
            "n_failed": int(sum(f["status"].ne("ok").sum() for f in firsts))}


def board_entry(group: SeedGroupData, results: dict[str, Any]) -> RunData:
    """The group as one leaderboard entry: the seed means, ranked on their combined intervals
    (paired with other groups of the same seeds and videos through the replicates)."""
    r, first = group.record, group.members[0].info
    timings = [(m.info.get("timings") or {}).get("total") for m in group.members]
    info = {"run_id": r["group_id"], "method": r["method"], "config": r["config"],
            "protocol": r["protocol"], "dataset": r.get("dataset"),
            "manifest_hash": f"{results['data_key']} (seeds {','.join(map(str, group.seeds))})",
            "seed": ",".join(map(str, group.seeds)), "cfg_overrides": r.get("cfg_overrides"),
            "weights": first.get("weights"), "seed_group": True,
            "timings": {"total": sum(t for t in timings if t is not None)},
            "cost": group_cost(group)}
    summary = results["summary"]
    board = {"summary": {k: v["mean"] for k, v in summary.items()},
             "summary_ci": {k: {"interval": v["interval"], "replicates": v["replicates"]}
                            for k, v in summary.items()},
             "resample_key": results["resample_key"], "seed_group": results}
    return RunData.from_memory(group.path, info, group.members[0].scores, board)


def group_cost(group: SeedGroupData) -> dict[str, Any] | None:
    """The members' cost blocks as one: each measured column the mean over the seeds that have
    it (None unless every seed has it), the device and threads of the first seed; None when no
    member recorded a cost."""
    from benchmark.metric_catalog import COST_COLUMNS

    blocks = [m.results.get("cost") or m.info.get("cost") for m in group.members]
    if not all(blocks):
        return None
    out = dict(blocks[0])
    for key in COST_COLUMNS:
        values = [b.get(key) for b in blocks]
        if key != "cost_device" and all(isinstance(v, (int, float)) for v in values):
            out[key] = float(np.mean(values))
        elif key != "cost_device":
            out[key] = None
    out["note"] = f"mean over seeds {','.join(map(str, group.seeds))}"
    return out


def as_entry(item):
    """A seed group as its leaderboard entry (`board_entry`); a run as it is."""
    return board_entry(item, group_results(item)) if isinstance(item, SeedGroupData) else item


def check_paired(a: SeedGroupData, b: SeedGroupData, what: str) -> None:
    """Two groups pair only over the same protocol, the same seeds and, seed by seed, the same
    videos (manifest); otherwise a `DataError` naming what differs."""
    if a.record["protocol"] != b.record["protocol"]:
        raise DataError(f"{what}: {a.label} is protocol {a.record['protocol']}, {b.label} is "
                        f"{b.record['protocol']}")
    if a.seeds != b.seeds:
        raise DataError(f"{what}: the seed groups have different seeds: {a.label} has "
                        f"{a.seeds}, {b.label} has {b.seeds}; pair groups of the same seeds")
    for seed, ra, rb in zip(a.seeds, a.members, b.members):
        ha, hb = ra.info.get("manifest_hash"), rb.info.get("manifest_hash")
        if ha != hb:
            raise DataError(f"{what}: the seed groups cover different videos at seed {seed}: "
                            f"{a.label} has manifest {ha}, {b.label} has manifest {hb}")


def _row(name: str, stats: dict[str, Any], metric: str | None = None) -> dict[str, Any]:
    return {"name": name, "metric": metric, **{k: stats.get(k) for k in ("mean", "interval", "sd", "min", "max",
                                                       "values")}}


def group_view(group: SeedGroupData, results: dict[str, Any], index: int, out_dir: Path
               ) -> dict[str, Any]:
    """The context of a group's report section: its members (linked), the summary and every test
    set over seeds (AUC first; the other compared metrics in their own table)."""
    r = group.record
    labels = {m.key: m.label for m in compared_metrics()}
    cells = results["cells"]
    return {"anchor": f"run-{index}", "group_id": r["group_id"], "method": r["method"],
            "config": r["config"], "protocol": r["protocol"], "dataset": r.get("dataset"),
            "seeds": group.seeds, "method_text": results["method"],
            "settings": results["settings"], "few_seeds": len(group.seeds) < 5,
            "members": [{"seed": s, "run_id": m.info["run_id"],
                         "link": os.path.relpath(m.path / "report.html", Path(out_dir).resolve()),
                         "code": (m.info.get("code") or {}).get("code_version"),
                         "manifest": str(m.info.get("manifest_hash"))[:12]}
                        for s, m in zip(group.seeds, group.members)],
            "summary": [_row(m.label, results["summary"][m.key])
                        for m in group.protocol.leaderboard],
            "auc": [_row(c["cell"], c["metrics"]["auc"]) for c in cells if "auc" in c["metrics"]],
            "others": [_row(c["cell"], stats, labels[key]) for c in cells
                       for key, stats in c["metrics"].items() if key != "auc"]}
