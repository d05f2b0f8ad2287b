"""Leaderboard reports (HTML, Markdown, CSV) from stored run directories.

A run directory holds ``run.json``, ``scores.parquet`` and ``metrics.json`` (docs/ARCHITECTURE.md);
`benchmark.stored_run` reads and checks them, and every number shown comes from those files. Runs
are grouped by protocol and data (runs over different data or protocols are never ranked in one
table); each group's leaderboard sorts by its protocol's primary metric, and each run's section
shows its
protocol's own views (a template partial beside the protocol module). The HTML page is
self-contained (inline CSS, JS and SVG), so it opens offline and can be mailed as one file.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from benchmark.cost_meter import cost_columns, cost_summary, cost_text
from benchmark.errors import DataError
from benchmark.io import atomic_write_text, make_dir, remove_debris
from benchmark.metric_catalog import CATALOG, COST_COLUMNS
from benchmark.report_views import SVG, fmt, number
from benchmark.seed_group import board_entry, group_results, group_view
from benchmark.stored_run import INFO_KEYS, RUN_FILES, RunData, SeedGroupData, load_run  # noqa: F401 (re-exported)

# The page, Markdown report and macros; each protocol's partial lives beside its module (a
# plugin's protocol brings its own), so the loader also searches the runs' protocol folders.
TEMPLATES = Path(__file__).resolve().parent / "templates"
BASE_COLUMNS = ("protocol", "data", "rank", "tie", "run_id", "method", "config", "weights", "seed",
                "overrides", "n_videos", "n_failed", "wall_time_s", *COST_COLUMNS)


# ----------------------------------------------------------------------------- leaderboards
def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _listed(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _weights(info: dict[str, Any]) -> str:
    weights = info.get("weights")
    if not weights:
        return "trained here"
    if isinstance(weights, dict):
        if weights.get("kind") == "stored":
            return f"stored run {weights.get('trained_by')} unit {weights.get('unit')}"
        return f"{weights.get('spec')} (sha256 {str(weights.get('sha256'))[:12]})"
    return str(weights)


def _overrides(info: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in (info.get("cfg_overrides") or {}).items())


def _leaderboard_row(run: RunData, index: int) -> dict[str, Any]:
    first = run.scores.drop_duplicates("video_id")
    timings = run.info.get("timings")
    row = {"protocol": run.info["protocol"], "data": _data_label(run.info),
           "run_id": run.info["run_id"], "method": run.info["method"],
           "config": run.info["config"], "weights": _weights(run.info),
           "seed": _text(run.info.get("seed")), "overrides": _overrides(run.info),
           "n_videos": int(first["status"].eq("ok").sum()),
           "n_failed": int(first["status"].ne("ok").sum()),
           "wall_time_s": number(timings.get("total")) if isinstance(timings, dict) else None,
           "anchor": f"run-{index}", **cost_columns(run_cost_block(run))}
    intervals = run.results.get("summary_ci") or {}
    group = run.results.get("seed_group")
    for metric in run.protocol.leaderboard:
        row[metric.key] = number(run.summary.get(metric.key))
        row[f"{metric.key}_ci"] = (intervals.get(metric.key) or {}).get("interval")
        if group is not None:  # the across-seed spread beside the seed mean
            row[f"{metric.key}_spread"] = {k: group["summary"][metric.key][k]
                                           for k in ("sd", "min", "max")}
    if group is not None:
        row.update(n_videos=group["n_videos"], n_failed=group["n_failed"], seed_group=True)
    return row


def run_cost_block(run: RunData) -> dict[str, Any] | None:
    """The run's ``cost`` block (metrics.json's, checked against run.json's), or None."""
    return run.results.get("cost") or run.info.get("cost")


def _data_label(info: dict[str, Any]) -> str:
    return f"{info.get('dataset')} ({str(info.get('manifest_hash') or '?')[:12]})"


def leaderboards(runs: list[RunData]) -> list[dict[str, Any]]:
    """One leaderboard per (protocol, data): its columns and rows, best primary metric first."""
    groups: dict[tuple[str, str, str], list[tuple[int, RunData]]] = {}
    for index, run in enumerate(runs):
        # a protocol may split its boards further (protection_efficacy: by the method's task)
        sub = getattr(run.protocol.module, "board_group", lambda info: "")(run.info)
        key = (run.info["protocol"], str(run.info.get("manifest_hash")), sub)
        groups.setdefault(key, []).append((index, run))
    boards = []
    for (name, data_hash, sub), members in groups.items():
        protocol = members[0][1].protocol
        rows = [_leaderboard_row(run, i) for i, run in members]
        primary = protocol.primary

        def key(row, metric=primary, higher=_higher(primary.key)):
            value = row.get(metric.key)
            return (value is None, -(value or 0.0) if higher else (value or 0.0))

        overrides = {row["overrides"] for row in rows}
        _rank([run for _, run in members], rows, primary)
        board_views = getattr(protocol.module, "board_views", None)
        extra = board_views([run for _, run in members]) if board_views else None
        boards.append({"protocol": name + (f" ({sub})" if sub else ""), "data": rows[0]["data"],
                       "metrics": list(protocol.leaderboard), "cost": COST_COLUMNS,
                       "rows": sorted(rows, key=key), "primary": primary,
                       "views": extra, "partial": f"{name}_board.html.j2" if extra else None,
                       "seed_groups": any(row.get("seed_group") for row in rows),
                       "note": "runs differ in config overrides: compare with care"
                       if len(overrides) > 1 else ""})
    return boards


def _higher(key: str) -> bool:
    """Whether higher is better for leaderboard column ``key`` (the catalog's direction)."""
    return CATALOG.direction(key) != "low"


def _rank(runs: list[RunData], rows: list[dict[str, Any]], primary) -> None:
    """``rank`` = 1 + the number of runs significantly better on the primary metric.

    Runs over the same videos are compared paired, from the replicates each run stored for its
    summary (same resamples), with Holm's correction over all pairs of the board; runs whose
    replicates do not pair (e.g. other videos failed) count as better only when their intervals do
    not overlap. ``tie`` marks a rank that other runs share.
    """
    from benchmark.intervals import SETTINGS, paired_difference
    from benchmark.stats import holm

    key, n, higher = primary.key, len(runs), _higher(primary.key)
    stored = [(r.results.get("summary_ci") or {}).get(key) or {} for r in runs]
    better = np.zeros((n, n), dtype=bool)  # better[i, j]: run i significantly better than run j
    tests, pairs = {}, []
    for i in range(n):
        for j in range(i + 1, n):
            same = runs[i].results.get("resample_key") == runs[j].results.get("resample_key")
            diff = (paired_difference(stored[i].get("replicates") or [], stored[j].get("replicates") or [])
                    if same else None)
            if diff is not None:
                tests[f"{i}-{j}"] = diff["p_value"]
                pairs.append((i, j, diff))
            else:
                better[i, j], better[j, i] = _apart(rows[i], rows[j], key, higher)
    adjusted = holm(tests) if tests else {}
    alpha = 1 - SETTINGS["level"]
    for i, j, diff in pairs:
        if adjusted[f"{i}-{j}"] < alpha:
            i_higher = diff["low"] > 0
            i_better = i_higher if higher else not i_higher
            better[i, j], better[j, i] = i_better, not i_better
    ranks = 1 + better.sum(axis=0)
    for j, row in enumerate(rows):
        row["rank"] = int(ranks[j])
        row["tie"] = bool((ranks == ranks[j]).sum() > 1)


def _apart(a: dict[str, Any], b: dict[str, Any], key: str, higher: bool) -> tuple[bool, bool]:
    """(a better, b better) when the two intervals do not overlap."""
    ia, ib = a.get(f"{key}_ci"), b.get(f"{key}_ci")
    if not ia or not ib:
        return False, False
    a_above, b_above = ia["low"] > ib["high"], ib["low"] > ia["high"]
    return (a_above, b_above) if higher else (b_above, a_above)


def _csv(boards: list[dict[str, Any]]) -> str:
    records = []
    for board in boards:
        for row in board["rows"]:
            record = {k: row.get(k) for k in BASE_COLUMNS}
            for m in board["metrics"]:
                band = row.get(f"{m.key}_ci") or {}
                record.update({m.key: row.get(m.key), f"{m.key}_low": band.get("low"),
                               f"{m.key}_high": band.get("high")})
                if board.get("seed_groups"):  # seed groups: the spread over seeds too
                    spread = row.get(f"{m.key}_spread") or {}
                    record.update({f"{m.key}_{k}": spread.get(k) for k in ("sd", "min", "max")})
            records.append(record)
    from benchmark.safe_text import csv_frame

    return csv_frame(pd.DataFrame(records)).to_csv(index=False, lineterminator="\n")


# ----------------------------------------------------------------------------- run sections
def _info_view(info: dict[str, Any]) -> list[tuple[str, str]]:
    code = info.get("code") or {}
    pairs = [("run_id", info.get("run_id")),
             ("protocol", f"{info.get('protocol')} (version {info.get('protocol_version', '?')})"),
             ("options", " ".join(f"{k}={_listed(v)}" for k, v in (info.get("options") or {}).items())),
             ("method / config", f"{info.get('method')} / {info.get('config')}"),
             ("config overrides", _overrides(info) or "none"),
             ("data", f"{info.get('dataset')} from {info.get('data_source')}"),
             ("manifest sha256", info.get("manifest_hash")),
             ("dataset card sha256", info.get("card_sha256") or "n/a (recorded since dataset cards)"),
             ("data splits", info.get("data_splitting")), ("seed", info.get("seed")),
             ("weights", _weights(info)), ("weights sha256", info.get("weights_sha256") or "n/a"),
             ("clip reader", " ".join(f"{k}={v}" for k, v in (info.get("reader") or {}).items())
              or "plain decoding"),
             ("code", f"{code.get('code_version', '?')} (git {info.get('git_commit', '?')})"),
             ("plugins", "; ".join(f"{k}: {v}" for k, v in (info.get("sources") or {}).items())
              or "n/a (recorded since the plugin loader)"),
             ("device", info.get("device")), ("created", info.get("created")),
             ("finished", info.get("finished"))]
    if info.get("reused_from"):
        reused = info["reused_from"]
        pairs.append(("scores reused from", f"{reused.get('run_id')} (code "
                      f"{(reused.get('code') or {}).get('code_version')}; --reuse-across-versions)"))
    if isinstance(info.get("cost"), dict):
        pairs.append(("cost", cost_summary(info["cost"])))
    for key in ("timings", "versions"):
        value = info.get(key)
        if isinstance(value, dict) and value:
            show = _fmt_seconds if key == "timings" else _text
            pairs.append((key, ", ".join(f"{k} {show(v)}" for k, v in value.items())))
    return [(k, _text(v)) for k, v in pairs if v is not None]


def _shortcut_view(run: RunData) -> dict[str, Any]:
    """The shortcut check, canonicalisation and real-vs-real floor of a run, for the page."""
    from benchmark.report_views import metric_table

    data = run.shortcuts or {"available": False, "reason": "this run predates the shortcut check"}
    view: dict[str, Any] = {"available": bool(data.get("available")), "reason": data.get("reason"),
                            "warnings": data.get("warnings", []),
                            "canonical": run.info.get("canonicalize"),
                            "floor": (run.results.get("controls") or {}).get("real_vs_real")}
    if view["available"]:
        trivial = [{"group": r["group"], "logistic": r.get("logistic"), "tree": r.get("tree")}
                   for r in data.get("trivial_auc", [])]
        fields = [{"group": r["group"], "field": r["field"], "median": r.get("median"),
                   "min": r.get("min"), "max": r.get("max")} for r in data.get("numeric", [])]
        codecs = [{"group": r["group"], "codec": r["value"], "share": r["share"]}
                  for r in data.get("codecs", [])]
        view.update(trivial=metric_table(trivial, ["group", "logistic", "tree"]),
                    fields=metric_table(fields, ["group", "field", "median", "min", "max"]),
                    codecs=metric_table(codecs, ["group", "codec", "share"]))
    return view


def _failed_view(run: RunData) -> list[dict[str, str]]:
    failed = run.scores[run.scores["status"] != "ok"]
    cols = [c for c in ("video_id", "unit", "error") if c in failed.columns]
    return [{c: _text(r[c]) for c in cols} for r in failed[cols].drop_duplicates().to_dict("records")]


def _left_out_view(run: RunData) -> list[dict[str, str]]:
    """The training and validation videos each unit's model was trained without (undecodable)."""
    from benchmark.stored_run import left_out

    return [{"unit": _text(unit), "split": split, "video_id": _text(item["video_id"]),
             "error": _text(item["error"])}
            for unit, split, _, failed in left_out(run.info) for item in failed]


def _run_view(run: RunData, index: int) -> dict[str, Any]:
    first = run.scores.drop_duplicates("video_id")
    protocol = run.protocol
    return {**{key: _text(run.info[key]) for key in INFO_KEYS}, "anchor": f"run-{index}",
            "info": _info_view(run.info), "views": protocol.views(run),
            "partial_html": protocol.partial("html"),
            "failed": _failed_view(run), "n_failed": int(first["status"].ne("ok").sum()),
            "left_out": _left_out_view(run),
            "shortcuts": _shortcut_view(run),
            "n_videos": int(first["status"].eq("ok").sum()),
            "terminal": protocol.tables(run.results)}


# ----------------------------------------------------------------------------- rendering
def _fmt_seconds(value: Any) -> str:
    s = number(value)
    if s is None:
        return "n/a"
    if s < 60:
        return f"{s:.1f} s"
    minutes, sec = divmod(int(round(s)), 60)
    return f"{minutes}m {sec:02d}s" if minutes < 60 else f"{minutes // 60}h {minutes % 60:02d}m"


def _md(value: Any) -> str:
    """One Markdown table cell: no links, images, HTML, pipes, newlines or hidden characters."""
    from benchmark.safe_text import markdown_cell

    return markdown_cell(_text(value)).replace("\r", " ").replace("\n", " ")


def _shown(value: Any) -> Any:
    """Every value a template prints: bidirectional and invisible characters made visible.

    Markup (a macro's rendered HTML, whose values were shown and escaped inside it) passes as it
    is: made plain text here, it would be escaped a second time and print as HTML source.
    """
    from benchmark.safe_text import show_controls

    if isinstance(value, str) and not hasattr(value, "__html__"):  # not markup a macro rendered
        return show_controls(value)
    return value


def _environment(autoescape: bool, folders: Sequence[Path] = ()) -> Any:
    import jinja2  # only report rendering needs it

    search = [str(TEMPLATES)] + sorted({str(f) for f in folders})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(search),
                             autoescape=autoescape, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             finalize=_shown)
    env.filters.update(fmt=fmt, seconds=_fmt_seconds, md=_md, cost=cost_text)
    # column labels and sort directions come from the metric catalog, never from a template
    env.globals.update(better=CATALOG.direction, label=CATALOG.label)
    return env


def render_report(runs: list[RunData], out_dir: str | os.PathLike,
                  title: str = "vbench leaderboard") -> dict[str, Path]:
    """Writes ``report.html``, ``report.md`` and ``leaderboard.csv`` into ``out_dir``.

    ``runs`` may hold seed groups (`SeedGroupData`): each is one leaderboard row (seed means with
    the combined interval and the spread) and one section (per test set over seeds).

    Raises:
        DataError: no runs were given.
    """
    if not runs:
        raise DataError("render_report: no runs given; pass at least one run directory")
    out_dir = make_dir(out_dir, "report folder")
    remove_debris(out_dir, recursive=False)
    groups = [(item, group_results(item)) for item in runs if isinstance(item, SeedGroupData)]
    runs = [item for item in runs if not isinstance(item, SeedGroupData)]
    entries = runs + [board_entry(group, results) for group, results in groups]
    boards = leaderboards(entries)
    context = {"title": title, "boards": boards, "svg": SVG,
               "runs": [_run_view(run, i) for i, run in enumerate(runs)],
               "groups": [group_view(group, results, len(runs) + i, out_dir)
                          for i, (group, results) in enumerate(groups)],
               "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    folders = [entry.protocol.folder for entry in entries]
    texts = {"html": _environment(True, folders).get_template("report.html.j2").render(**context),
             "md": _environment(False, folders).get_template("report.md.j2").render(**context),
             "csv": _csv(boards)}
    names = {"html": "report.html", "md": "report.md", "csv": "leaderboard.csv"}
    paths = {key: out_dir / names[key] for key in texts}
    for key, text in texts.items():
        atomic_write_text(paths[key], text)
    return paths
