"""Manifests: one row per video (see docs/ARCHITECTURE.md), validated, hashed, split, saved."""
from __future__ import annotations

import hashlib
import os
import zlib
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from benchmark.data.scan import REAL  # noqa: F401  (re-exported: the manifests' real generator)

from benchmark.errors import DataError, LeakageError, UnknownKeyError

REQUIRED_COLUMNS = ("video_id", "path", "label", "generator", "split", "source_id", "dataset")
STRING_COLUMNS = ("video_id", "path", "generator", "split", "source_id", "dataset")
HASH_COLUMNS = ("video_id", "label", "generator", "split", "source_id", "dataset", "fingerprint",
                "perturbed_path_fingerprint")  # a layout's companion file (data.fingerprint)
SPLITS = ("train", "val", "test")
_SHOW = 5  # offending rows named in an error


def _rows(df: pd.DataFrame, mask: Iterable[bool], column: str | None = None) -> str:
    """"line 3 (video_id 'a/b'): 'x', line 7 ... and 4 more" for the rows where mask is true.

    Rows are named by their CSV line (header = line 1) when ``df.attrs['csv']`` is set, else by
    their 0-based position.
    """
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))
    word, offset = ("line", 2) if df.attrs.get("csv") else ("row", 0)
    parts = []
    for i in positions[:_SHOW]:
        row = df.iloc[i]
        value = f": {row[column]!r}" if column else ""
        parts.append(f"{word} {i + offset} (video_id {row.get('video_id')!r}){value}")
    more = f" and {len(positions) - _SHOW} more" if len(positions) > _SHOW else ""
    return ", ".join(parts) + more


def _check_columns(df: pd.DataFrame, origin: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{origin}: manifest is missing column(s) {', '.join(missing)} "
                        f"(expected {', '.join(REQUIRED_COLUMNS)}; found {', '.join(map(str, df.columns))})")
    if len(df) == 0:
        raise DataError(f"{origin}: manifest has no rows")
    for column in REQUIRED_COLUMNS:
        empty = df[column].isna() | (df[column].astype(str).str.strip() == "")
        if empty.any():
            raise DataError(f"{origin}: column '{column}' is empty in {_rows(df, empty)}")


def _check_values(df: pd.DataFrame, labels: pd.Series, origin: str) -> None:
    bad = ~labels.isin([0, 1])
    if bad.any():
        raise DataError(f"{origin}: label must be 0 (real) or 1 (generated/fake); "
                        f"bad in {_rows(df, bad, 'label')}")
    bad = ~df["split"].isin(SPLITS)
    if bad.any():
        raise DataError(f"{origin}: split must be one of {', '.join(SPLITS)}; "
                        f"bad in {_rows(df, bad, 'split')}")
    bad = (labels == 0) != (df["generator"] == REAL)
    if bad.any():
        raise DataError(f"{origin}: label 0 goes with generator '{REAL}' and label 1 with a generator "
                        f"name; mismatched in {_rows(df, bad, 'generator')}")
    dup = df["video_id"].duplicated(keep=False)
    if dup.any():
        ids = sorted(df.loc[dup, "video_id"].unique())
        raise DataError(f"{origin}: video_id must be unique; {len(ids)} repeated: "
                        f"{', '.join(map(repr, ids[:_SHOW]))}{' ...' if len(ids) > _SHOW else ''}")


def validate_manifest(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Checks a manifest and returns a normalised copy.

    Args:
        df: the manifest.
        origin: where it came from (a file path or a reader name), named in errors.

    Returns:
        A copy with string columns as ``str``, ``label`` as int64, a fresh index, required columns
        first (extra columns are kept after them).

    Raises:
        DataError: missing columns or values, bad labels or split names, a label that disagrees with
            its generator, repeated video ids.
    """
    _check_columns(df, origin)
    out = df.reset_index(drop=True)
    for column in STRING_COLUMNS:
        out[column] = out[column].astype(str)
    labels = pd.to_numeric(out["label"], errors="coerce")
    _check_values(out, labels, origin)
    out["label"] = labels.astype(np.int64)
    extra = [c for c in out.columns if c not in REQUIRED_COLUMNS]
    return out[list(REQUIRED_COLUMNS) + extra]


def load_manifest(path: str, root: str | None = None) -> pd.DataFrame:
    """Reads and validates a CSV manifest.

    Names such as ``NA`` or ``null`` stay text (only an empty cell is missing), and cells that
    `save_manifest` neutralised for spreadsheets are restored.

    Args:
        path: the CSV file.
        root: folder that relative ``path`` values start from; default the manifest's folder.
    """
    from benchmark.safe_text import read_csv_text

    path = os.fspath(path)
    try:
        df = read_csv_text(path, dtype=str)
    except FileNotFoundError:
        raise DataError(f"{path}: manifest file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable CSV manifest ({error})") from None
    df.attrs["csv"] = True  # errors name CSV lines
    df = validate_manifest(df, origin=path)
    df.attrs.pop("csv", None)
    folder = root or os.path.dirname(os.path.abspath(path))
    df["path"] = [p if os.path.isabs(p) else os.path.normpath(os.path.join(folder, p)) for p in df["path"]]
    return df


def save_manifest(df: pd.DataFrame, path: str) -> None:
    """Validates and writes a manifest as CSV, atomically (a reader never sees half a file).

    Paths inside the manifest's folder are stored relative to it, so the folder can move. Text
    cells a spreadsheet would run as formulas are neutralised (`benchmark.safe_text.csv_cell`);
    `load_manifest` restores them.
    """
    from benchmark.io import atomic_write_frame

    path = os.fspath(path)
    df = validate_manifest(df, origin=path)
    folder = os.path.dirname(os.path.abspath(path))
    df["path"] = [_relative_if_inside(p, folder) for p in df["path"]]
    atomic_write_frame(path, df)  # CSV cells neutralised there (benchmark.safe_text.csv_cell)


def _relative_if_inside(p: str, folder: str) -> str:
    if not os.path.isabs(p):
        return p
    return os.path.relpath(p, folder) if os.path.commonpath([p, folder]) == folder else p


def manifest_hash(df: pd.DataFrame) -> str:
    """sha256 of the identifying columns, independent of row order and of where the files live.

    With a ``fingerprint`` column (`benchmark.data.fingerprint`) a file changed in place changes
    the hash, so stored scores of the old file are never reused.
    """
    columns = [c for c in HASH_COLUMNS if c in df.columns]
    table = df[columns].astype(str).sort_values(columns).reset_index(drop=True)
    text = table.to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _split_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """Largest-remainder counts; every split with a fraction > 0 gets one when n >= 3."""
    exact = [n * f for f in fractions]
    counts = [int(np.floor(x)) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    if n >= 3:
        for i, f in enumerate(fractions):
            if f > 0 and counts[i] == 0:
                counts[int(np.argmax(counts))] -= 1
                counts[i] = 1
    return counts


def _check_fractions(fractions: Sequence[float]) -> None:
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise DataError(f"split fractions must be 3 numbers >= 0 for (train, val, test) that sum to 1, "
                        f"got {tuple(fractions)}")


def assign_splits(df: pd.DataFrame, fractions: Sequence[float] = (0.6, 0.2, 0.2),
                  seed: int = 0) -> pd.DataFrame:
    """Assigns train/val/test by source, stratified by generator: the one split assigner.

    All rows of a source land in one split. Sources are grouped into strata by the set of
    generators they hold (``real``, a generator name, or several joined by ``+``); each stratum
    is shuffled with its own generator, seeded by (``seed``, the stratum's name), and cut by
    `fractions` with largest-remainder counts, so every stratum of 3 or more sources has
    members in every split, and adding a generator never reshuffles the others.

    Args:
        df: rows with ``source_id`` and ``generator``.
        fractions: (train, val, test), summing to 1.
        seed: shuffling seed; the result depends on nothing else.

    Returns:
        A copy with the ``split`` column set.
    """
    _check_fractions(fractions)
    strata = df.groupby("source_id", sort=True)["generator"].agg(lambda g: "+".join(sorted(set(g))))
    split_of = {}
    for stratum, sources in strata.groupby(strata, sort=True):
        rng = np.random.default_rng([seed, zlib.crc32(b"splits"), zlib.crc32(str(stratum).encode())])
        ids = sorted(sources.index)
        ids = [ids[i] for i in rng.permutation(len(ids))]
        bounds = np.cumsum(_split_counts(len(ids), fractions))
        for i, source in enumerate(ids):
            split_of[source] = SPLITS[int(np.searchsorted(bounds, i, side="right"))]
    out = df.copy()
    out["split"] = out["source_id"].map(split_of)
    return out


def check_no_leakage(df: pd.DataFrame) -> None:
    """Raises `LeakageError` when a source appears in more than one split."""
    splits = df.groupby("source_id", sort=True)["split"].agg(lambda s: sorted(set(s)))
    leaked = splits[splits.map(len) > 1]
    if len(leaked):
        shown = ", ".join(f"{s!r} ({', '.join(sp)})" for s, sp in leaked.head(10).items())
        more = f" and {len(leaked) - 10} more" if len(leaked) > 10 else ""
        raise LeakageError(f"{len(leaked)} source(s) appear in more than one split: {shown}{more}")


def select(df: pd.DataFrame, split: str | Sequence[str] | None = None,
           generators: Iterable[str] | None = None) -> pd.DataFrame:
    """Rows of the given split(s) and generator(s) (include ``'real'`` to keep real videos).

    Raises:
        UnknownKeyError: a split name not in `SPLITS`, or a generator the manifest does not hold.
    """
    mask = np.ones(len(df), dtype=bool)
    if split is not None:
        wanted = [split] if isinstance(split, str) else list(split)
        for s in wanted:
            if s not in SPLITS:
                raise UnknownKeyError("split", s, SPLITS)
        mask &= df["split"].isin(wanted).to_numpy()
    if generators is not None:
        wanted, known = list(generators), set(df["generator"])
        for g in wanted:
            if g not in known:
                raise UnknownKeyError("generator", g, known)
        mask &= df["generator"].isin(wanted).to_numpy()
    return df[mask].reset_index(drop=True)
