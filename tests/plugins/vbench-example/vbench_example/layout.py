"""The ``example_tsv`` data layout: a folder holding ``labels.tsv`` next to its videos.

``labels.tsv`` is tab-separated with a header naming at least ``path``, ``label``, ``generator``
and ``split`` (any order; blank lines and lines starting with ``#`` are skipped). ``path`` is
relative to the folder (or absolute), ``label`` is ``real`` or ``fake``, ``generator`` is empty or
``real`` for a real video and names the generator of a fake one, ``split`` is ``train``, ``val``
or ``test`` on every row or empty on every row (then ``--split`` decides).

The reader returns raw rows (`read_example_tsv`); vbench then groups sources by file name and
applies the split rule, as for its own layouts.
"""
from __future__ import annotations

import csv
import os

from benchmark.api import REAL, DataError, DataOptions, ReadLog, video_id

FILE = "labels.tsv"
COLUMNS = ("path", "label", "generator", "split")
LABELS = {"real": 0, "fake": 1}
SPLITS = ("train", "val", "test")


def detects_example_tsv(path: str) -> bool:
    """A folder holding ``labels.tsv``."""
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, FILE))


def read_example_tsv(root: str, options: DataOptions, log: ReadLog) -> list[dict]:
    """The rows of ``{root}/labels.tsv``: one per video, ``split`` None when the file gives none.

    Raises:
        DataError: a missing column, or a row with a missing file, an unknown label or split, a
            fake without a generator, a path listed twice, or splits given on some rows only;
            the message names the file and the line.
    """
    file = os.path.join(root, FILE)
    dataset = options.dataset or os.path.basename(os.path.abspath(root)) or "data"
    rows, seen = [], {}
    for line, record in _records(file):
        where = f"{file}, line {line}"
        row = _row(root, record, where, dataset)
        if row["path"] in seen:
            raise DataError(f"{where}: {record['path']!r} is listed again (first at line "
                            f"{seen[row['path']]})")
        seen[row["path"]] = line
        rows.append(row)
    given = [r["split"] is not None for r in rows]
    if any(given) and not all(given):
        line = list(seen.values())[given.index(False)]
        raise DataError(f"{file}, line {line}: no split, but other rows give one; give a split on "
                        f"every row or on none (then --split decides)")
    if not rows:
        log.skip("labels.tsv lists no videos", file)
    return rows


def _records(file: str):
    """(line number, {column: value}) of every data line of a labels file."""
    try:
        with open(file, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except UnicodeDecodeError as err:
        raise DataError(f"{file}: not UTF-8 text ({err})") from err
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise DataError(f"{file}: empty; expected a header line with the columns "
                        f"{', '.join(COLUMNS)}")
    (header_line, header), body = lines[0], lines[1:]
    names = [name.strip() for name in header.split("\t")]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise DataError(f"{file}, line {header_line}: the header lacks column(s) "
                        f"{', '.join(missing)} (expected tab-separated {', '.join(COLUMNS)}; "
                        f"found {', '.join(names)})")
    for number, text in body:
        (values,) = csv.reader([text], delimiter="\t")
        if len(values) > len(names):
            raise DataError(f"{file}, line {number}: {len(values)} fields, but the header names "
                            f"{len(names)} columns")
        values += [""] * (len(names) - len(values))
        yield number, {name: value.strip() for name, value in zip(names, values)}


def _row(root: str, record: dict[str, str], where: str, dataset: str) -> dict:
    """One raw manifest row from a labels line (video id: the path below the folder, no extension)."""
    label = record["label"].lower()
    if label not in LABELS:
        raise DataError(f"{where}: label {record['label']!r} is not one of {', '.join(LABELS)}")
    if not record["path"]:
        raise DataError(f"{where}: the path is empty")
    path = os.path.abspath(os.path.join(root, record["path"]))
    if not os.path.exists(path):
        raise DataError(f"{where}: {record['path']!r} not found (looked for {path})")
    generator = record["generator"]
    if label == "real" and generator.lower() not in ("", REAL):
        raise DataError(f"{where}: a real video's generator must be empty or '{REAL}', got "
                        f"{generator!r}")
    if label == "fake" and generator.lower() in ("", REAL):
        raise DataError(f"{where}: a fake video needs its generator's name, got "
                        f"{record['generator']!r}")
    split = record["split"].lower() or None
    if split is not None and split not in SPLITS:
        raise DataError(f"{where}: split {record['split']!r} is not one of {', '.join(SPLITS)} "
                        f"(or empty)")
    vid = video_id(root, path)
    return dict(video_id=vid, path=path, label=LABELS[label],
                generator=REAL if label == "real" else generator, split=split, source_id=vid,
                dataset=dataset)
