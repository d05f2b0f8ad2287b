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


def read_info(run_dir: str | os.PathLike) -> dict[str, Any]:
    """``run.json`` of a complete run of a known protocol.

    Raises:
        DataError: the file is missing, unreadable or not an object, lacks a key of `INFO_KEYS`,
            says another status than ``complete``, or names a protocol unknown here.
    """
    run_dir = Path(run_dir)
    path = run_dir / "run.json"
    if not path.is_file():
        raise DataError(f"{run_dir}: not a run directory (no run.json)")
    info = read_json(path)
    lacking = [key for key in INFO_KEYS if key not in info]
    if lacking:
        raise DataError(f"{path}: missing key(s) {', '.join(lacking)}")
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
