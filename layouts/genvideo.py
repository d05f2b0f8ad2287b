"""GenVideo (Chen et al., "DeMamba: AI-Generated Video Detection on Million-Scale GenVideo
Benchmark", arXiv 2405.19707; code github.com/chenhaoxing/DeMamba, data announced at
github.com/ant-research/Gen-Video).

What is read: the video lists DeMamba's ``dataloader.py`` trains and tests on (the code at commit
2238475), under ``{root}/datasets/``: ``train.csv`` (the training set: Kinetics-400 and
Youku-mPLUG real videos, ZeroScope, I2VGen-XL, SVD, VideoCrafter, Pika, DynamiCrafter, SD,
SEINE, Latte, OpenSora) and ``val_ood.csv`` (the test set: MSR-VTT real videos and the 10 unseen
test generators Sora, MorphStudio, Gen2, HotShot, Lavie, Show_1, MoonValley, Crafter, ModelScope,
WildScrape), plus ``val_id.csv`` as a validation set when present. The CSVs are those
``Preprocess/folder2csv.py`` writes: columns ``content_path`` (a frame folder ``fake/<generator>/
...`` or ``real/<source>/...`` holding ``<n>.jpg`` frames, relative to the root; a video file
works too), ``label`` (``0`` real, ``1`` generated) and ``image_path``, ``activity_id``,
``frame_len``, ``frame_seq``, which vbench does not need. The generator is the folder after
``fake/``, as the dataset names it. ``com_28.csv``, ``imgwater.csv`` and ``textwater.csv`` list
compressed and watermarked copies of the test videos for the robustness tasks; they are not read.

Sources: GenVideo publishes no prompt or source ids, so each video is its own source (plus the
shared-stem grouping vbench applies within each split).
"""
from __future__ import annotations

import os

from benchmark.api import DataError
from layouts._split_files import Entry, check_unique, missing_video, parse_label, rel_id, require, row

LIST_DIR = "datasets"
REQUIRED = (("train.csv", "train"), ("val_ood.csv", "test"))
OPTIONAL = (("val_id.csv", "val"),)
COPIES = ("com_28.csv", "imgwater.csv", "textwater.csv")
LABELS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}
DESCRIPTION = ("GenVideo (DeMamba): datasets/train.csv (train), val_ood.csv (test: 10 unseen "
               "generators incl. Sora), val_id.csv (val, optional); columns content_path "
               "(fake/<generator>/... or real/<source>/... frame folders) and label (0 real, 1 "
               "generated); each video its own source")


READS = ("datasets/train.csv, val_ood.csv and val_id.csv as DeMamba's Preprocess/folder2csv.py "
         "writes them (columns content_path, label; DeMamba commit 2238475); frame folders or "
         "video files")
SOURCES = ("one source per video: GenVideo publishes no prompt or source ids (only vbench's "
           "shared-stem rule joins videos, within a split)")


def detect(path: str) -> bool:
    """A folder whose ``datasets/`` holds ``train.csv`` or ``val_ood.csv``."""
    folder = os.path.join(path, LIST_DIR)
    return any(os.path.isfile(os.path.join(folder, name)) for name, _ in REQUIRED)


def _entries(root: str):
    import csv

    folder = os.path.join(root, LIST_DIR)
    files = list(zip(require(folder, tuple(n for n, _ in REQUIRED), "GenVideo"),
                     (s for _, s in REQUIRED)))
    files += [(os.path.join(folder, n), s) for n, s in OPTIONAL if os.path.isfile(os.path.join(folder, n))]
    entries = []
    for path, split in files:
        try:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                missing = [c for c in ("content_path", "label") if c not in (reader.fieldnames or [])]
                if missing:
                    raise DataError(f"{path}:1: expected the columns content_path and label, "
                                    f"found {', '.join(reader.fieldnames or []) or '(none)'}")
                for record in reader:
                    where = f"{path}:{reader.line_num}"
                    label = parse_label(record["label"] or "", where, LABELS)
                    entries.append(Entry(path, reader.line_num, (record["content_path"] or "").strip(),
                                         split, label))
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise DataError(f"{path}: cannot read the video list ({error})") from None
    return entries


def _generator(entry) -> str:
    """``fake/<generator>/...`` → generator; the label must agree with the fake/real folder."""
    parts = [p for p in entry.name.replace("\\", "/").split("/") if p]
    top = parts[0].lower() if parts else ""
    if (top == "fake" and entry.label == 0) or (top == "real" and entry.label == 1):
        raise DataError(f"{entry.where}: label {entry.label} contradicts the path {entry.name!r} "
                         f"(under {parts[0]}/)")
    if entry.label == 0:
        return "real"
    if top == "fake" and len(parts) > 2:
        return parts[1]
    return parts[0] if len(parts) > 1 else "fake"


def read(root: str, options, log) -> list[dict]:
    """Rows of every video the lists name (see the module docstring).

    Raises:
        DataError: a missing list, a missing column, an unknown label value, a label that
            contradicts its folder, a video listed twice or missing on disk (each naming the
            file and line).
    """
    entries = _entries(root)
    check_unique(entries, key=lambda e: os.path.normpath(e.name))
    dataset = getattr(options, "dataset", None) or "GenVideo"
    rows = []
    for entry in entries:
        path = entry.name if os.path.isabs(entry.name) else os.path.join(root, entry.name)
        if not entry.name or not os.path.exists(path):
            raise missing_video(entry, f"looked for {path}")
        generator = _generator(entry)
        rows.append(row(root, path, entry.label, generator, entry.split, rel_id(root, path), dataset))
    log.note("GenVideo: official splits from datasets/train.csv (train), val_ood.csv (test)"
             + (", val_id.csv (val)" if any(e.split == "val" for e in entries) else "")
             + "; sources: GenVideo publishes no prompt or source ids, so each video is its own source, joined only by vbench's shared-stem rule within a split")
    copies = [n for n in COPIES if os.path.isfile(os.path.join(root, LIST_DIR, n))]
    if copies:
        log.note(f"GenVideo: {', '.join(copies)} (compressed/watermarked copies of test videos for "
                 f"the robustness tasks) are not read")
    return rows


def register(plugin) -> None:
    plugin.layout("genvideo", "layouts.genvideo:read", DESCRIPTION,
                  detect="layouts.genvideo:detect", priority=5, reads=READS, sources=SOURCES)
