"""`vbench run`: resolve and check everything, then run a protocol's units in the run store.

`prepare` resolves the protocol, options, method, config, device, weights and data and asks the
protocol for its plan — all before anything is written, so a bad input never leaves a run marked
"running"; an error after that (a video set the protocol cannot train on, a full disk) marks it
"failed" with the error, an interrupt "interrupted". `execute` then locks the run directory and, unit by unit, reuses a finished unit's
stored scores or has the protocol score it, saving each unit's scores (and trained model) as soon
as it is done. Metrics, tables and the report come from the score table alone; ``run.json`` says
``complete`` last.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from benchmark.errors import VBenchError
from benchmark.finish import adopt_reused, find_reusable, finish, write_running, write_stopped
from benchmark.preflight import prepare
from benchmark.run_context import RunContext, RunRequest
from benchmark.score_table import SCORE_COLUMNS  # declared once; the stored-run reader checks it too

__all__ = ["SCORE_COLUMNS", "RunContext", "RunRequest", "check_score_table", "execute", "run_units"]

log = logging.getLogger("vbench.run")


def execute(request: RunRequest) -> Path | None:
    """Runs (or reuses) one protocol run; returns the HTML report's path (None on ranks > 0 under
    torchrun: rank 0 writes the results)."""
    from benchmark.distributed import is_main

    start = time.perf_counter()
    ctx = prepare(request)
    ctx.timings["setup"] = round(time.perf_counter() - start, 2)
    if not is_main():
        request.progress = False
        run_units(ctx)
        return None
    with ctx.run.locked(request.command), ctx.run.logging_to_file():
        try:
            scores, reused = run_units(ctx)
            return finish(ctx, scores, reused, start)
        except BaseException as err:  # run.json must not go on saying "running"
            write_stopped(ctx, err)
            raise


def run_units(ctx: RunContext):
    """The run's score table: stored, reused from other code (on request) or computed unit by
    unit, each finished unit saved at once. Returns ``(scores, how)`` with ``how`` None
    (computed), ``"stored"`` or the reused run's record."""
    import pandas as pd

    from benchmark.distributed import broadcast, is_main

    run, request = ctx.run, ctx.request
    if broadcast(is_main() and run.is_complete() and not request.force):
        log.info("reusing stored scores of %s (same protocol, options, method, config, data, "
                 "seed, weights and code)", run.dir)
        return (pd.read_parquet(run.dir / "scores.parquet") if is_main() else None), "stored"
    if request.reuse_across_versions and is_main() and not request.force:
        other = find_reusable(ctx)
        if other is not None:
            return adopt_reused(ctx, other), other
    if request.force and is_main():
        run.clear_parts()
    if is_main():
        write_running(ctx)
    tables = [_unit_table(ctx, unit) for unit in ctx.units]
    return pd.concat(tables, ignore_index=True), None


def _unit_table(ctx: RunContext, unit):
    from benchmark.version import code_version

    ctx.unit = unit
    stored = ctx.run.load_part(unit)
    if stored is not None:
        log.info("unit %s: reusing its stored scores (%s)", unit.name, ctx.run.part_path(unit))
        ctx.unit_costs[unit.name] = ctx.run.part_record(unit).get("cost") or {}
        return stored
    from benchmark.controls import is_control, score_real_floor

    start = time.perf_counter()
    ctx.cost.start_unit()
    table = score_real_floor(ctx, unit) if is_control(unit) else ctx.protocol.score(ctx, unit)
    check_score_table(table, unit.name, ctx.protocol.name)
    ctx.unit_costs[unit.name] = ctx.cost.unit_record()
    ctx.run.save_part(unit, table, {"seconds": round(time.perf_counter() - start, 2),
                                    "code_version": code_version(),
                                    "cost": ctx.unit_costs[unit.name]})
    return table


def check_score_table(table, unit: str, protocol: str) -> None:
    """A unit's table has the standard columns, and every scored row has a finite score."""
    import numpy as np

    missing = [c for c in SCORE_COLUMNS if c not in table.columns]
    if missing:
        raise VBenchError(f"protocol {protocol}, unit {unit!r}: the score table lacks "
                          f"{', '.join(missing)}")
    ok = table["status"] == "ok"
    bad = ok & ~np.isfinite(table["score"].to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        ids = table.loc[bad, "video_id"].tolist()
        raise VBenchError(f"unit {unit!r}: the detector returned non-finite scores for "
                          f"{len(ids)} video(s), e.g. {', '.join(map(repr, ids[:5]))}; nothing "
                          f"of this unit was stored (NaN/inf in the model's output)")
