"""GenVidBench (Ni et al., AAAI 2026; github.com/genvidbench/GenVidBench, data on Hugging Face
``jian-0/GenVidBench``): its mmaction2 fork's binary label files.

What is read: ``{root}/label/fake_real_label/train.txt`` and ``test.txt``, the annotation files the
fork's recognition configs give mmaction2's ``VideoDataset``
(``configs/recognition/*/..._genvidbench.py`` at commit 865c35f of the GenVidBench code, the
version with the cross-source pairs: Pair 1 = ModelScope ``ms``, ``pika``, Text2Video-Zero
``t2vz``, VideoCrafter2 ``vc2`` and Vript real videos for training; Pair 2 = ``cogvideo``,
``mora``, ``musev``, ``svd`` and HD-VG-130M real videos for testing). Each line is
``<video path> <label>``; the path is relative to the dataset root or, as in the fork's configs
(``data_prefix='data'`` with the label files under ``data/GenVidBench/``), to its parent. The
release has no validation file: the configs validate on ``test.txt``, so vbench reads no ``val``
split (use ``--split 60/20/20`` for a protocol that needs one).

Labels: ``0`` real, ``1`` generated. Where the paths say which videos are real (a first folder
named after the real sources, Vript or HD-VG-130M, or a real folder name), the reader checks the
numbers against them and reads the opposite convention when every file says so. The generator is
the first folder of a generated video's path (the dataset's own short names, ``ms``, ``t2vz``,
...), past ``PairN``/``videos`` container folders.

Sources: the generators of one pair made their videos from the same prompts and first frames
and the release names them by one id per prompt (``data/sampled_dataset_uuid.zip``), so a file
stem shared across generators, and with the real video, is one source.
"""
from __future__ import annotations

import os
import re

from benchmark.api import DataError
from layouts._split_files import (Entry, check_unique, missing_video, parse_label, require, row, stem,
                                  text_lines)

LABEL_DIR = os.path.join("label", "fake_real_label")
SPLIT_FILES = (("train.txt", "train"), ("test.txt", "test"))
REAL_SOURCES = ("vript", "hd-vg-130m", "hdvg-130m", "hd_vg_130m", "hdvg130m", "hd-vg")
_CONTAINER = re.compile(r"(pair_?\d+|videos?|genvidbench|data|fake|fakes|generated)", re.I)
DESCRIPTION = ("GenVidBench (AAAI 2026): label/fake_real_label/{train,test}.txt, mmaction2 lines "
               "'<video path> <0 real|1 generated>' (paths from the root or its parent); "
               "generator = first folder of the path; a file stem shared across generators is one "
               "source (one prompt)")


READS = ("label/fake_real_label/{train,test}.txt, mmaction2 VideoDataset annotation lines "
         "'<path> <label>', as the GenVidBench code's recognition configs give them (commit 865c35f, "
         "the version with the cross-source pairs); no validation file in the release")
SOURCES = ("source_id = the file stem: one prompt and first frame, shared by a pair's generators "
           "and its real video")


def detect(path: str) -> bool:
    """A folder holding ``label/fake_real_label/``."""
    return os.path.isdir(os.path.join(path, LABEL_DIR))


def _entries(root: str):
    files = require(os.path.join(root, LABEL_DIR), tuple(n for n, _ in SPLIT_FILES), "GenVidBench")
    entries = []
    for path, (_, split) in zip(files, SPLIT_FILES):
        for number, text in text_lines(path):
            parts = text.rsplit(None, 1)
            if len(parts) != 2:
                raise DataError(f"{path}:{number}: expected '<video path> <label>', got {text!r}")
            entries.append((Entry(path, number, parts[0], split), parts[1]))
    return entries


def _base(root: str, first) -> str:
    """The folder the label files' paths start at: the root, or its parent (the fork's ``data``)."""
    for base in (root, os.path.dirname(os.path.abspath(root))):
        if os.path.exists(os.path.join(base, first.name)):
            return base
    raise missing_video(first, f"looked for {os.path.join(root, first.name)}")


def _top_folder(name: str) -> str:
    parts = [p for p in name.replace("\\", "/").split("/")[:-1] if p]
    kept = [p for p in parts if not _CONTAINER.fullmatch(p)]
    return (kept or parts or [""])[0]


def _real_value(pairs, log) -> str:
    """The label value that means real: ``0``, unless every video under a real-source folder
    carries ``1`` and no other video does."""
    from benchmark.api import is_real_name

    by_real: dict[bool, set] = {True: set(), False: set()}
    for entry, value in pairs:
        top = _top_folder(entry.name)
        by_real[top.lower() in REAL_SOURCES or is_real_name(top)].add(value)
    if by_real[True] == {"1"} and by_real[False] == {"0"}:
        log.note("GenVidBench: the label files give the real-source folders (Vript, HD-VG-130M) "
                 "label 1, so 1 is read as real and 0 as generated")
        return "1"
    return "0"


def read(root: str, options, log) -> list[dict]:
    """Rows of every video the two label files name (see the module docstring).

    Raises:
        DataError: a missing label file, a malformed line, an unknown label value, a video listed
            twice or missing on disk (each naming the file and line).
    """
    pairs = _entries(root)
    if not pairs:
        return []
    check_unique([e for e, _ in pairs])
    real = _real_value(pairs, log)
    allowed = {real: 0, {"0": "1", "1": "0"}[real]: 1}
    base = _base(root, pairs[0][0])
    dataset = getattr(options, "dataset", None) or "GenVidBench"
    rows = []
    for entry, value in pairs:
        label = parse_label(value, entry.where, allowed)
        path = os.path.join(base, entry.name)
        if not os.path.exists(path):
            raise missing_video(entry, f"looked for {path}")
        generator = "real" if label == 0 else (_top_folder(entry.name) or "fake")
        rows.append(row(base, path, label, generator, entry.split, stem(entry.name), dataset))
    log.note("GenVidBench: official splits from label/fake_real_label/train.txt and test.txt (no "
             "validation file in the release); sources: a file stem shared by a pair's generators "
             "and its real video is one source (one prompt / first frame)")
    return rows


def register(plugin) -> None:
    plugin.layout("genvidbench", "layouts.genvidbench:read", DESCRIPTION,
                  detect="layouts.genvidbench:detect", priority=5, reads=READS, sources=SOURCES)
