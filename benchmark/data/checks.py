"""Checks the runner makes before any work; each raises `DataError` naming data, split, class or generator.

They are separate functions so that each protocol's plan picks those that apply: an
evaluation-only run needs a test split but no training rows; a protocol that trains one model per
generator needs training videos of each generator it trains on. `CHECKS` names them for plans;
`run_checks` runs a list of names.
"""
from __future__ import annotations

from typing import Callable, Iterable

import pandas as pd

from benchmark.data.fingerprint import MISSING
from benchmark.data.manifest import REAL, SPLITS, check_no_leakage
from benchmark.errors import DataError, UnknownKeyError

_SHOWN = 5
_CLASS = {0: "real", 1: "generated/fake"}


def _ids(values: Iterable[str]) -> str:
    values = list(values)
    more = f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else ""
    return ", ".join(repr(v) for v in values[:_SHOWN]) + more


def _counts(manifest: pd.DataFrame) -> str:
    counts = manifest.groupby("split").size().to_dict()
    return ", ".join(f"{s} {counts.get(s, 0)}" for s in SPLITS)


def check_split_nonempty(manifest: pd.DataFrame, split: str, data: str) -> None:
    """Raises when ``split`` has no rows ("no training rows", "an empty test split")."""
    if not (manifest["split"] == split).any():
        hint = {"train": "; to evaluate given weights without training pass --weights",
                "test": "; --split all-test makes every video a test video"}.get(split, "")
        raise DataError(f"data {data!r}: the {split} split is empty (videos per split: "
                        f"{_counts(manifest)}){hint}")


def check_classes_present(manifest: pd.DataFrame, data: str, splits: Iterable[str] = SPLITS) -> None:
    """Raises when one of ``splits`` lacks real or generated videos (its metrics would be n/a)."""
    for split in splits:
        labels = set(manifest.loc[manifest["split"] == split, "label"])
        n = int((manifest["split"] == split).sum())
        hint = ("; for a layout that ships no val split (GenVidBench), --split given+val=20 makes "
                "20 % of its train sources val" if split == "val" and n == 0 else "")
        for label in (0, 1):
            if label not in labels:
                raise DataError(f"data {data!r}: the {split} split has no {_CLASS[label]} videos "
                                f"(it has {n} video(s) in all); a detector cannot be trained or "
                                f"scored on one class{hint}")


def check_generators_trainable(manifest: pd.DataFrame, generators: Iterable[str], data: str) -> None:
    """Raises when a generator a protocol trains on has no training videos."""
    train = set(manifest.loc[manifest["split"] == "train", "generator"])
    missing = [g for g in generators if g not in train]
    if missing:
        have = sorted(train - {REAL})
        raise DataError(f"data {data!r}: generator(s) {_ids(missing)} have no training videos, so a "
                        f"model trained on them would see real videos only (generators with training "
                        f"videos: {', '.join(have) or '(none)'})")


def check_has_real(manifest: pd.DataFrame, data: str) -> None:
    """Raises when there are no real videos at all, with a hint on real folder names."""
    if not (manifest["label"] == 0).any():
        from benchmark.data.scan import REAL_FOLDER_NAMES

        gens = sorted(set(manifest["generator"]))
        raise DataError(f"data {data!r}: no real videos among {len(manifest)} (generators found: "
                        f"{_ids(gens)}). Real videos are read from folders or labels named "
                        f"{', '.join(REAL_FOLDER_NAMES)} or with a separate 'real' part (0_real, "
                        f"FF-real); name yours with --real-dirs (e.g. --real-dirs {gens[0]})")


def _shared_across_splits(manifest: pd.DataFrame, column: str) -> list[str]:
    rows = manifest[manifest[column] != MISSING] if column == "fingerprint" else manifest
    spans = rows.groupby(column)["split"].nunique()
    shared = spans[spans > 1].index
    out = []
    for value in shared[:_SHOWN]:
        part = rows[rows[column] == value]
        out.append(", ".join(f"{v!r} ({s})" for v, s in zip(part["video_id"], part["split"])))
    return out + ([f"... {len(shared) - _SHOWN} more"] if len(shared) > _SHOWN else [])


def check_no_shared_files(manifest: pd.DataFrame, data: str) -> None:
    """Raises when one file (same path, or same content fingerprint) is in two splits.

    Also catches the same file listed under two video ids, which the source check cannot see.
    """
    for column, what in (("path", "path"), ("fingerprint", "content (fingerprint)")):
        if column in manifest.columns:
            shared = _shared_across_splits(manifest, column)
            if shared:
                raise DataError(f"data {data!r}: the same file ({what}) is in more than one split, "
                                f"so a model would be tested on what it trained on: "
                                + "; ".join(shared))


def check_leakage(manifest: pd.DataFrame, data: str) -> None:
    """`check_no_leakage` (sources) and `check_no_shared_files` (paths and contents)."""
    try:
        check_no_leakage(manifest)
    except DataError as error:
        raise type(error)(f"data {data!r}: {error}") from None
    check_no_shared_files(manifest, data)


def check_files_present(manifest: pd.DataFrame, data: str, splits: Iterable[str] = SPLITS) -> None:
    """Raises when files of ``splits`` do not exist (needs the ``fingerprint`` column)."""
    if "fingerprint" not in manifest.columns:
        return
    rows = manifest[manifest["split"].isin(list(splits)) & (manifest["fingerprint"] == MISSING)]
    if len(rows):
        raise DataError(f"data {data!r}: {len(rows)} of {len(manifest)} video file(s) or frame folders "
                        f"do not exist (or hold no images), e.g. {_ids(rows['path'])}")


CHECKS: dict[str, Callable[..., None]] = {
    "train_rows": lambda m, data, **_: check_split_nonempty(m, "train", data),
    "test_rows": lambda m, data, **_: check_split_nonempty(m, "test", data),
    "classes": lambda m, data, splits=SPLITS, **_: check_classes_present(m, data, splits),
    "generators": lambda m, data, generators=(), **_: check_generators_trainable(m, generators, data),
    "real": lambda m, data, **_: check_has_real(m, data),
    "leakage": lambda m, data, **_: check_leakage(m, data),
    "files": lambda m, data, splits=SPLITS, **_: check_files_present(m, data, splits),
}


def run_checks(manifest: pd.DataFrame, names: Iterable[str], data: str, **context) -> None:
    """Runs the checks ``names`` (keys of `CHECKS`) in order; the first failure raises.

    Args:
        manifest: the manifest the run will use.
        names: e.g. ``["test_rows", "real", "leakage", "files"]`` for an evaluation-only run.
        data: the data's name, quoted in messages.
        **context: ``splits`` (for ``classes`` and ``files``), ``generators`` (for ``generators``).
    """
    for name in names:
        if name not in CHECKS:
            raise UnknownKeyError("data check", name, CHECKS)
        CHECKS[name](manifest, data, **context)
