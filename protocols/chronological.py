"""Chronological generalisation: train on the generators released up to a date, test on later ones.

Every generated video's generator gets a release date from the table
``benchmark/data/release_dates.yaml`` (a source for every date), overridable per run with
``--option release_dates=FILE``. For each cut date one unit trains a detector on the real videos
and the fakes of the generators released up to (and including) the cut, train and validation
splits (checkpoint and threshold chosen on validation), and scores every test video: the fakes
of each later generator against the real test videos give one AUC per (cut, later generator),
with the interval of cross_generator (videos resampled whole, clustered by source), placed at
its months since the cut. Test videos of the generators up to the cut are scored too, as the
in-distribution reference. Training and scoring are cross_generator's (`cross_generator.score`
with the cut's generators as its train set), and so are the metric rows and joint-bootstrap
replicates; this module adds the dates, the cuts and their views.

Default cuts: every distinct release date of the data's generators that leaves at least one later
generator (each such date has a generator up to it: its own). Refused before training: a generator
with no release date, a cut that leaves no later generator, a cut that leaves no training fakes,
a malformed date in an override file (file:line) or in ``cuts``, and ``--weights``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.data.release_dates import (DATE_HELP, DateTable, Entry, ReleaseDate, file_digest,
                                          load_dates, read_table)
from benchmark.errors import DataError
from benchmark.metric_catalog import CATALOG
from benchmark.protocol import Metric, Option, Unit, parse_list
from benchmark.tables import Table, fmt
from protocols import cross_generator
from protocols.cross_generator import MEMBERS, REAL

NAME = "chronological"
VERSION = "1"
DESCRIPTION = ("train on the generators released up to each cut date, test on every later "
               "generator: AUC per (cut, later generator) against months since the cut")
DIGEST = "#sha256="


def dates_file(raw) -> str:
    """``--option release_dates=FILE``: every line checked now; the value keeps the file's
    content digest, so a run key changes when the file does."""
    text = str(raw).strip()
    if not text:
        return ""
    path = text.split(DIGEST)[0]
    read_table(path)
    return f"{path}{DIGEST}{file_digest(path)[:16]}"


def date_list(raw) -> tuple[str, ...]:
    """``--option cuts=2023-06,2024-01``: dates, each checked (``YYYY-MM`` or ``YYYY-MM-DD``)."""
    return tuple(str(ReleaseDate.parse(t)) for t in parse_list(raw))


OPTIONS = (Option("release_dates", "", "a YAML or CSV file of generator -> release date "
                  "(YYYY-MM or YYYY-MM-DD, optional source) over the built-in table "
                  "benchmark/data/release_dates.yaml", type=dates_file),
           Option("cuts", (), "comma-separated cut dates (default: every release date of the "
                  "data's generators that leaves a later generator)", type=date_list))
PRIMARY_METRIC = Metric("mean_auc_later", "mean AUC (later generators)", description="mean AUC "
                        "over the (cut, generator) cells whose generator was released after the cut")
LEADERBOARD = (Metric("mean_auc_up_to_cut", "mean AUC (up to the cut)", description="mean AUC "
                      "over the cells whose generator was released up to the cut (trained on)"),)
METRICS = (PRIMARY_METRIC, *LEADERBOARD,
           Metric("cut_date", "cut", None, tasks=(), format="text", description="the cut date"),
           Metric("release_date", "released", None, tasks=(), format="text"),
           Metric("date_precision", "precision", None, tasks=(), format="text",
                  description="month or day"),
           Metric("release_source", "date source", None, tasks=(), format="text"),
           Metric("date_origin", "date from", None, tasks=(), format="text",
                  description="the file and line the date was read from"),
           Metric("months_since_cut", "months since cut", None, tasks=(), format="count",
                  description="whole calendar months from the cut to the generator's release"),
           Metric("train_generators", "trained on", None, tasks=(), format="text"),
           Metric("n_train_generators", "generators trained on", None, tasks=(), format="count"),
           Metric("n_later_generators", "later generators", None, tasks=(), format="count"))
DATE_COLUMNS = ("release_date", "date_precision", "release_source", "date_origin")


# ----------------------------------------------------------------------------- plan
def plan(ctx) -> list[Unit]:
    """One unit per cut; every generator dated and every cut checked before any training."""
    from benchmark.data.checks import run_checks

    if ctx.weights is not None:
        raise DataError("protocol chronological trains one model per cut date; --weights is not "
                        "supported (evaluate given weights with cross_generator)")
    manifest = ctx.manifest
    generators = sorted(set(manifest.loc[manifest["label"] == 1, "generator"].astype(str)))
    if not generators:
        raise DataError(f"{ctx.request.data}: no generated videos (label 1): nothing to date")
    table = load_dates(ctx.options["release_dates"].split(DIGEST)[0] or None)
    entries = dated(generators, table, ctx.data_name)
    generators.sort(key=lambda g: (_sort_key(entries[g].date), g))  # release order
    cuts = choose_cuts(entries, ctx.options["cuts"], table, ctx.data_name)
    tested = set(manifest.loc[(manifest["split"] == "test") & (manifest["label"] == 1), "generator"])
    units, trained = [], set()
    for cut in cuts:
        up_to = [g for g in generators if entries[g].date.up_to(cut)]
        later = [g for g in generators if g not in up_to]
        if not tested & set(later):
            raise DataError(f"data {ctx.data_name!r}: cut {cut}: no generator released after it has "
                            f"test videos (later: {', '.join(later)})")
        trained.update(up_to)
        units.append(Unit(f"up to {cut}", members={
            MEMBERS: tuple(up_to), "cut": (str(cut),), "later_generators": tuple(later),
            "dated_generators": tuple(generators),
            **{column: tuple(_date_field(entries[g], column) for g in generators)
               for column in DATE_COLUMNS}}))
    run_checks(manifest, ["train_rows", "test_rows", "classes", "generators", "real", "leakage",
                          "files"], ctx.data_name, splits=["train", "val"], generators=sorted(trained))
    return units


def _date_field(entry: Entry, column: str) -> str:
    return {"release_date": str(entry.date), "date_precision": entry.date.precision,
            "release_source": entry.source, "date_origin": entry.origin}[column]


def dated(generators: list[str], table: DateTable, data: str) -> dict[str, Entry]:
    """Each generator's entry; a generator the table does not date is refused, naming it and
    the table files."""
    entries = {g: table.find(g) for g in generators}
    missing = [g for g, e in entries.items() if e is None]
    if missing:
        raise DataError(f"{table.describe()}: no release date for generator(s) "
                        f"{', '.join(repr(g) for g in missing)} of data {data!r}; give them in a "
                        f"file with --option release_dates=FILE (YAML 'name: YYYY-MM' or CSV "
                        f"generator,date,source)")
    return entries


def choose_cuts(entries: dict[str, Entry], given: tuple[str, ...], table: DateTable, data: str
                ) -> list[ReleaseDate]:
    """The given cuts, each checked, or every release date that leaves a later generator."""
    dates = [e.date for e in entries.values()]
    latest, earliest = max(dates, key=_sort_key), min(dates, key=_sort_key)
    if not given:
        cuts = sorted({d for d in dates if any(not o.up_to(d) for o in dates)},
                      key=_sort_key)
        if not cuts:
            raise DataError(f"{table.describe()}: every generator of data {data!r} is dated "
                            f"{latest} or in its month: no cut leaves a later generator")
        return cuts
    cuts = [ReleaseDate.parse(text) for text in given]
    for cut in cuts:
        if all(d.up_to(cut) for d in dates):
            raise DataError(f"cut {cut} leaves no later generator: the latest release date of data "
                            f"{data!r} is {latest} ({_named(entries, latest)}; dates from "
                            f"{table.describe()})")
        if not any(d.up_to(cut) for d in dates):
            raise DataError(f"cut {cut} leaves no training fakes: no generator of data {data!r} is "
                            f"released up to it; the earliest is {earliest} "
                            f"({_named(entries, earliest)}; dates from {table.describe()})")
    return cuts


def _sort_key(date: ReleaseDate) -> tuple[int, int]:
    return date.month_index, date.day or 0


def _named(entries: dict[str, Entry], date: ReleaseDate) -> str:
    return ", ".join(g for g, e in entries.items() if e.date == date)


# ----------------------------------------------------------------------------- score
def score(ctx, unit: Unit) -> pd.DataFrame:
    """cross_generator's unit (train on real + the cut's generators, score test and validation),
    plus the cut and each row's release date, so metrics need nothing but this table."""
    table = cross_generator.score(ctx, unit)
    table["cut"] = unit.members["cut"][0]
    for column in DATE_COLUMNS:
        values = dict(zip(unit.members["dated_generators"], unit.members[column]))
        table[column] = table["generator"].astype(str).map(values).fillna("")
    return table


# ----------------------------------------------------------------------------- metrics
def metrics(scores: pd.DataFrame, options: dict) -> dict:
    """Rows per (cut, later generator) with intervals and months since the cut; the seen cells
    apart; per cut the mean AUCs with joint-bootstrap intervals; the dates used."""
    from benchmark.intervals import SETTINGS

    cells = _dated_cells(scores)
    reps, kept, key = cross_generator.cell_replicates(scores, cells)  # [B, defined cells]
    per_cut = []
    for unit, info in scores.drop_duplicates("unit").set_index("unit").iterrows():
        means, ci = _means(cells, reps, kept, unit)
        seen = list(info[MEMBERS])
        per_cut.append({"cut_date": info["cut"], "train_set": unit, "train_generators": ", ".join(seen),
                        "n_train_generators": len(seen), "n_later_generators": sum(
                            not r["seen"] for r in cells if r["train_set"] == unit),
                        **means, "ci": {k: (v or {}).get("interval") for k, v in ci.items()}})
    summary, summary_ci = _means(cells, reps, kept)
    return {"rows": sorted((r for r in cells if not r["seen"]),
                           key=lambda r: (r["cut_date"], r["months_since_cut"], r["test_set"])),
            "seen_rows": [r for r in cells if r["seen"]], "cuts": per_cut,
            "auc_matrix": _matrix(cells, scores), "release_dates": _dates_used(scores),
            "summary": summary, "summary_ci": {k: v for k, v in summary_ci.items() if v},
            "resample_key": key, "intervals": SETTINGS}


def _dated_cells(scores: pd.DataFrame) -> list[dict]:
    """cross_generator's rows per (unit, generator), each with its cut, the generator's release
    date and the months between."""
    cells, _ = cross_generator.cell_rows(scores)
    cut_of = dict(zip(scores["unit"], scores["cut"]))
    released = dict(zip(scores["generator"], scores["release_date"]))
    for row in cells:
        cut, date = ReleaseDate.parse(cut_of[row["train_set"]]), released[row["test_set"]]
        row.update(cut_date=str(cut), release_date=date,
                   months_since_cut=ReleaseDate.parse(date).months_after(cut))
    return cells


def _means(cells: list[dict], reps: np.ndarray, kept: list[int], unit: str | None = None
           ) -> tuple[dict, dict]:
    """Mean AUC over the later cells and over the seen ones (of one unit, or all), and their
    joint-bootstrap intervals from the cells' shared replicates ``reps`` [B, len(kept)]."""
    from benchmark.intervals import summary_interval

    values, intervals = {}, {}
    for name, later in (("mean_auc_later", True), ("mean_auc_up_to_cut", False)):
        mask = np.array([cells[i]["seen"] != later and unit in (None, cells[i]["train_set"])
                         for i in kept], dtype=bool)
        values[name] = _mean(cells[i]["auc"] for i, m in zip(kept, mask) if m)
        intervals[name] = summary_interval(reps[:, mask].mean(axis=1)) if mask.any() else None
    return values, intervals


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _order(scores: pd.DataFrame) -> list[str]:
    """Generators by release date, then name."""
    fakes = scores[scores["label"] == 1].drop_duplicates("generator")
    key = {g: (*_sort_key(ReleaseDate.parse(d)), g)
           for g, d in zip(fakes["generator"], fakes["release_date"])}
    return sorted(key, key=key.get)


def _matrix(cells: list[dict], scores: pd.DataFrame) -> dict:
    """AUC per cut (rows, in time order) and generator (columns, by release date)."""
    rows = list(dict.fromkeys(r["train_set"] for r in sorted(cells, key=lambda r: r["cut_date"])))
    cols = [g for g in _order(scores) if any(r["test_set"] == g for r in cells)]
    auc = {(r["train_set"], r["test_set"]): r["auc"] for r in cells}
    return {"rows": rows, "cols": cols, "values": [[auc.get((r, c)) for c in cols] for r in rows]}


def _dates_used(scores: pd.DataFrame) -> list[dict]:
    fakes = scores[scores["label"] == 1].drop_duplicates("generator").set_index("generator")
    return [{"test_set": g, **{c: fakes.at[g, c] for c in DATE_COLUMNS}} for g in _order(scores)]


def cells(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The test sets `vbench compare` pairs: each (cut, later generator) cell."""
    later = {(u, g) for u, part in scores.groupby("unit") for g in part["generator"].unique()
             if g != REAL and g not in set(part[MEMBERS].iloc[0])}
    return {name: frame for name, frame in cross_generator.cells(scores).items()
            if tuple(name.split(" → ", 1)) in later}


# ----------------------------------------------------------------------------- presentation
ROW_COLUMNS = ("cut_date", "test_set", "release_date", "months_since_cut", "n_videos", "auc", "ap",
               "eer", "acc_at_val", "tpr_at_fpr5", "n_failed", "note")
CUT_COLUMNS = ("cut_date", "n_train_generators", "train_generators", "n_later_generators",
               "mean_auc_later", "mean_auc_up_to_cut")
DATE_TABLE = ("test_set", *DATE_COLUMNS)


def _text(row: dict, key: str) -> str:
    from benchmark.intervals import with_interval

    if key in (row.get("ci") or {}):
        return with_interval(row.get(key), row["ci"][key])
    value = row.get(key)
    return value if isinstance(value, str) else fmt(value, 0 if key.startswith(("n_", "months")) else 3)


def tables(results: dict) -> list[Table]:
    """Per (cut, later generator), per cut, the summary and the dates, for terminal and Markdown."""
    from benchmark.intervals import with_interval

    def table(title, rows, keys):
        return Table(title, [CATALOG.label(k) for k in keys], [[_text(r, k) for k in keys] for r in rows])

    ci = results.get("summary_ci") or {}
    return [table("AUC per (cut, later generator), 95% intervals", results["rows"], ROW_COLUMNS),
            table("Per cut: mean AUC on the later generators and on those up to the cut "
                  "(joint bootstrap)", results["cuts"], CUT_COLUMNS),
            Table("Summary (joint bootstrap over the test videos)", ["metric", "value [95% interval]"],
                  [[CATALOG.label(k), with_interval(v, (ci.get(k) or {}).get("interval"))]
                   for k, v in results["summary"].items()]),
            table("Release dates used", results["release_dates"], DATE_TABLE)]


def views(run) -> dict:
    """Context of ``chronological.html.j2``: heat map, AUC-vs-months curve and tables."""
    from benchmark.report_views import heatmap, metric_table

    results = run.results
    every = results["rows"] + results.get("seen_rows", [])
    seen = {(r["train_set"], r["test_set"]): r["seen"] for r in every}
    notes = {(r["train_set"], r["test_set"]): r.get("note") or "" for r in every}
    bands = {(r["train_set"], r["test_set"]): (r.get("ci") or {}).get("auc") for r in every}
    return {"heatmap": heatmap(results["auc_matrix"], seen, notes, "cut", "test", intervals=bands),
            "curve": months_curve(results["rows"]),
            "metrics": metric_table(results["rows"], ROW_COLUMNS),
            "cuts": metric_table(results["cuts"], CUT_COLUMNS),
            "dates": metric_table(results["release_dates"], DATE_TABLE)}


CURVE = {"left": 48, "top": 14, "width": 560, "height": 260, "plot_w": 490, "plot_h": 210}


def months_curve(rows: list[dict]) -> dict:
    """AUC (0-1) against months since the cut: one dot with its interval per (cut, later
    generator), one line per cut through the mean AUC at each month."""
    from benchmark.report_views import PALETTE

    c = CURVE
    top = max([r["months_since_cut"] for r in rows] + [1])

    def x(months: float) -> float:
        return c["left"] + months / top * c["plot_w"]

    def y(auc: float) -> float:
        return c["top"] + (1 - auc) * c["plot_h"]

    series = []
    for i, cut in enumerate(dict.fromkeys(r["cut_date"] for r in rows)):
        mine = [r for r in rows if r["cut_date"] == cut and r["auc"] is not None]
        months = sorted({r["months_since_cut"] for r in mine})
        means = [np.mean([r["auc"] for r in mine if r["months_since_cut"] == m]) for m in months]
        dots = [{"x": f"{x(r['months_since_cut']):.1f}", "y": f"{y(r['auc']):.1f}",
                 "low": f"{y((r['ci'].get('auc') or {'low': r['auc']})['low']):.1f}",
                 "high": f"{y((r['ci'].get('auc') or {'high': r['auc']})['high']):.1f}",
                 "title": f"cut {cut} → {r['test_set']} (released {r['release_date']}, "
                          f"{r['months_since_cut']} months later): AUC {_text(r, 'auc')}"}
                for r in mine]
        series.append({"cut": cut, "color": PALETTE[i % len(PALETTE)], "dots": dots,
                       "points": " ".join(f"{x(m):.1f},{y(a):.1f}" for m, a in zip(months, means))})
    ticks = sorted({0, top, *(r["months_since_cut"] for r in rows)})
    return {**c, "series": series, "chance_y": f"{y(0.5):.1f}", "bottom": c["top"] + c["plot_h"],
            "right": c["left"] + c["plot_w"],
            "xticks": [{"x": f"{x(m):.1f}", "text": str(m)} for m in ticks],
            "yticks": [{"y": f"{y(a):.1f}", "text": f"{a:.2g}"} for a in (0, 0.25, 0.5, 0.75, 1)]}
