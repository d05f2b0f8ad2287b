"""Split files of the field's layouts, read with the location of every entry, so a bad entry is
named by file and line (``path:line: ...``). Shared by the layout modules of this package (a
module whose name starts with ``_`` is not a layout: `layouts.register` skips it).

Only the standard library and `benchmark.api` (whose names load on first use) are imported, so
this module loads with the layouts at no cost.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from benchmark.api import DataError

SPLITS = ("train", "val", "test")
# Folder names that are class labels, not generators: a layout that names its generators by model
# (DecepTIV, AIGVDBench) refuses them rather than report a generator called "fake".
LABEL_WORDS = ("fake", "fakes", "generated", "synthetic", "aigc", "ai", "0", "1", "0_real", "1_fake",
               "label", "labels")


@dataclass(frozen=True)
class Entry:
    """One video named by a split file.

    Attributes:
        file: the split file.
        line: its 1-based line number.
        name: the video as the file names it (a relative path, a file name or an id).
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


def require(folder: str, names: tuple[str, ...], what: str) -> list[str]:
    """The paths of ``names`` in ``folder``; a missing one is a DataError naming it."""
    paths = [os.path.join(folder, name) for name in names]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        found = ", ".join(sorted(os.listdir(folder))) if os.path.isdir(folder) else "no such folder"
        raise DataError(f"{missing[0]}: split file not found ({what} needs {', '.join(names)} in "
                        f"{folder}; found {found or 'nothing'})")
    return paths


def split_files(folder: str, ext: str, what: str) -> dict[str, str] | None:
    """{split: file} of a ``splits/`` folder holding ``train``, ``val`` and ``test`` + ``ext``;
    None when the folder does not exist.

    Raises:
        DataError: the folder exists and one of the three files is missing.
    """
    if not os.path.isdir(folder):
        return None
    return dict(zip(SPLITS, require(folder, tuple(s + ext for s in SPLITS), what)))


def text_lines(path: str) -> list[tuple[int, str]]:
    """(line number, stripped text) of the non-blank lines of a UTF-8 text file."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the split file ({error})") from None
    return [(i, text.strip()) for i, text in enumerate(lines, 1) if text.strip()]


def name_entries(path: str, split: str) -> list[Entry]:
    """The entries of a text split file of one name per line: the first whitespace-separated
    word of it (``numpy.loadtxt(dtype=str)`` as DecepTIV reads them); ``#`` comments skipped."""
    entries = []
    for number, text in text_lines(path):
        words = text.split("#", 1)[0].split()
        if words:
            entries.append(Entry(path, number, words[0], split))
    return entries


def json_id_entries(path: str, split: str) -> list[Entry]:
    """The entries of a JSON split file: a list whose items are ids or lists of ids
    (FaceForensics++' ``splits/{train,val,test}.json``: ``[["953", "974"], ...]``)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        items = json.loads(text)
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the split file ({error})") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(items, list):
        raise DataError(f"{path}: a split file must hold a JSON list of ids or of id pairs, found "
                        f"a {type(items).__name__}")
    entries = []
    for item in items:
        for value in (item if isinstance(item, list) else [item]):
            line = _line_of(text, json.dumps(value))
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise DataError(f"{path}:{line}: expected an id (text), found {value!r}")
            entries.append(Entry(path, line, str(value), split))
    return entries


def _line_of(text: str, token: str) -> int:
    """The line of ``token``'s first occurrence in ``text`` (1 when it does not occur as written)."""
    at = text.find(token)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def parse_label(value: str, where: str, allowed: dict[str, int]) -> int:
    """A label value → 0 or 1, by ``allowed``; anything else is a DataError at ``where``."""
    key = str(value).strip()
    if key not in allowed:
        raise DataError(f"{where}: unknown label value {key!r} (expected one of "
                        f"{', '.join(sorted(allowed))})")
    return allowed[key]


def check_unique(entries: list[Entry], key=lambda e: e.name) -> None:
    """A video listed twice (in one split file or in two) is a DataError naming both lines."""
    first: dict[str, Entry] = {}
    for entry in entries:
        seen = first.setdefault(key(entry), entry)
        if seen is not entry:
            raise DataError(f"{entry.where}: duplicate video id {key(entry)!r} (already listed at "
                            f"{seen.where})")


def check_label_folder(path: str, known: str) -> None:
    """Refuses a folder named like a class label (``fake``, ``1_fake``, ...) where a layout
    expects a generator's name (``known``: what the folders of that place may be)."""
    name = os.path.basename(path.rstrip(os.sep))
    if name.lower() in LABEL_WORDS:
        raise DataError(f"{path}: unknown label folder {name!r} ({known})")


def missing_video(entry: Entry, looked: str) -> DataError:
    """The DataError for a split-file line whose video does not exist (``looked``: where)."""
    return DataError(f"{entry.where}: video {entry.name!r} does not exist ({looked})")


def assign(entries: list[Entry], known: set[str], root: str) -> dict[str, str]:
    """{name: split} of split-file entries that name videos by ``known`` names.

    Raises:
        DataError: a name listed twice, or one no video has (file and line).
    """
    check_unique(entries)
    for entry in entries:
        if entry.name not in known:
            raise missing_video(entry, f"none of the {len(known)} videos under {root} has that name")
    return {entry.name: entry.split for entry in entries}


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
