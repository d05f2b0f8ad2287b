"""The one reader of a stored run directory (docs/ARCHITECTURE.md, "Run directory").

``vbench report``, ``compare``, ``regress`` and ``--weights RUN_DIR`` read runs through here, and
nothing they show or decide is read before it was checked against the run's own declaration:

- ``run.json`` is a JSON object with `INFO_KEYS`, its status is ``complete`` and its protocol is
  known here (`read_info`, all that ``--weights`` needs);
- ``scores.parquet`` has the standard columns, each holding its kind: text, 0/1 integer labels,
  scores finite and inside the protocol's score range (a failed video may lack one), class
  probabilities in [0, 1] (`benchmark.score_table`);
- ``metrics.json`` is what the protocol's ``metrics(scores, options)`` gives from those scores
  (`benchmark.recompute`).

A failed check is a `DataError` naming the run directory, the file, the column or key, what was
expected and what arrived; the commands raise it before they write anything.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.errors import DataError, VBenchError

RUN_FILES = ("run.json", "scores.parquet", "metrics.json")
INFO_KEYS = ("run_id", "method", "config", "protocol", "dataset")


@dataclass
class RunData:
    """One run directory, loaded.

    Attributes:
        path: the run directory.
        info: run.json as stored.
        scores: the per-video score table (scores.parquet).
        results: metrics.json: ``rows``, ``summary`` and the protocol's own entries.
    """

    path: Path
    info: dict[str, Any]
    scores: pd.DataFrame
    results: dict[str, Any]
    shortcuts: dict[str, Any] | None = None

    @classmethod
    def from_memory(cls, path: Path, info: dict[str, Any], scores: pd.DataFrame,
                    results: dict[str, Any], shortcuts: dict[str, Any] | None = None) -> "RunData":
        return cls(Path(path), info, scores, results, shortcuts)

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.results.get("summary") or {})

    @property
    def protocol(self):
        from benchmark.protocol import get_protocol

        return get_protocol(self.info["protocol"])

    @property
    def label(self) -> str:
        i = self.info
        return f"{i['method']}/{i['config']}/{i['protocol']} ({i['run_id']})"


def load_run(run_dir: str | os.PathLike) -> RunData:
    """Reads a finished run directory and checks it (see the module docstring).

    Raises:
        DataError: a file is missing or unreadable, lacks a required key or column, holds values of
            another kind or range, disagrees with the scores (metrics.json), the run is not
            complete, or its protocol is unknown here.
    """
    from benchmark.recompute import check_metrics
    from benchmark.score_table import SCORE_RANGE, check_table

    run_dir = Path(run_dir)
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        raise DataError(f"run directory {run_dir} lacks {', '.join(missing)} "
                        f"(a finished run holds {', '.join(RUN_FILES)})")
    info = read_info(run_dir)
    protocol = _protocol(run_dir, info)
    results = read_json(run_dir / "metrics.json")
    if not isinstance(results.get("rows"), list):
        raise DataError(f"{run_dir / 'metrics.json'}: expected a list under 'rows', got "
                        f"{type(results.get('rows')).__name__}")
    scores = _read_scores(run_dir / "scores.parquet")
    check_table(scores, str(run_dir / "scores.parquet"),
                tuple(getattr(protocol.module, "SCORE_RANGE", SCORE_RANGE)))
    check_metrics(run_dir, info, scores, results, protocol)
    shortcuts = read_json(run_dir / "shortcuts.json") if (run_dir / "shortcuts.json").is_file() else None
    return RunData(run_dir, info, scores, results, shortcuts)


# the splits whose undecodable videos a unit's model card lists (``<split>_failed``, beside
# ``n_<split>``), and their names in messages
LEFT_OUT_SPLITS = {"train": "training", "val": "validation"}


def left_out(info: dict[str, Any]) -> list[tuple[str, str, int, list[dict[str, str]]]]:
    """``(unit, split, videos in the split, its undecodable videos)`` of each unit's training and
    validation splits, from run.json's ``models`` (`benchmark.run_context` writes them)."""
    return [(unit, split, card.get(f"n_{split}") or 0, card.get(f"{split}_failed") or [])
            for unit, card in sorted((info.get("models") or {}).items()) for split in LEFT_OUT_SPLITS]


def _read_record(path: Path, keys, missing: str) -> dict[str, Any]:
    """The JSON object at ``path`` holding every key of ``keys``; a `DataError` saying
    ``"<folder>: <missing> (no <file>)"`` when the file is absent, naming the file otherwise."""
    if not path.is_file():
        raise DataError(f"{path.parent}: {missing} (no {path.name})")
    record = read_json(path)
    lacking = [key for key in keys if key not in record]
    if lacking:
        raise DataError(f"{path}: missing key(s) {', '.join(lacking)}")
    return record


def read_info(run_dir: str | os.PathLike) -> dict[str, Any]:
    """``run.json`` of a complete run of a known protocol.

    Raises:
        DataError: the file is missing, unreadable or not an object, lacks a key of `INFO_KEYS`,
            says another status than ``complete``, or names a protocol unknown here.
    """
    run_dir = Path(run_dir)
    path = run_dir / "run.json"
    info = _read_record(path, INFO_KEYS, "not a run directory")
    if info.get("status") != "complete":
        stopped = f" ({info['error']})" if info.get("error") else ""
        raise DataError(f"{path}: the run is not complete (key status is {info.get('status')!r}"
                        f"{stopped}; expected 'complete'); finish it (run the same command again) "
                        f"before using it")
    _protocol(run_dir, info)
    return info


def _protocol(run_dir: Path, info: dict[str, Any]):
    from benchmark.protocol import get_protocol

    try:
        return get_protocol(str(info["protocol"]))
    except VBenchError as exc:
        raise DataError(f"{run_dir / 'run.json'}: key protocol: {exc}") from None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; anything else is a `DataError` naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _read_scores(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pandas/pyarrow raise many types for a damaged file
        raise DataError(f"{path}: cannot read table: {exc}") from exc


# ----------------------------------------------------------------------------- seed groups
GROUP_FILE = "group.json"
GROUP_FORMAT = 1
GROUP_KEYS = ("kind", "format", "group_id", "protocol", "method", "config", "options",
              "cfg_overrides", "data_source", "data_options", "code_version", "seeds", "members")
# what every member run must share with its group (run.json key → group.json key)
SHARED = {"protocol": "protocol", "method": "method", "config": "config", "options": "options",
          "cfg_overrides": "cfg_overrides", "data_source": "data_source",
          "data_options": "data_options"}


@dataclass
class SeedGroupData:
    """A seed group (``group.json``) and its member runs, one per training seed, all checked.

    Attributes:
        path: the group directory.
        record: group.json as stored.
        members: the member runs in the order of ``record["seeds"]``.
    """

    path: Path
    record: dict[str, Any]
    members: list[RunData]

    @property
    def seeds(self) -> list[int]:
        return list(self.record["seeds"])

    @property
    def protocol(self):
        return self.members[0].protocol

    @property
    def info(self) -> dict[str, Any]:
        return self.record

    @property
    def label(self) -> str:
        r = self.record
        return (f"seed group {r['method']}/{r['config']}/{r['protocol']} seeds "
                f"{','.join(map(str, r['seeds']))} ({r['group_id']})")


def is_group(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a seed-group directory (holds group.json, not run.json)."""
    return (Path(path) / GROUP_FILE).is_file() and not (Path(path) / "run.json").is_file()


def store_root(group_dir: Path) -> Path:
    """The run store a group belongs to: groups live in ``<store>/seed_groups/<protocol>/
    <method>-<config>/<group id>``, member runs in ``<store>/<protocol>/<method>-<config>/<key>``."""
    return Path(group_dir).resolve().parents[3]


def load_group(group_dir: str | os.PathLike) -> SeedGroupData:
    """Reads a seed group and every member run through `load_run`, and checks that each member is
    the run the group names: its key, its seed, the group's protocol, options, method, config,
    overrides, data and code, and the manifest the group recorded for that seed.

    Raises:
        DataError: group.json is missing, damaged or incomplete; a member run is missing,
            incomplete or damaged (`load_run`'s checks), or differs from the group (named).
    """
    group_dir = Path(group_dir)
    path = group_dir / GROUP_FILE
    record = _read_record(path, GROUP_KEYS, "not a seed group")
    if record["kind"] != "seed_group" or record["format"] != GROUP_FORMAT:
        raise DataError(f"{path}: expected kind 'seed_group' of format {GROUP_FORMAT}, got "
                        f"kind {record['kind']!r} format {record['format']!r}")
    members = record["members"]
    seeds = record["seeds"]
    if not isinstance(members, list) or [m.get("seed") if isinstance(m, dict) else None
                                         for m in members] != seeds or len(set(seeds)) != len(seeds):
        raise DataError(f"{path}: key members must list one run per seed of key seeds "
                        f"({seeds!r}), in that order")
    root = store_root(group_dir)
    runs = [_member(path, record, member, root) for member in members]
    return SeedGroupData(group_dir, record, runs)


def _member(path: Path, record: dict[str, Any], member: dict[str, Any], root: Path) -> RunData:
    where = f"{path}: member run of seed {member.get('seed')} (key {member.get('run_key')})"
    run_dir = root / str(member.get("run", ""))
    if not (run_dir / "run.json").is_file():
        raise DataError(f"{where} is missing: no run.json in {run_dir}")
    try:
        run = load_run(run_dir)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    info = run.info
    differ = [f"{key} {info.get(key)!r} (group: {record[mine]!r})" for key, mine in SHARED.items()
              if _plain(info.get(key)) != _plain(record[mine])]
    for key, got, want in (("run_key", info.get("run_key"), member.get("run_key")),
                           ("run_id", info.get("run_id"), member.get("run_id")),
                           ("seed", info.get("seed"), member.get("seed")),
                           ("manifest_hash", info.get("manifest_hash"), member.get("manifest_hash")),
                           ("code_version", (info.get("code") or {}).get("code_version"),
                            record["code_version"])):
        if got != want:
            differ.append(f"{key} {got!r} (group: {want!r})")
    if differ:
        raise DataError(f"{where} is not the group's run: it has {'; '.join(differ)}")
    return run


def _plain(value: Any) -> Any:
    """A value as JSON stores it (tuples and lists alike), for comparing records."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))
