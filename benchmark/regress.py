"""``vbench regress``: the regression gate. Compares runs with stored baselines; exit 1 on a regression.

A baseline (``baselines/<device>/<protocol>/<method>-<config>.json``, small and versioned) records
what a run of the protocol gave with the code that made it: the protocol and its version,
options, method, config and overrides, seed, the data's manifest hash, the code version and
package versions, and for each checked metric its value and its 95 % interval. The direction
that is better comes from the metric catalog (`benchmark.metric_catalog`; ``auc[a → b]`` is
``auc``'s); a baseline's own ``higher_is_better`` (older files record one per metric) is read
only for a key the catalog does not declare. With reference weights (an evaluation run of a stored model) it also records
every test video's score.

The check is one-sided: a metric regresses when it falls below (above, for lower-is-better
metrics) its bound; improvements never fail. The bound comes from the baseline's own interval,
not a guess: ``value - z * se`` with ``se`` the interval's half-width / 1.96 (the larger of that
and the spread of repeated runs, when the baseline recorded several), and ``z`` the one-sided
normal quantile at ``0.05 / m`` for the ``m`` metrics of the baseline (Bonferroni), so that an
unchanged pipeline passes all of them together with 95 % probability even where numbers are
noisy. A metric's ``tolerance`` in the file overrides the bound (``value - tolerance``).
``score_drift`` (the mean absolute change of the per-video scores of fixed weights) has
tolerance `DRIFT_TOLERANCE`: with the same weights, a changed score means the path from the video
file to the score changed.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import DataError
from benchmark.io import atomic_write_json, atomic_write_text, make_dir
from benchmark.metric_catalog import CATALOG
from benchmark.report import RunData

FORMAT = 1
DRIFT_TOLERANCE = 1e-3
ALPHA = 0.05


def baseline_path(root: Path, run: RunData) -> Path:
    """``<root>/<protocol>/<method>-<config>.json`` for a run that trained its models, and
    ``...-<config>.reference.json`` for an evaluation of fixed weights: the two check different
    things (does training still learn; does the same model still give the same scores) and never
    share a file."""
    i = run.info
    kind = ".reference" if _evaluates_fixed_weights(run) else ""
    if i.get("seed_group"):  # seed means: never checked against one seed's baseline
        kind += ".seeds"
    return Path(root) / i["protocol"] / f"{i['method']}-{i['config']}{kind}.json"


def _evaluates_fixed_weights(run: RunData) -> bool:
    return bool(run.info.get("weights"))


def _checked_metrics(run: RunData) -> dict[str, dict[str, Any]]:
    """The summary metrics and every table row's AUC, with their intervals (a seed group's entry,
    `benchmark.seed_group.board_entry`: the seed means with their combined intervals, per test
    set too)."""
    out = {}
    protocol = run.protocol
    summary_ci = run.results.get("summary_ci") or {}
    for metric in protocol.leaderboard:
        value = run.summary.get(metric.key)
        if value is not None:
            band = (summary_ci.get(metric.key) or {}).get("interval") or {}
            out[metric.key] = {"value": value, "low": band.get("low"), "high": band.get("high")}
    for cell in (run.results.get("seed_group") or {}).get("cells", []):
        auc = cell["metrics"].get("auc") or {}
        if auc.get("mean") is not None:
            band = auc.get("interval") or {}
            out[f"auc[{cell['cell']}]"] = {"value": auc["mean"], "low": band.get("low"),
                                          "high": band.get("high"), "per_seed": auc["values"]}
    for row in run.results.get("rows", []):
        if row.get("auc") is None:
            continue
        name = f"auc[{' → '.join(str(row[k]) for k in ('train_set', 'test_set') if k in row)}]"
        band = (row.get("ci") or {}).get("auc") or {}
        out[name] = {"value": row["auc"], "low": band.get("low"), "high": band.get("high")}
    return out


def _video_scores(run: RunData) -> dict[str, float] | None:
    """Per-video test scores of an evaluation-only run (fixed weights); None for trained runs."""
    if not _evaluates_fixed_weights(run):
        return None
    test = run.scores[(run.scores["split"] == "test") & (run.scores["status"] == "ok")]
    return {f"{u}::{v}": round(float(s), 7) for u, v, s in zip(test["unit"], test["video_id"],
                                                               test["score"])}


def make_baseline(runs: list[RunData]) -> dict[str, Any]:
    """A baseline from one run, or from repeated runs of the same configuration (other seeds)."""
    first = runs[0]
    keys = ("protocol", "method", "config", "manifest_hash")
    for run in runs[1:]:
        differ = [k for k in keys if run.info.get(k) != first.info.get(k)]
        if _evaluates_fixed_weights(run) != _evaluates_fixed_weights(first):
            differ.append("weights (one trained its models, the other evaluated fixed weights)")
        if differ:
            raise DataError(f"--write-baseline: {run.label} differs from {first.label} in "
                            f"{', '.join(differ)}; a baseline holds repeated runs of one setting")
    metrics = _checked_metrics(first)
    if len(runs) > 1:
        for name, entry in metrics.items():
            values = [(_checked_metrics(r).get(name) or {}).get("value") for r in runs]
            entry["repeats"] = [v for v in values if v is not None]
    i = first.info
    return {"format": FORMAT, "protocol": i["protocol"], "protocol_version": i.get("protocol_version"),
            "method": i["method"], "config": i["config"], "options": i.get("options"),
            "cfg_overrides": i.get("cfg_overrides") or {}, "seed": i.get("seed"),
            "data": {"name": i.get("dataset"), "manifest_hash": i.get("manifest_hash")},
            "weights": (i.get("weights") or {}).get("sha256") if isinstance(i.get("weights"), dict) else None,
            "device": i.get("device"), "made_by": {"run_ids": [r.info["run_id"] for r in runs],
                                                   "code": i.get("code"), "versions": i.get("versions"),
                                                   "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
            "metrics": metrics, "video_scores": _video_scores(first)}


def load_baseline(path: Path) -> dict[str, Any]:
    """Reads and checks a baseline file; a damaged one is a `DataError` naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"baseline not found: {path} (write one with vbench regress "
                        f"--write-baseline)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable baseline (JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("metrics"), dict):
        raise DataError(f"{path}: not a vbench baseline of format {FORMAT} (expected keys format, "
                        f"protocol, method, config, data, metrics)")
    for name, entry in data["metrics"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), (int, float)):
            raise DataError(f"{path}: metric {name!r} has no numeric 'value'")
    return data


def _z(m: int) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - ALPHA / max(m, 1)))


def higher_is_better(name: str, entry: dict[str, Any]) -> bool:
    """Whether higher is better for checked metric ``name`` (``auc[a → b]``: ``auc``): the
    catalog's direction, else the baseline's stored flag (default True)."""
    key = name.split("[", 1)[0]
    if key in CATALOG and CATALOG.direction(key) != "text":
        return CATALOG.direction(key) == "high"
    return bool(entry.get("higher_is_better", True))


def bound(entry: dict[str, Any], m: int, higher: bool | None = None) -> tuple[float | None, str]:
    """The value a metric must not fall below (rise above) and where that bound comes from.

    Args:
        entry: the baseline's record of the metric.
        m: the number of checks (Bonferroni).
        higher: whether higher is better; None: the entry's ``higher_is_better`` (default True).
    """
    if higher is None:
        higher = bool(entry.get("higher_is_better", True))
    value = float(entry["value"])
    sign = -1.0 if higher else 1.0
    if entry.get("tolerance") is not None:
        return value + sign * float(entry["tolerance"]), "tolerance set in the baseline file"
    se = None
    if entry.get("low") is not None and entry.get("high") is not None:
        se = (float(entry["high"]) - float(entry["low"])) / (2 * 1.959964)
    repeats = entry.get("repeats") or []
    if len(repeats) > 1:
        se = max(se or 0.0, float(np.std(repeats, ddof=1)))
    if se is None:
        return None, "no interval recorded: not checked"
    return value + sign * _z(m) * se, f"{_z(m):.2f} standard errors of its interval (Bonferroni over {m})"


def check(run: RunData, baseline: dict[str, Any], origin: str) -> dict[str, Any]:
    """The verdict of one run against its baseline (refusing a baseline of other data)."""
    for key, mine in (("protocol", run.info["protocol"]), ("method", run.info["method"]),
                      ("config", run.info["config"])):
        if baseline.get(key) != mine:
            raise DataError(f"{origin}: a baseline for {key} {baseline.get(key)!r}, but {run.label} "
                            f"has {key} {mine!r}")
    if (baseline.get("data") or {}).get("manifest_hash") != run.info.get("manifest_hash"):
        raise DataError(f"{origin}: the baseline's data (manifest {baseline['data'].get('manifest_hash')}) "
                        f"is not the run's (manifest {run.info.get('manifest_hash')}); "
                        f"regenerate the baseline or run on the baseline's data")
    now = _checked_metrics(run)
    m = len(baseline["metrics"]) + (1 if baseline.get("video_scores") else 0)
    results = []
    for name, entry in baseline["metrics"].items():
        higher = higher_is_better(name, entry)
        limit, why = bound(entry, m, higher)
        value = (now.get(name) or {}).get("value")
        failed = value is None or (limit is not None and (value < limit if higher else value > limit))
        results.append({"metric": name, "baseline": entry["value"], "value": value, "bound": limit,
                        "bound_from": why, "regressed": bool(failed),
                        "note": "missing in the run" if value is None else ""})
    drift = _drift(run, baseline)
    if drift is not None:
        results.append(drift)
    return {"run_id": run.info["run_id"], "method": run.info["method"], "config": run.info["config"],
            "protocol": run.info["protocol"], "baseline": origin,
            "regressions": [r["metric"] for r in results if r["regressed"]], "checks": results}


def _drift(run: RunData, baseline: dict[str, Any]) -> dict[str, Any] | None:
    expected = baseline.get("video_scores")
    if not expected:
        return None
    now = _video_scores(run) or {}
    shared = [k for k in expected if k in now]
    missing = len(expected) - len(shared)
    drift = float(np.mean([abs(now[k] - expected[k]) for k in shared])) if shared else math.inf
    tolerance = float(baseline.get("drift_tolerance", DRIFT_TOLERANCE))
    return {"metric": "score_drift", "baseline": 0.0, "value": drift, "bound": tolerance,
            "bound_from": "mean |score change| of the same weights on the same videos",
            "regressed": bool(drift > tolerance or missing > 0),
            "note": f"{missing} baseline videos not scored" if missing else ""}


def verdict_markdown(verdicts: list[dict[str, Any]]) -> str:
    """A summary fit for a pull-request comment."""
    failed = [v for v in verdicts if v["regressions"]]
    lines = [f"## vbench regression gate: {'FAILED' if failed else 'passed'}", ""]
    for v in verdicts:
        mark = "❌" if v["regressions"] else "✅"
        lines.append(f"- {mark} **{v['method']}/{v['config']}** ({v['protocol']}): "
                     + (f"regressed: {', '.join(v['regressions'])}" if v["regressions"]
                        else f"{len(v['checks'])} checks passed"))
    for v in failed:
        lines += ["", f"### {v['method']}/{v['config']}", "", "| metric | baseline | now | bound |",
                  "|---|---:|---:|---:|"]
        for r in v["checks"]:
            if r["regressed"]:
                lines.append(f"| {r['metric']} | {_f(r['baseline'])} | {_f(r['value'])} | {_f(r['bound'])} |")
    return "\n".join(lines) + "\n"


def _f(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def write_outputs(verdicts: list[dict[str, Any]], out: Path) -> tuple[Path, Path]:
    out = make_dir(out, "verdict folder")
    json_path, md_path = out / "verdict.json", out / "verdict.md"
    atomic_write_json(json_path, {"passed": not any(v["regressions"] for v in verdicts),
                                  "verdicts": verdicts})
    atomic_write_text(md_path, verdict_markdown(verdicts))
    return json_path, md_path
