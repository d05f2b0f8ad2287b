"""The score table's standard columns and what each may hold (docs/ARCHITECTURE.md "Score table").

Declared once: the runner checks a unit's table against it before storing it, and the reader of a
stored run (`benchmark.stored_run`) checks ``scores.parquet`` against it before anything is shown.
``score`` is P(generated) for every task (`benchmark.detector.Detector.clip_scores`; a defence's
pipeline detector and LVDM's step detectors score the same way), so it lies in `SCORE_RANGE`; a
protocol whose scores mean something else declares its own ``SCORE_RANGE``. A failed video
(``status == 'failed'``) may carry a NaN score; a scored one never does. Class probabilities
(``prob_0`` .. ``prob_{K-1}``, source tracing) lie in [0, 1] too.
"""
from __future__ import annotations

import re

# column -> kind: "text" (str values), "label" (0/1 integers), "score" (floats in the score
# range), "probability" (floats in [0, 1]), "number" (int or float), "status" (one of STATUSES)
COLUMNS = {"video_id": "text", "dataset": "text", "generator": "text", "label": "label",
           "split": "text", "source_id": "text", "score": "score", "n_clips": "number",
           "status": "status", "error": "text", "method": "text", "config": "text",
           "protocol": "text", "seed": "number", "unit": "text", "perturbation": "text",
           "severity": "number"}
SCORE_COLUMNS = tuple(COLUMNS)
# text columns that name a row or a group: never empty
NAMING = ("video_id", "generator", "split", "unit", "status")
STATUSES = ("ok", "failed")
SCORE_RANGE = (0.0, 1.0)
PROB_COLUMN = re.compile(r"prob_\d+")


def kind_of(column: str) -> str | None:
    """What ``column`` holds (see `COLUMNS`), ``"probability"`` for class probabilities, or None
    for a protocol's own column, which the protocol's metrics check."""
    if column in COLUMNS:
        return COLUMNS[column]
    return "probability" if PROB_COLUMN.fullmatch(column) else None


def check_table(table, where: str, score_range: tuple[float, float] = SCORE_RANGE) -> None:
    """Checks a stored score table: the standard columns present, each holding its kind.

    Args:
        table: the score table (a DataFrame).
        where: the file it came from, for messages.
        score_range: the inclusive range of ``score`` (the protocol's ``SCORE_RANGE``).

    Raises:
        DataError: the first column that is missing or holds something else, naming the file,
            the column, what was expected, what arrived and for which video.
    """
    from benchmark.errors import DataError

    lacking = [c for c in SCORE_COLUMNS if c not in table.columns]
    if lacking:
        raise DataError(f"{where}: missing column(s) {', '.join(lacking)}; has "
                        f"{', '.join(map(str, table.columns))} (the standard columns are "
                        f"{', '.join(SCORE_COLUMNS)})")
    ok = (table["status"] == "ok").to_numpy()
    for column in table.columns:
        kind = kind_of(str(column))
        problem = _problem(table, str(column), kind, ok, score_range) if kind else None
        if problem is not None:
            raise DataError(f"{where}: column '{column}' {problem}")


def _problem(table, column: str, kind: str, ok, score_range) -> str | None:
    """What is wrong with one column, or None."""
    import pandas as pd

    values = table[column]
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("text", "status"):
        if inferred not in ("string", "empty"):
            return _wrong_type(table, values, "text", _is_text)
        if column in NAMING:
            empty = values.isna().to_numpy() | (values.astype(str).str.len() == 0).to_numpy()
            if empty.any():
                return f"is empty {_at(table, empty)}; expected a name in every row"
        if kind == "status":
            bad = ~values.isin(STATUSES).to_numpy()
            if bad.any():
                return (f"holds {_plain(values[bad].iloc[0])!r} {_at(table, bad)}; expected one of "
                        f"{', '.join(STATUSES)}")
        return None
    if inferred in ("boolean",) or not pd.api.types.is_numeric_dtype(values.dtype):
        expected = "the integers 0 and 1" if kind == "label" else "numbers"
        return _wrong_type(table, values, expected, _is_number)
    if kind == "label":
        if not pd.api.types.is_integer_dtype(values.dtype):
            return f"holds {values.dtype} values; expected the integers 0 and 1 (int64)"
        bad = ~values.isin((0, 1)).to_numpy()
        if bad.any():
            return (f"holds {_plain(values[bad].iloc[0])!r} {_at(table, bad)}; expected 0 (real) or "
                    f"1 (generated)")
        return None
    if kind in ("score", "probability"):
        low, high = score_range if kind == "score" else (0.0, 1.0)
        return _out_of_range(table, values.to_numpy(dtype=float), ok, kind, low, high)
    return None


def _out_of_range(table, numbers, ok, kind: str, low: float, high: float) -> str | None:
    import numpy as np

    what = "P(generated)" if kind == "score" else "a class probability"
    missing = np.isnan(numbers)
    if kind == "score" and (missing & ok).any():
        return (f"is NaN {_at(table, missing & ok)}, a video with status 'ok'; expected "
                f"{what} in [{low:g}, {high:g}] (only failed videos may lack a score)")
    with np.errstate(invalid="ignore"):
        bad = ~missing & ~((numbers >= low) & (numbers <= high))
    if bad.any():
        return (f"holds {_plain(numbers[bad][0])!r} {_at(table, bad)}, outside [{low:g}, {high:g}] "
                f"({int(bad.sum())} of {len(numbers)} rows are); expected {what}")
    return None


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _is_text(value) -> bool:
    return isinstance(value, str) or _missing(value)


def _is_number(value) -> bool:
    import numbers

    return (isinstance(value, numbers.Number) and not isinstance(value, bool)) or value is None


def _wrong_type(table, values, expected: str, fits) -> str:
    """"holds text ('0.4x' for video 'a', unit 'u'); expected numbers"."""
    mask = ~values.map(fits).to_numpy(dtype=bool)
    if not mask.any():  # every value fits, the column's storage type does not (e.g. bool)
        return f"is stored as {values.dtype}; expected {expected}"
    first = values[mask].iloc[0]
    return f"holds {_type_name(first)} ({_plain(first)!r} {_at(table, mask)}); expected {expected}"


def _plain(value):
    """A numpy scalar as the Python value it holds (so messages show ``2``, not ``np.int64(2)``)."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


def _type_name(value) -> str:
    return {str: "text", bool: "a boolean", bytes: "bytes"}.get(type(value), type(value).__name__)


def _at(table, mask) -> str:
    """Names the first row of ``mask``: 'for video 'a' (unit 'u')'."""
    import numpy as np

    i = int(np.flatnonzero(mask)[0])
    row = table.iloc[i]
    video = row["video_id"] if "video_id" in table.columns else f"row {i}"
    unit = f", unit {row['unit']!r}" if "unit" in table.columns else ""
    return f"for video {video!r} (row {i}{unit})"
