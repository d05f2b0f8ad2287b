"""Split files of the field's layouts, read with the location of every entry, so a bad entry is
named by file and line. Shared by the layout modules of this package (a module whose name starts
with ``_`` is not a layout: `layouts.register` skips it). Standard library and `benchmark.api` only.
"""
from __future__ import annotations

import json
import os

from benchmark.api import DataError

SPLITS = ("train", "val", "test")


def read_lines(path: str) -> list[tuple[str, int]]:
    """(name, line) of every entry of a text split file: one name per line, the first
    whitespace-separated word of it (``numpy.loadtxt(dtype=str)`` as DecepTIV reads them); blank
    lines and ``#`` comments are skipped."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the split file ({error})") from None
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if words:
            entries.append((words[0], number))
    return entries


def read_json_ids(path: str) -> list[tuple[str, int]]:
    """(id, line) of every id in a JSON split file: a list whose items are ids or lists of ids
    (FaceForensics++' ``splits/{train,val,test}.json``: ``[["953", "974"], ...]``)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        items = json.loads(text)
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the split file ({error})") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: line {error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(items, list):
        raise DataError(f"{path}: a split file must hold a JSON list of ids or of id pairs, found "
                        f"a {type(items).__name__}")
    ids = []
    for item in items:
        for value in (item if isinstance(item, list) else [item]):
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise DataError(f"{path}: line {_line_of(text, json.dumps(value))}: expected an "
                                f"id (text), found {value!r}")
            ids.append(str(value))
    return [(value, _line_of(text, json.dumps(value))) for value in ids]


def _line_of(text: str, token: str) -> int:
    """The line of ``token``'s first occurrence in ``text`` (1 when it does not occur as written)."""
    at = text.find(token)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def split_files(folder: str, ext: str) -> dict[str, str] | None:
    """{split: file} of a ``splits/`` folder holding ``train``, ``val`` and ``test`` + ``ext``;
    None when the folder does not exist.

    Raises:
        DataError: the folder exists and one of the three files is missing.
    """
    if not os.path.isdir(folder):
        return None
    files = {split: os.path.join(folder, split + ext) for split in SPLITS}
    for split, path in files.items():
        if not os.path.isfile(path):
            found = ", ".join(sorted(os.listdir(folder))) or "nothing"
            raise DataError(f"{path}: split file not found (a splits/ folder holds train{ext}, "
                            f"val{ext} and test{ext}; found {found})")
    return files


def assign(entries: dict[str, list[tuple[str, int]]], known: set[str],
           files: dict[str, str]) -> dict[str, str]:
    """{name: split} from each split's (name, line) entries.

    Raises:
        DataError: a name no video has (file and line), or a name listed twice (both places).
    """
    split_of, where = {}, {}
    for split, listed in entries.items():
        for name, line in listed:
            place = f"{files[split]}: line {line}"
            if name not in known:
                raise DataError(f"{place}: names video {name!r}, which does not exist "
                                f"({len(known)} videos found)")
            if name in split_of:
                raise DataError(f"{place}: video {name!r} is listed twice (first at "
                                f"{where[name]}); duplicate video ids are not allowed")
            split_of[name], where[name] = split, place
    return split_of
