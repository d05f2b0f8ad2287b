"""AIGVDBench (Ma et al., "Your One-Stop Solution for AI-Generated Video Detection", CVPR 2026;
github.com/LongMa-2025/AIGVDBench, videos on Hugging Face ``AIGVDBench/AIGVDBench``).

What is read: the official split files ``{root}/data_splits/{train,val,test}.jsonl`` as published
in the repository (commit e38c75a, 2026): one JSON object per line,
``{"Video_id": "<OpenVid-HD clip>.mp4", "Video_Prompts": "<caption>"}``. A ``Video_id`` names a
prompt and the OpenVid-HD real clip it was captioned from; every open-source generator made one
video per prompt. The repository does not document the video folders, so the reader takes the
shape of the release: videos named by their ``Video_id`` in one folder per generator, anywhere
below the root (``{root}/[open_source/]CogVideoX/<Video_id>.mp4``), the real clips in a real-named
folder (``real``, ``OpenVid-HD``, ... or ``--real-dirs``). Generator names are the folder names.

Held-out test generators: the repository's README says the closed-source generators (Sora,
Kling, Gen2, Gen3, ...) are only test data and are in no split file. A generator folder none of
whose videos a split file names (or a folder below one whose name contains ``closed``) is such a
generator: all its videos are test videos, with the real videos no split file names (their real
counterparts). A video of an open-source generator that no split file names is skipped (said in
``data inspect``); a held-out video whose prompt is a train or validation prompt is skipped too,
since it would put one prompt in two splits.

Sources: one ``Video_id`` (one prompt and its real clip) is one source across every generator.
"""
from __future__ import annotations

import os
from collections import defaultdict

from benchmark.api import DataError
from layouts._split_files import Entry, check_label_folder, check_unique, require, row, stem, text_lines

SPLIT_DIR = "data_splits"
SPLIT_FILES = (("train.jsonl", "train"), ("val.jsonl", "val"), ("test.jsonl", "test"))
REAL_NAMES = ("openvid", "openvid-hd", "openvid_hd", "openvidhd")
DESCRIPTION = ("AIGVDBench (CVPR 2026): data_splits/{train,val,test}.jsonl ({\"Video_id\": ...} per "
               "line) and one folder per generator of videos named by Video_id; generators no split "
               "file names (closed-source) are held-out test generators; one Video_id (prompt and "
               "real clip) is one source")


READS = ("data_splits/{train,val,test}.jsonl, one {\"Video_id\", \"Video_Prompts\"} object per "
         "line, as published in the AIGVDBench repository (commit e38c75a); video folders one per "
         "generator, named by Video_id")
SOURCES = ("source_id = Video_id: a prompt and the OpenVid-HD real clip it describes, one source "
           "across every generator")


def detect(path: str) -> bool:
    """A folder holding ``data_splits/`` with ``.jsonl`` split files."""
    folder = os.path.join(path, SPLIT_DIR)
    return os.path.isdir(folder) and any(n.endswith(".jsonl") for n in os.listdir(folder))


def _entries(root: str):
    import json

    files = require(os.path.join(root, SPLIT_DIR), tuple(n for n, _ in SPLIT_FILES), "AIGVDBench")
    entries = []
    for path, (_, split) in zip(files, SPLIT_FILES):
        for number, text in text_lines(path):
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                raise DataError(f"{path}:{number}: not a JSON object ({error.msg})") from None
            name = record.get("Video_id") if isinstance(record, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise DataError(f"{path}:{number}: expected an object with a \"Video_id\" string, "
                                f"got {text[:80]!r}")
            entries.append(Entry(path, number, name.strip(), split))
    return entries


def _videos_by_folder(root: str, options, log) -> dict[str, list[str]]:
    """Generator (or real) folder → its videos, for every folder below the root but data_splits."""
    from benchmark.api import iter_videos, subdirs

    found: dict[str, list[str]] = defaultdict(list)
    for top in subdirs(root):
        if top.name == SPLIT_DIR:
            continue
        for video in iter_videos(top.path, log, getattr(options, "images", "auto")):
            found[os.path.dirname(video.rstrip(os.sep))].append(video)
    return found


def _is_real(folder: str, options) -> bool:
    from benchmark.api import is_real_name

    name = os.path.basename(folder)
    return name.lower() in REAL_NAMES or is_real_name(name, getattr(options, "real_dirs", ()))


def read(root: str, options, log) -> list[dict]:
    """Rows of the listed videos plus the held-out generators' (see the module docstring).

    Raises:
        DataError: a missing split file, a malformed line, a ``Video_id`` listed twice or found
            in no folder (each naming the file and line).
    """
    entries = _entries(root)
    check_unique(entries, key=lambda e: stem(e.name))
    split_of = {stem(e.name): e.split for e in entries}
    dataset = getattr(options, "dataset", None) or "AIGVDBench"
    rows, seen, held_out = [], set(), []
    for folder, videos in sorted(_videos_by_folder(root, options, log).items()):
        real = _is_real(folder, options)
        named = [v for v in videos if stem(v) in split_of]
        closed = "closed" in os.path.relpath(folder, root).lower()
        generator = "real" if real else os.path.basename(folder)
        if not real:
            check_label_folder(folder, "AIGVDBench's folders are one per generator, named by model "
                               "(CogVideoX, Sora, ...), and the real OpenVid-HD clips")
        if not real and (closed or not named):
            held_out.append(generator)
        for video in videos:
            key = stem(video)
            seen.add(key)
            split = split_of.get(key) if not (closed and not real) else None
            if split is None and named and not real and not closed:
                log.skip("an open-source generator's video that no data_splits/*.jsonl names", video)
                continue
            if split is None and split_of.get(key) in ("train", "val"):
                log.skip("a held-out test video whose prompt is a train/val prompt (one prompt "
                         "would span two splits)", video)
                continue
            rows.append(row(root, video, 0 if real else 1, generator, split or "test", key, dataset))
    for entry in entries:
        if stem(entry.name) not in seen:
            raise DataError(f"{entry.where}: video {entry.name!r} does not exist (no generator or "
                            f"real folder under {root} holds a video of that name)")
    log.note("AIGVDBench: official splits from data_splits/{train,val,test}.jsonl; sources: one "
             "Video_id (a prompt and the OpenVid-HD clip it describes) is one source across all "
             "generators")
    if held_out:
        log.note(f"AIGVDBench: held-out test generator(s), in no split file (closed-source): "
                 f"{', '.join(sorted(set(held_out)))}")
    return rows


def register(plugin) -> None:
    plugin.layout("aigvdbench", "layouts.aigvdbench:read", DESCRIPTION,
                  detect="layouts.aigvdbench:detect", priority=5, reads=READS, sources=SOURCES)
