"""Read the dataset layouts used upstream into manifests (see `benchmark.builtin.LAYOUTS`).

A video is a video file, a frame folder or a group of loose images (`benchmark.data.scan`). Video
ids are paths relative to the dataset root without the extension, so ``0_real/video_00000`` and
``1_fake/video_00000`` never collide. Each reader returns rows; `read_dataset` then groups them
into sources (`benchmark.data.sources`) and applies the split rule (`DataOptions.split`).
"""
from __future__ import annotations

import os
import re
from collections import defaultdict
from typing import Callable

import pandas as pd

from benchmark.data.deepfakebench import read_deepfakebench
from benchmark.data.manifest import REAL, REQUIRED_COLUMNS, load_manifest
from benchmark.data.options import DATASET_LAYOUTS, DataOptions
from benchmark.registry import LAYOUTS, import_target
from benchmark.data.scan import (SPLIT_NAMES, ReadLog, find_videos, is_real_name, iter_videos,
                                 subdirs, video_id)
from benchmark.data.video import VIDEO_EXTS, natural_key
from benchmark.errors import DataError, UnknownKeyError

__all__ = ["DATASET_LAYOUTS", "LAYOUT_READERS", "detect_layout", "read_dataset", "read_rows",
           "is_real_name", "find_videos", "iter_videos"]
_CLASS_DIRS = ("0_real", "1_fake")
_SCAN_DEPTH = 6  # how deep detection looks for 0_real/1_fake (test/original/T2V/gen/1_fake is 5)
# AIGVDet's set folders (trainset_1, val_set_1, testset_1) name datasets, not generators.
_SET_NAME = re.compile(r"(train|training|val|valid|validation|test|testing|eval)[_-]?sets?([_-].*|\d.*)?",
                       re.IGNORECASE)
_RGB_FOLDER = "original"  # AIGVDet: RGB frames under test/original/..., optical flow beside them


def _dataset_name(path: str, options: DataOptions) -> str:
    return options.dataset or os.path.basename(os.path.abspath(path)) or "data"


def _rows_for(root: str, folder: str, generator: str, split: str | None, dataset: str,
              options: DataOptions, log: ReadLog) -> list[dict]:
    label = 0 if generator == REAL else 1
    rows = []
    for path in find_videos(folder, log, options.images):
        vid = video_id(root, path)
        rows.append(dict(video_id=vid, path=os.path.abspath(path), label=label, generator=generator,
                         split=split, source_id=vid, dataset=dataset))
    if not rows:
        log.skip("folder holds no videos", folder)
    return rows


def read_genconvit(root: str, options: DataOptions, log: ReadLog) -> list[dict]:
    """``{root}/{train|valid|test}/{real|fake}/`` (GenConViT); fakes get generator ``fake``."""
    dataset, rows = _dataset_name(root, options), []
    for split_dir in subdirs(root):
        split = SPLIT_NAMES.get(split_dir.name.lower())
        if split is None:
            log.skip("not a split folder (train, valid, test)", split_dir.path)
            continue
        for class_dir in subdirs(split_dir.path):
            name = class_dir.name.lower()
            if name != "fake" and not is_real_name(name, options.real_dirs):
                log.skip("not a class folder (real, fake or --real-dirs)", class_dir.path)
                continue
            generator = "fake" if name == "fake" else REAL
            rows += _rows_for(root, class_dir.path, generator, split, dataset, options, log)
    return rows


def _class_dirs(root: str, depth: int = _SCAN_DEPTH) -> list[str]:
    """Folders named 0_real or 1_fake, at most ``depth`` levels below root."""
    found, level = [], [root]
    for _ in range(depth):
        below = []
        for folder in level:
            for entry in subdirs(folder):
                (found if entry.name.lower() in _CLASS_DIRS else below).append(entry.path)
        level = below
    return found


def _parts(root: str, folder: str) -> list[str]:
    return os.path.relpath(folder, root).replace(os.sep, "/").split("/")


def _without_flow_mirrors(root: str, class_dirs: list[str], log: ReadLog) -> list[str]:
    """AIGVDet's test data keeps RGB frames under ``original/`` and optical-flow images in a mirror
    tree beside it; the harness computes flow itself, so the mirror is skipped."""
    rgb = {tuple(p for p in _parts(root, d) if p != _RGB_FOLDER)
           for d in class_dirs if _RGB_FOLDER in _parts(root, d)}
    kept = []
    for folder in class_dirs:
        parts = _parts(root, folder)
        if _RGB_FOLDER not in parts and tuple(parts) in rgb:
            log.skip("optical-flow images (AIGVDet keeps the RGB frames of these videos under "
                     "original/)", folder)
        else:
            kept.append(folder)
    return kept


def _aigvdet_place(parts: list[str]) -> tuple[str | None, list[str], list[str]]:
    """(split, set names, generator parts) from the folders between the root and 0_real/1_fake."""
    split, sets, rest = None, [], []
    for part in parts:
        if part.lower() in SPLIT_NAMES and split is None:
            split = SPLIT_NAMES[part.lower()]
        elif _SET_NAME.fullmatch(part):
            sets.append(part)
        elif part != _RGB_FOLDER:
            rest.append(part)
    return split, sets, rest


def read_aigvdet(root: str, options: DataOptions, log: ReadLog) -> list[dict]:
    """``{root}/[{split}/][{set}/][original/][...{generator}/]{0_real|1_fake}/{video}/`` (AIGVDet).

    A set folder (``trainset_1``, ``val_set_1``) becomes the ``dataset``; the innermost other
    folder above ``1_fake`` names the generator (``fake`` when there is none). Real videos found
    under several generators with the same name and content are one video (`_merge_repeated_reals`).
    """
    class_dirs = _without_flow_mirrors(root, _class_dirs(root), log)
    places = {d: _aigvdet_place(_parts(root, d)[:-1]) for d in class_dirs}
    by_name: dict[str, set] = defaultdict(set)
    for _, _, rest in places.values():
        if rest:
            by_name[rest[-1]].add(tuple(rest))
    rows, sets_seen = [], set()
    for folder in class_dirs:
        split, sets, rest = places[folder]
        sets_seen.update(sets)
        generator = REAL
        if os.path.basename(folder).lower() == "1_fake":
            generator = ("/".join(rest) if len(by_name[rest[-1]]) > 1 else rest[-1]) if rest else "fake"
        dataset = options.dataset or ("/".join(sets) if sets else _dataset_name(root, options))
        rows += _rows_for(root, folder, generator, split, dataset, options, log)
    if sets_seen:
        log.note(f"AIGVDet set folder(s) {', '.join(sorted(sets_seen, key=natural_key))} are read as "
                 f"datasets (the dataset column), not generators")
    return _merge_repeated_reals(rows, log)


def _merge_repeated_reals(rows: list[dict], log: ReadLog) -> list[dict]:
    """One row per real video that the per-generator layout repeats under every generator.

    "The same" means: same split, same name below ``0_real`` (``video_00000``), and the same
    content fingerprint. Same name with other content stays two videos.
    """
    from benchmark.data.fingerprint import fingerprint_paths

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        if row["label"] == 0:
            groups[(row["split"], row["video_id"].split("0_real/", 1)[-1])].append(row)
    repeated = [g for g in groups.values() if len(g) > 1]
    prints = fingerprint_paths([r["path"] for g in repeated for r in g])
    dropped: set[str] = set()
    for group in repeated:
        by_print: dict[str, list[dict]] = defaultdict(list)
        for row in group:
            by_print[prints[row["path"]]].append(row)
        for same in by_print.values():
            if len(same) > 1:
                log.merged.append((same[0]["video_id"], [r["video_id"] for r in same[1:]],
                                   "the same real video (name and content) under several generators"))
                dropped.update(r["video_id"] for r in same[1:])
    return [r for r in rows if r["video_id"] not in dropped]


def read_generator_folders(root: str, options: DataOptions, log: ReadLog) -> list[dict]:
    """``{root}/{generator}/*.mp4`` (MMVGM); real-named folders (`is_real_name`) hold real videos."""
    dataset, rows = _dataset_name(root, options), []
    for entry in os.scandir(root):
        if entry.is_file() and not entry.name.startswith("."):
            log.skip("a file at the top level (videos belong in a generator or real folder)", entry.path)
    for entry in subdirs(root):
        generator = REAL if is_real_name(entry.name, options.real_dirs) else entry.name
        rows += _rows_for(root, entry.path, generator, None, dataset, options, log)
    return rows


def read_manifest_rows(path: str, options: DataOptions, log: ReadLog) -> list[dict]:
    """A CSV manifest file, or the ``manifest.csv`` in a folder; ``--data-root`` resolves its
    relative paths (default: the manifest's folder)."""
    if os.path.isdir(path):
        path = os.path.join(path, "manifest.csv")
    frame = load_manifest(path, root=options.root)
    if options.dataset:
        frame["dataset"] = options.dataset
    return frame.to_dict("records")


# layout name -> reader(path, options, log) -> raw rows: `benchmark.registry.LAYOUTS`, filled by
# the plugin loader; the built-in layouts below are registered by `benchmark.builtin`, each with
# its detection rule (``detect(path) -> bool``, the ``detects_*`` functions) and priority (lower
# is tried first).
LAYOUT_READERS = LAYOUTS
def _has_videos(folder: str) -> bool:
    return next(iter_videos(folder), None) is not None


def detects_manifest(path: str) -> bool:
    """A ``.csv`` file, or a folder holding ``manifest.csv``."""
    if os.path.isfile(path):
        return os.path.splitext(path)[1].lower() == ".csv"
    return os.path.isfile(os.path.join(path, "manifest.csv"))


def detects_deepfakebench(path: str) -> bool:
    """A ``.json`` file (a DeepfakeBench index)."""
    return os.path.isfile(path) and os.path.splitext(path)[1].lower() == ".json"


def detects_genconvit(path: str) -> bool:
    """Split folders (train/valid/test) holding real/fake folders."""
    return os.path.isdir(path) and any(
        SPLIT_NAMES.get(d.name.lower()) and any(c.name.lower() in ("real", "fake")
                                                for c in subdirs(d.path)) for d in subdirs(path))


def detects_aigvdet(path: str) -> bool:
    """0_real/1_fake folders somewhere below (at most six levels)."""
    return os.path.isdir(path) and bool(_class_dirs(path))


def detects_generator_folders(path: str) -> bool:
    """Any subfolder holding videos (the catch-all: tried last)."""
    return os.path.isdir(path) and any(_has_videos(d.path) for d in subdirs(path))


def layout_descriptions() -> dict[str, str]:
    """Every usable layout (built-in and plugins') → its one-line description."""
    return {name: LAYOUTS.description(name) for name in LAYOUTS.usable()}


def _layout_miss(path: str) -> DataError:
    entries = sorted(os.listdir(path), key=natural_key)
    folders = [e + "/" for e in entries if os.path.isdir(os.path.join(path, e))]
    files = [e for e in entries if not os.path.isdir(os.path.join(path, e))]
    shown = (folders + files)[:12]
    found = ", ".join(shown) + (f" and {len(entries) - 12} more" if len(entries) > 12 else "")
    looked = "\n".join(f"  {name}: {text}" for name, text in layout_descriptions().items())
    return DataError(f"{path}: cannot tell the dataset layout. Looked for:\n{looked}\n"
                     f"Found {len(folders)} folder(s) and {len(files)} file(s): {found or '(empty folder)'}")


def _detectors() -> list[tuple[str, Callable[[str], bool]]]:
    """(layout, detect) of every usable layout with a rule, in the order they are tried."""
    rules = []
    for order, name in enumerate(LAYOUTS.usable()):
        meta = LAYOUTS.meta(name)
        detect = meta.get("detect")
        if detect is None:
            continue
        if isinstance(detect, str):
            detect = import_target(detect, f"dataset layout '{name}' from "
                                           f"{LAYOUTS.source(name)}: detect")
        rules.append((meta.get("priority", 50), order, name, detect))
    return [(name, detect) for _, _, name, detect in sorted(rules, key=lambda r: r[:2])]


def detect_layout(path: str) -> str:
    """The name of the layout at ``path``: the first layout whose rule matches, by priority.

    Raises:
        DataError: the path is missing or matches no layout (the message lists what it holds).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: dataset path not found")
    for name, detect in _detectors():
        if detect(path):
            return name
    if os.path.isfile(path):
        ext = os.path.splitext(path)[1].lower()
        hint = " (one video is not a dataset)" if ext in VIDEO_EXTS else ""
        raise DataError(f"{path}: a dataset file must be a .csv manifest or a DeepfakeBench .json "
                        f"index{hint}")
    raise _layout_miss(path)


def read_rows(path: str, options: DataOptions, log: ReadLog) -> tuple[str, pd.DataFrame]:
    """(layout, raw rows) of a dataset: ``split`` may be None, ``source_id`` not yet grouped.

    Raises:
        DataError: no layout matches, or the layout holds no videos.
    """
    path = os.fspath(path)
    layout = options.layout or detect_layout(path)
    rows = LAYOUT_READERS.get(layout)(path, options, log)
    if not rows:
        raise DataError(f"{path} ({layout} layout): found no videos ({', '.join(VIDEO_EXTS)}), frame "
                        f"folders or images")
    frame = pd.DataFrame(rows)
    return layout, frame[list(REQUIRED_COLUMNS) + [c for c in frame.columns if c not in REQUIRED_COLUMNS]]


def read_dataset(path: str, layout: str | None = None, dataset: str | None = None, seed: int = 0,
                 options: DataOptions | None = None, log: ReadLog | None = None,
                 **legacy) -> pd.DataFrame:
    """Reads a dataset in any known layout into a validated manifest with sources and splits.

    Args:
        path: a .csv manifest, a DeepfakeBench .json, or a dataset folder.
        layout: a key of `DATASET_LAYOUTS`; None detects it (overrides ``options.layout``).
        dataset: dataset name for the ``dataset`` column (overrides ``options.dataset``).
        seed: seed of the split for layouts without splits.
        options: how to read (`DataOptions`); defaults otherwise.
        log: collects what was skipped (`ReadLog`); None emits nothing.
        **legacy: ``root=`` and ``compression=`` as `DataOptions` fields.
    """
    from benchmark.data.sources import finish_manifest

    values = {**(options.to_dict() if options else {}), **legacy}
    values.update({k: v for k, v in (("layout", layout), ("dataset", dataset)) if v is not None})
    if values.get("compression", "c23") is None:
        values["compression"] = "all"
    options = DataOptions.from_mapping(values, origin="read_dataset")
    log = log if log is not None else ReadLog()
    found, rows = read_rows(path, options, log)
    return finish_manifest(rows, options, seed, f"{path} ({found} layout)", log, layout=found)
