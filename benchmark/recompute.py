"""Is a stored ``metrics.json`` what its ``scores.parquet`` gives? (docs/ARCHITECTURE.md, "Run
directory").

Metrics are computed from the score table alone, so a reader can recompute them: the protocol's
own ``metrics(scores, options)`` over the table without control rows, plus the real-vs-real
control, as `benchmark.finish.finish` wrote them, passed through the same JSON encoding. Every
key, list length, text and number must agree (numbers within `REL_TOL`, relative; NaN equals
NaN); the first difference is reported by its key path (``rows[3].ci.auc.low``). The bootstrap
intervals are recomputed too: they are seeded, so an unchanged table gives them exactly.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmark.errors import DataError, VBenchError

REL_TOL = 1e-9
ABS_TOL = 1e-12  # for values that should be 0 and differ by rounding only
# what finish adds beside the protocol's own metrics; ``cost`` is measured, not computed from
# the scores: it must equal run.json's
RECORD_KEYS = ("protocol", "controls", "cost")


def check_metrics(run_dir: Path, info: dict[str, Any], scores, stored: dict[str, Any],
                  protocol) -> None:
    """Raises `DataError` naming the first key of ``metrics.json`` that the stored scores do not
    give (or the reason they cannot be recomputed)."""
    fresh = recomputed(run_dir, info, scores, protocol)
    for key in RECORD_KEYS:  # runs written before a key existed do not carry it
        if key not in stored:
            fresh.pop(key, None)
    found = first_difference(stored, fresh)
    if found is None:
        return
    where, mine, theirs = found
    made = stored.get("protocol") if isinstance(stored.get("protocol"), dict) else {}
    version = (f"; it was written by protocol version {made.get('version')!r} and this code's is "
               f"{protocol.version!r}" if made.get("version") not in (None, protocol.version) else "")
    raise DataError(f"{run_dir / 'metrics.json'}: key {where} {mine}, but recomputing "
                    f"{protocol.name}'s metrics from {run_dir / 'scores.parquet'} gives {theirs}"
                    f"{version}; the file does not match the stored scores (was it edited, or "
                    f"copied from another run?); rerun the run with --force to rewrite both")


def recomputed(run_dir: Path, info: dict[str, Any], scores, protocol) -> dict[str, Any]:
    """``metrics.json`` as this code computes it from ``scores`` (JSON-encoded and decoded)."""
    from benchmark.controls import protocol_scores, real_floor_metrics

    try:
        options = protocol.parse_options(info.get("options") or {})
    except VBenchError as exc:
        raise DataError(f"{run_dir / 'run.json'}: key options: {exc}") from None
    try:
        results = protocol.metrics(protocol_scores(scores), options)
        controls = {"real_vs_real": real_floor_metrics(scores)}
    except (VBenchError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise DataError(f"{run_dir / 'scores.parquet'}: {protocol.name}'s metrics cannot be "
                        f"recomputed from it ({type(exc).__name__}: {exc}); every number of a "
                        f"report must come from the stored scores") from None
    results["protocol"] = {"name": protocol.name, "version": protocol.version}
    results["controls"] = controls
    if info.get("cost") is not None:
        results["cost"] = info["cost"]
    # the encoding finish used (benchmark.io.atomic_write_json): numpy integers become text there
    return json.loads(json.dumps(results, sort_keys=True, default=str))


def first_difference(stored: Any, fresh: Any, where: str = "") -> tuple[str, str, str] | None:
    """The first place where ``stored`` and ``fresh`` differ: (key path, what ``stored`` holds
    there, what ``fresh`` holds), each said in words; None when they agree."""
    here = where or "(top level)"
    if isinstance(stored, dict) and isinstance(fresh, dict):
        for key in list(stored) + [k for k in fresh if k not in stored]:
            path = f"{where}.{key}" if where else str(key)
            if key not in fresh:
                return path, "is present", "no such key"
            if key not in stored:
                return path, "is missing", f"{_show(fresh[key])}"
            found = first_difference(stored[key], fresh[key], path)
            if found is not None:
                return found
        return None
    if isinstance(stored, list) and isinstance(fresh, list):
        for i, (a, b) in enumerate(zip(stored, fresh)):
            found = first_difference(a, b, f"{where}[{i}]")
            if found is not None:
                return found
        if len(stored) != len(fresh):
            return here, f"holds {len(stored)} items", f"{len(fresh)} items"
        return None
    if _same_value(stored, fresh):
        return None
    return here, f"holds {_show(stored)}", _show(fresh)


def _same_value(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool) or not (isinstance(a, numbers)
                                                           and isinstance(b, numbers)):
        return type(a) is type(b) and a == b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
