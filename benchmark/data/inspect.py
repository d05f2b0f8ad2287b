"""``vbench data inspect``: what the harness infers from ``--data``, before any work.

`inspect_data` returns a `DataInspection`: the manifest a run would use (also written as CSV)
and a JSON-able `DataInspection.summary` — layout, datasets, generators, class counts per split,
how sources were grouped, paired videos, duplicates, what was skipped and why, and which checks
a run would fail. `DataInspection.render` is the plain-text form; reports reuse the summary's
``sources`` text. `add_data_parser` and `run_data_command` hook it into the CLI.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmark.data.options import COMPRESSION_LEVELS, DATASET_LAYOUTS, SPLIT_RULES, DataOptions
from benchmark.safe_text import show_controls

if TYPE_CHECKING:  # the CLI builds its parser from this module: pandas loads only when used
    import pandas as pd

    from benchmark.data.prepare import PreparedData

_EXAMPLES = 3
_GENERAL_CHECKS = ("test_rows", "real", "leakage", "files")


def _groups_of(manifest: pd.DataFrame, column: str) -> list[list[str]]:
    """Video ids of rows sharing a ``column`` value, for values held by more than one row."""
    counts = manifest[column].value_counts()
    repeated = counts[counts > 1].index
    rows = manifest[manifest[column].isin(repeated)]
    return [sorted(part["video_id"]) for _, part in rows.groupby(column, sort=True)]


def _sources(manifest: pd.DataFrame, rule: str) -> dict[str, Any]:
    groups = manifest.groupby("source_id")
    sizes = groups.size()
    mixed = groups["label"].nunique()
    multi = sizes[sizes > 1].index
    paired = mixed[mixed > 1].index
    examples = [sorted(manifest.loc[manifest["source_id"] == s, "video_id"])[:4] for s in paired[:_EXAMPLES]]
    return {"rule": rule, "sources": int(len(sizes)), "multi_video": int(len(multi)),
            "real_fake_pairs": int(len(paired)),
            "paired_fakes": int(manifest[manifest["source_id"].isin(paired) & (manifest["label"] == 1)].shape[0]),
            "examples": examples}


def _counts(manifest: pd.DataFrame) -> dict[str, dict[str, int]]:
    from benchmark.data.manifest import SPLITS

    table = manifest.groupby(["generator", "split"]).size().unstack(fill_value=0)
    return {str(g): {s: int(table.loc[g].get(s, 0)) for s in SPLITS} for g in table.index}


def _problems(prepared: PreparedData) -> list[str]:
    """Messages of the checks a run would fail: "any run" checks, then training-only ones."""
    from benchmark.data.checks import run_checks
    from benchmark.errors import DataError

    plan = [("any run", name, {}) for name in _GENERAL_CHECKS]
    plan.append(("any run", "classes", {"splits": ["test"]}))
    if prepared.options.split != "all-test":
        plan.append(("a training run", "train_rows", {}))
        plan.append(("a training run", "classes", {"splits": ["train", "val"]}))
    problems = []
    for scope, name, context in plan:
        try:
            run_checks(prepared.manifest, [name], prepared.name, **context)
        except DataError as error:
            problems.append(f"{scope}: {error}")
    return problems


def summarize(prepared: PreparedData) -> dict[str, Any]:
    """The JSON-able facts of `DataInspection` (see the module docstring)."""
    import pandas as pd

    from benchmark.data.sources import layout_account

    m, log = prepared.manifest, prepared.log
    dupes = {"same_path": _groups_of(m, "path")}
    if "fingerprint" in m.columns:
        dupes["same_content"] = _groups_of(m[m["fingerprint"] != "missing"], "fingerprint")
    dupes["merged"] = [{"kept": k, "dropped": d, "why": w} for k, d, w in log.merged]
    return {
        "data": prepared.spec, "name": prepared.name, "layout": prepared.layout,
        "readers": [layout_account(p.layout) for p in (prepared.parts or [prepared])],
        "options": prepared.options.to_dict(), "videos": int(len(m)),
        "real": int((m["label"] == 0).sum()), "fake": int((m["label"] == 1).sum()),
        "datasets": {str(k): int(v) for k, v in m["dataset"].value_counts().sort_index().items()},
        "counts": _counts(m), "splitting": log.splitting, "sources": _sources(m, log.grouping),
        "duplicates": dupes,
        "skipped": {reason: {"count": n, "examples": ex} for reason, (n, ex) in log.skipped.items()},
        "notes": list(log.notes), "fingerprints": prepared.fingerprints,
        "missing": int((m.get("fingerprint", pd.Series(dtype=str)) == "missing").sum()),
        "problems": _problems(prepared),
    }


def _count_table(counts: dict[str, dict[str, int]]) -> list[str]:
    from benchmark.data.manifest import REAL, SPLITS

    width = max([len(g) for g in counts] + [9])
    lines = [f"  {'generator':{width}s} " + " ".join(f"{s:>6s}" for s in SPLITS)]
    order = sorted(counts, key=lambda g: (g != REAL, g))
    for gen in order:
        lines.append(f"  {show_controls(gen):{width}s} " + " ".join(f"{counts[gen][s]:6d}" for s in SPLITS))
    return lines


def render(summary: dict[str, Any], manifest_path: str | None = None) -> str:
    """Plain text of a `summarize` result; names pass through `show_controls`."""
    s, src = summary, summary["sources"]
    lines = [f"data: {show_controls(s['data'])}  (layout: {s['layout']}, name: {show_controls(s['name'])})",
             f"videos: {s['videos']} ({s['real']} real, {s['fake']} generated/fake)",
             "datasets: " + ", ".join(f"{show_controls(k)} ({v})" for k, v in s["datasets"].items()),
             *[f"reader: {r['layout']} reads {show_controls(r['reads'])}" for r in s["readers"]
               if r["reads"]],
             f"splits: {s['splitting']}", "class counts per split:", *_count_table(s["counts"]),
             f"sources: {src['sources']} ({src['multi_video']} hold several videos; "
             f"{src['real_fake_pairs']} pair real and generated videos, {src['paired_fakes']} fakes "
             f"paired) — grouped by {src['rule']}"]
    lines += [f"  e.g. {' + '.join(show_controls(v) for v in ex)}" for ex in src["examples"]]
    dupes = s["duplicates"]
    for key, text in (("same_path", "same path under several ids"), ("same_content", "same content "
                      "(fingerprint) under several ids")):
        if dupes.get(key):
            lines.append(f"duplicates, {text}: {len(dupes[key])}, e.g. "
                         + " = ".join(show_controls(v) for v in dupes[key][0]))
    for item in dupes["merged"][:_EXAMPLES]:
        n = len(item["dropped"])
        lines.append(f"merged: {show_controls(item['kept'])} kept; {n} {'copy' if n == 1 else 'copies'} "
                     f"dropped ({item['why']})")
    if len(dupes["merged"]) > _EXAMPLES:
        lines.append(f"merged: ... {len(dupes['merged']) - _EXAMPLES} more")
    for reason, info in s["skipped"].items():
        lines.append(f"skipped {info['count']}: {reason}, e.g. "
                     + ", ".join(show_controls(e) for e in info["examples"]))
    lines += [f"note: {show_controls(n)}" for n in s["notes"]]
    fp = s["fingerprints"]
    if fp:
        lines.append(f"fingerprints: {fp['computed']} computed, {fp['cached']} from cache in "
                     f"{fp['seconds']:.2f} s; {s['missing']} file(s) missing")
    lines += [f"would stop {show_controls(p)}" for p in s["problems"]]
    if manifest_path:
        lines.append(f"manifest: {manifest_path}")
    return "\n".join(lines)


@dataclass
class DataInspection:
    """An inspected data spec: the prepared data, its summary, and where the manifest was written."""

    prepared: PreparedData
    summary: dict
    manifest_path: str | None = None

    def render(self) -> str:
        """Plain text for a terminal or a log."""
        return render(self.summary, self.manifest_path)


def inspect_data(spec: str, seed: int = 0, options: DataOptions | None = None,
                 out: str | None = None) -> DataInspection:
    """Prepares ``spec`` as a run would (`prepare_data`), summarises it, writes the manifest to ``out``."""
    from benchmark.data.manifest import save_manifest
    from benchmark.data.prepare import prepare_datasets

    prepared = prepare_datasets(spec, seed=seed, options=options)
    if out:
        save_manifest(prepared.manifest, out)
    return DataInspection(prepared, summarize(prepared), out)


def add_data_arguments(parser: argparse.ArgumentParser, option_flag: str = "--option") -> None:
    """The data flags shared by ``vbench run`` and ``vbench data inspect`` (not ``--data`` itself).

    Args:
        parser: the subcommand's parser.
        option_flag: the flag for ``NAME=VALUE`` data options (its values land in
            ``args.data_option``); a parser that already has ``--option`` for protocol options can
            use `split_option_pairs` on its values instead and pass ``option_flag=None``.
    """
    parser.add_argument("--layout", help=f"dataset layout: {', '.join(sorted(DATASET_LAYOUTS))} or a "
                                         f"plugin's (`vbench ls datasets`; default: detected)")
    parser.add_argument("--data-root", help="folder that relative paths in a DeepfakeBench JSON or "
                                            "manifest start from")
    parser.add_argument("--real-dirs", help="comma-separated folder/label names that hold real videos, "
                                            "besides real, real_videos, pristine, original, ...")
    parser.add_argument("--split", help="; ".join(f"{k}: {v}" for k, v in SPLIT_RULES.items()))
    if option_flag:
        parser.add_argument(option_flag, dest="data_option", action="append", default=[],
                            metavar="NAME=VALUE", help=f"data options: compression="
                            f"{'|'.join(COMPRESSION_LEVELS)}, pairing=FILE.csv, sources=auto|stem|video, "
                            f"images=auto|each, dataset=NAME, fingerprint=false")


def split_option_pairs(items: list[str]) -> tuple[dict[str, str], list[str]]:
    """``NAME=VALUE`` items → (data options by name, the other items), for a shared ``--option``."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(DataOptions)} - {"layout", "root", "real_dirs", "split"}
    data, rest = {}, []
    for item in items:
        key, sep, value = item.partition("=")
        if sep and key.strip() in names:
            data[key.strip()] = value.strip()
        else:
            rest.append(item)
    return data, rest


def options_from_args(args: argparse.Namespace, extra: dict | None = None) -> DataOptions:
    """`DataOptions` from the flags of `add_data_arguments` (plus ``extra`` name → value)."""
    from benchmark.errors import DataError

    values: dict[str, Any] = dict(extra or {})
    for item in getattr(args, "data_option", []) or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DataError(f"--option expects NAME=VALUE, got {item!r}")
        values[key.strip()] = value.strip()
    for flag, name in (("layout", "layout"), ("data_root", "root"), ("real_dirs", "real_dirs"),
                       ("split", "split")):
        if getattr(args, flag, None) is not None:
            values[name] = getattr(args, flag)
    return DataOptions.from_mapping(values, origin="--option")


def add_data_parser(subparsers, parents: list | None = None) -> None:
    """Adds ``vbench data inspect`` to the CLI's subparsers (``parents``: shared flags)."""
    data = subparsers.add_parser("data", help="inspect data as a run would read it")
    sub = data.add_subparsers(dest="data_command", required=True)
    inspect = sub.add_parser("inspect", parents=parents or [], help="print the layout, classes, splits, sources, duplicates and "
                                             "skipped files inferred from --data; write the manifest")
    inspect.add_argument("--data", required=True, help="a dataset name, manifest .csv, DeepfakeBench "
                                                       ".json or dataset folder")
    add_data_arguments(inspect)
    inspect.add_argument("--seed", type=int, default=0)
    inspect.add_argument("--out", help="where to write the manifest CSV (default: ./<name>.manifest.csv)")
    inspect.add_argument("--json", action="store_true", help="print the summary as JSON")
    inspect.add_argument("--card", metavar="PATH", help="also write the manifest's dataset card "
                         "(Croissant 1.0 JSON-LD, sha256 per video) to PATH")
    inspect.set_defaults(handler=run_data_command)


def run_data_command(args: argparse.Namespace) -> int:
    """Runs ``vbench data inspect``; errors are `VBenchError`s for the CLI to print."""
    import json

    from benchmark.data.prepare import data_name

    options = options_from_args(args)
    out = args.out or os.path.join(os.getcwd(), f"{data_name(args.data, options)}.manifest.csv")
    result = inspect_data(args.data, seed=args.seed, options=options, out=out)
    if args.card:
        from benchmark.data.card import card_bytes
        from benchmark.io import atomic_write_bytes

        atomic_write_bytes(args.card, card_bytes(result.prepared))
    print(json.dumps({**result.summary, "manifest": out}, indent=2) if args.json else result.render())
    return 0
