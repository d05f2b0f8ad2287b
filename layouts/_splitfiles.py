"""Shared parts of the field-dataset readers: split files read line by line, each entry remembered
with its file and line, so that every error names where it came from.

Only the standard library and `benchmark.api` are imported: this module loads with the layouts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One video named by a split file.

    Attributes:
        file: the split file.
        line: its 1-based line number.
        name: the video as the file names it (a relative path or a file name).
        split: train, val or test.
        label: 0 real, 1 generated; None where the file gives no label.
    """

    file: str
    line: int
    name: str
    split: str
    label: int | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def data_error(text: str):
    """A `benchmark.api.DataError` (imported on use, so this module stays cheap)."""
    from benchmark.api import DataError

    return DataError(text)


def require(folder: str, names: tuple[str, ...], what: str) -> list[str]:
    """The paths of ``names`` in ``folder``; a missing one is a DataError naming it."""
    paths = [os.path.join(folder, name) for name in names]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise data_error(f"{missing[0]}: split file not found ({what} needs "
                         f"{', '.join(names)} in {folder})")
    return paths


def text_lines(path: str):
    """(line number, stripped text) of the non-blank lines of a UTF-8 text file."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise data_error(f"{path}: cannot read the split file ({error})") from None
    return [(i, text.strip()) for i, text in enumerate(lines, 1) if text.strip()]


def parse_label(value: str, where: str, allowed: dict[str, int]) -> int:
    """A label value → 0 or 1, by ``allowed``; anything else is a DataError at ``where``."""
    key = str(value).strip()
    if key not in allowed:
        raise data_error(f"{where}: unknown label value {key!r} (expected one of "
                         f"{', '.join(sorted(allowed))})")
    return allowed[key]


def check_unique(entries: list[Entry], key=lambda e: e.name) -> None:
    """A video listed twice (in one split file or in two) is a DataError naming both lines."""
    first: dict[str, Entry] = {}
    for entry in entries:
        seen = first.setdefault(key(entry), entry)
        if seen is not entry:
            raise data_error(f"{entry.where}: duplicate video id {key(entry)!r} (already listed at "
                             f"{seen.where})")


def missing_video(entry: Entry, path: str):
    """The DataError for a split-file line whose video does not exist."""
    return data_error(f"{entry.where}: video {entry.name!r} does not exist (looked for {path})")


def stem(name: str) -> str:
    """A file name without folders and extension."""
    return os.path.splitext(os.path.basename(name.rstrip("/")))[0]


def rel_id(root: str, path: str) -> str:
    """The video id: ``path`` relative to ``root``, ``/``-separated, without a file's extension."""
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    return rel if os.path.isdir(path) else os.path.splitext(rel)[0]


def row(root: str, path: str, label: int, generator: str, split: str, source: str,
        dataset: str) -> dict:
    """A raw reader row (see `benchmark.data.readers`)."""
    return dict(video_id=rel_id(root, path), path=os.path.abspath(path), label=label,
                generator=generator, split=split, source_id=source, dataset=dataset)


def dataset_name(root: str, options, default: str) -> str:
    return getattr(options, "dataset", None) or default
