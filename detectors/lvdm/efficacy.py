"""The computations of the ``protection_efficacy`` protocol for LVDM (`LVDM.score_table`,
`LVDM.metrics`).

`score_lvdm` runs the whole method (trajectories, the (category, step) detectors, the test videos'
per-step flags, the online guard on regenerated test videos) and returns one tidy row per (test
video, step): the runner's standard columns (``score`` = the highest category score at that step)
plus ``step``, ``category``, ``score_<category>``, ``flag`` and the guard's ``guard_stopped`` /
``guard_stop_step`` for that video, and the rule's ``rule_eta``/``rule_lambda``/``rule_balance``.
`lvdm_metrics` computes the (η, λ) table, the per-step accuracy and the guard's stop-step
distribution from that table alone.
"""
from __future__ import annotations

import tempfile
from typing import Any

import numpy as np
import pandas as pd

from detectors.lvdm.intervals import summary_intervals, sweep_replicates
from detectors.lvdm.rule import early_exit, flag_matrix, per_step_accuracy, sweep


def score_lvdm(defence, progress: bool = False) -> pd.DataFrame:
    """Runs LVDM end to end on its configured data (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="vbench-lvdm-") as work:
        steps = defence.prepare(work)
        trained = defence.fit(steps, progress)
        scores = defence.score(steps, trained)
        guard = None
        if defence.config["data"]["source"] == "embedded":
            videos = steps[steps["split"] == "test"].drop_duplicates("video_id")
            guard = defence.guard_runs(trained, videos)
    return _table(defence, scores, guard, trained)


def _table(defence, scores: pd.DataFrame, guard: pd.DataFrame | None, trained: dict) -> pd.DataFrame:
    categories = defence.categories
    rule = defence.config["rule"]
    table = scores.copy()
    table["score"] = table[[f"score_{c}" for c in categories]].max(axis=1)
    table["video"] = table["video_id"]
    table["video_id"] = table["video"] + "@" + table["step"].map("{:03d}".format)
    table = table.assign(dataset=f"lvdm-{defence.config['data']['source']}", generator=table["category"],
                         split="test", source_id=table["video"], n_clips=1, status="ok", error="",
                         perturbation="none", severity=0.0, rule_eta=int(rule["eta"]),
                         rule_lambda=float(rule["lambda"]), rule_balance=bool(rule["balance"]),
                         total_steps=defence.num_steps)
    for category in categories:
        table[f"threshold_{category}"] = table["step"].map(
            {s: trained[(category, s)].threshold for s in range(defence.num_steps)})
    if guard is not None:
        table = table.merge(guard[["video_id", "stopped", "stop_step"]].rename(
            columns={"video_id": "video", "stopped": "guard_stopped", "stop_step": "guard_stop_step"}),
            on="video", how="left")
    return table


def lvdm_metrics(table: pd.DataFrame, etas: list[int], lambdas: list[float]) -> dict[str, Any]:
    """The (η, λ) sweep, per-step accuracy and guard stops, from `score_lvdm`'s table alone."""
    frame = table.assign(video_id=table["video"])
    eta, lam = int(table["rule_eta"].iloc[0]), float(table["rule_lambda"].iloc[0])
    grid = sweep(frame, etas, lambdas, bool(table["rule_balance"].iloc[0]))
    rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in grid.to_dict("records")]
    default = early_exit(flag_matrix(frame)[2], eta, lam)
    balance = bool(table["rule_balance"].iloc[0])
    chosen = next((r for r in rows if r["eta"] == eta and r["lambda"] == lam), None) or \
        sweep(frame, [eta], [lam], balance).iloc[1].to_dict()
    rules = rows if any(r is chosen for r in rows) else [*rows, chosen]
    replicates, videos = sweep_replicates(frame, rules, balance)
    base = rows[0]
    stops = _stops(table)
    summary = {"efficacy": chosen["f1"], "f1_rule": chosen["f1"], "accuracy_rule": chosen["accuracy"],
               "compute_saved": chosen["compute_saved"], "f1_last_step": base["f1"],
               "accuracy_last_step": base["accuracy"], "rule": f"eta={eta}, lambda={lam:g}",
               "n_flagged_rule": int(default[0].sum()), **stops["summary"]}
    chosen_at = next(i for i, r in enumerate(rules) if r is chosen)
    return {"task": "unsafe_generation", "rows": rows, "summary": summary,
            **summary_intervals(rules, replicates, chosen_at, videos),
            "per_step": per_step_accuracy(frame).to_dict("records"), "guard_stops": stops["counts"]}


def _stops(table: pd.DataFrame) -> dict[str, Any]:
    if "guard_stopped" not in table.columns:
        return {"summary": {"guard_stopped_rate": None}, "counts": []}
    videos = table.drop_duplicates("video")
    counts = videos["guard_stop_step"].fillna(0).astype(int).value_counts().sort_index()
    total = int(table["total_steps"].iloc[0])
    stopped = videos[videos["guard_stopped"].astype(bool)]
    return {"summary": {"guard_stopped_rate": float(videos["guard_stopped"].astype(bool).mean()),
                        "guard_mean_stop_step": float(stopped["guard_stop_step"].mean())
                        if len(stopped) else None,
                        "guard_compute_saved": float(((total - stopped["guard_stop_step"]) / total)
                                                     .sum() / len(videos))},
            "counts": [{"stop_step": "not stopped" if s == 0 else int(s), "videos": int(n)}
                       for s, n in counts.items()]}
