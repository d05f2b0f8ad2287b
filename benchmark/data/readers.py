"""Read the dataset layouts used upstream into manifests (see `DATASET_LAYOUTS`).

A video is a video file (`VIDEO_EXTS`) or a frame folder (a folder that directly holds
`IMAGE_EXTS` images). Video ids are paths relative to the dataset root without the extension, so
``0_real/video_00000`` and ``1_fake/video_00000`` never collide. Layouts without splits get them
from `assign_splits`, with ``source_id = video_id`` (no layout here says which videos share a
source).
"""
from __future__ import annotations

import json
import os
import re
import warnings
from typing import Callable, Iterator

import pandas as pd

from benchmark.data.manifest import REAL, REQUIRED_COLUMNS, assign_splits, load_manifest, validate_manifest
from benchmark.data.video import IMAGE_EXTS, VIDEO_EXTS, natural_key
from benchmark.errors import DataError, UnknownKeyError

DATASET_LAYOUTS = {
    "manifest": "a CSV manifest (video_id, path, label, generator, split, source_id, dataset), "
                "or a folder holding manifest.csv",
    "deepfakebench": "a DeepfakeBench JSON index {dataset: {label_name: {train|val|test: "
                     "[{c23|c40|raw}:] {video: {label, frames: [...]}}}}}; label names with a 'real' "
                     "part are real; a video's frames must share one folder, which becomes the video",
    "genconvit": "{root}/{train|valid|val|test}/{real|fake}/ videos or frame folders (GenConViT)",
    "aigvdet": "{root}/[{split}/[{set}/]]{0_real|1_fake}/{video}/{frame}.png|jpg (AIGVDet); the "
               "folder above 0_real/1_fake names the generator when it is not a split",
    "generator_folders": "{root}/{generator}/*.mp4 (MMVGM); a folder named real, internvid, "
                         "real_videos, ... holds the real videos",
}
SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val",
               "validation": "val", "test": "test", "testing": "test"}
REAL_FOLDER_NAMES = ("real", "reals", "real_videos", "realvideos", "internvid", "original", "originals")
_REAL_PART = re.compile(r"(^|[^a-z])real($|[^a-z])")
_SCAN_DEPTH = 3  # how deep layout detection looks for 0_real/1_fake


def is_real_name(name: str) -> bool:
    """Whether a folder or label name denotes real videos (``real_videos``, ``FF-real``, ``0_real``)."""
    low = name.lower()
    return low in REAL_FOLDER_NAMES or bool(_REAL_PART.search(low))


def _subdirs(folder: str) -> list[os.DirEntry]:
    return sorted((e for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")),
                  key=lambda e: natural_key(e.name))


def iter_videos(folder: str) -> Iterator[str]:
    """Video files and frame folders under ``folder`` (recursively), in natural order.

    Images directly in ``folder`` itself are not a video: a class folder of loose images (e.g.
    GenConViT's face crops) is not one clip.
    """
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted((d for d in dirs if not d.startswith(".")), key=natural_key)
        if here != folder and any(f.lower().endswith(IMAGE_EXTS) for f in files):
            yield here  # a frame folder: its images are frames, not videos
            dirs[:] = []
            continue
        yield from (os.path.join(here, f) for f in sorted(files, key=natural_key)
                    if f.lower().endswith(VIDEO_EXTS))


def find_videos(folder: str) -> list[str]:
    """All of `iter_videos`."""
    return list(iter_videos(folder))


def _video_id(root: str, path: str) -> str:
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    return rel if os.path.isdir(path) else os.path.splitext(rel)[0]


def _rows_for(root: str, folder: str, generator: str, split: str | None, dataset: str) -> list[dict]:
    label = 0 if generator == REAL else 1
    rows = []
    for path in find_videos(folder):
        vid = _video_id(root, path)
        rows.append(dict(video_id=vid, path=os.path.abspath(path), label=label, generator=generator,
                         split=split, source_id=vid, dataset=dataset))
    return rows


def _finish(rows: list[dict], origin: str, seed: int) -> pd.DataFrame:
    """Manifest from rows; splits assigned when the layout had none."""
    if not rows:
        raise DataError(f"{origin}: found no videos ({', '.join(VIDEO_EXTS)}) or frame folders")
    df = pd.DataFrame(rows, columns=list(REQUIRED_COLUMNS))
    have = df["split"].notna()
    if not have.all():
        if have.any():
            raise DataError(f"{origin}: some videos sit under a split folder and others do not "
                            f"(e.g. {df.loc[~have, 'video_id'].iloc[0]!r}); use one scheme")
        df = assign_splits(df, seed=seed)
    return validate_manifest(df, origin=origin)


def read_genconvit(root: str, dataset: str | None = None, seed: int = 0) -> pd.DataFrame:
    """``{root}/{train|valid|test}/{real|fake}/`` (GenConViT); fakes get generator ``fake``."""
    dataset = dataset or os.path.basename(os.path.abspath(root))
    rows = []
    for split_dir in _subdirs(root):
        split = SPLIT_NAMES.get(split_dir.name.lower())
        for class_dir in _subdirs(split_dir.path) if split else []:
            if class_dir.name.lower() in ("real", "fake"):
                generator = REAL if class_dir.name.lower() == "real" else "fake"
                rows += _rows_for(root, class_dir.path, generator, split, dataset)
    return _finish(rows, f"{root} (genconvit layout)", seed)


def _class_dirs(root: str, depth: int = _SCAN_DEPTH) -> list[str]:
    """Folders named 0_real or 1_fake, at most ``depth`` levels below root."""
    found, level = [], [root]
    for _ in range(depth):
        below = []
        for folder in level:
            for entry in _subdirs(folder):
                (found if entry.name.lower() in ("0_real", "1_fake") else below).append(entry.path)
        level = below
    return found


def read_aigvdet(root: str, dataset: str | None = None, seed: int = 0) -> pd.DataFrame:
    """``{root}/[{split}/[{set}/]]{0_real|1_fake}/{video}/`` (AIGVDet frame folders)."""
    dataset = dataset or os.path.basename(os.path.abspath(root))
    rows = []
    for class_dir in _class_dirs(root):
        parts = os.path.relpath(class_dir, root).replace(os.sep, "/").split("/")
        splits = [SPLIT_NAMES[p.lower()] for p in parts[:-1] if p.lower() in SPLIT_NAMES]
        generator = REAL
        if parts[-1].lower() == "1_fake":
            above = parts[-2] if len(parts) > 1 else ""
            generator = above if above and above.lower() not in SPLIT_NAMES else "fake"
        rows += _rows_for(root, class_dir, generator, splits[0] if splits else None, dataset)
    return _finish(rows, f"{root} (aigvdet layout)", seed)


def read_generator_folders(root: str, dataset: str | None = None, seed: int = 0) -> pd.DataFrame:
    """``{root}/{generator}/*.mp4`` (MMVGM); real-named folders (`is_real_name`) hold real videos."""
    dataset = dataset or os.path.basename(os.path.abspath(root))
    rows = []
    for entry in _subdirs(root):
        generator = REAL if is_real_name(entry.name) else entry.name
        rows += _rows_for(root, entry.path, generator, None, dataset)
    return _finish(rows, f"{root} (generator_folders layout)", seed)


def read_manifest_layout(path: str, dataset: str | None = None, seed: int = 0) -> pd.DataFrame:
    """A CSV manifest file, or the ``manifest.csv`` in a folder (``dataset`` overrides its column)."""
    if os.path.isdir(path):
        path = os.path.join(path, "manifest.csv")
    df = load_manifest(path)
    if dataset:
        df["dataset"] = dataset
    return df


def _mapping(obj, origin: str, where: str) -> dict:
    if not isinstance(obj, dict):
        raise DataError(f"{origin}: expected a mapping at {where}, got {type(obj).__name__}")
    return obj


def _video_tables(table: dict, compression: str | None, origin: str, where: str) -> list:
    """[(compression level or None, {video: entry})]; FF++ indexes add a c23/c40/raw level."""
    first = next(iter(table.values()), None)
    if not isinstance(first, dict) or "frames" in first or "label" in first:
        return [(None, table)]
    if compression is None:
        return [(level, _mapping(table[level], origin, f"{where}/{level}")) for level in sorted(table)]
    if compression not in table:
        raise DataError(f"{origin}: {where} has no compression level '{compression}' (found: "
                        f"{', '.join(sorted(table))}); pass compression=<level>, or None for all")
    return [(compression, _mapping(table[compression], origin, f"{where}/{compression}"))]


def _frame_folder(frames: list, root: str, origin: str, where: str) -> str:
    folders = {os.path.dirname(str(f).replace("\\", "/")) for f in frames}
    if len(folders) != 1:
        raise DataError(f"{origin}: the frames of {where} lie in {len(folders)} folders "
                        f"({', '.join(sorted(folders)[:3])} ...); one video = one frame folder")
    folder = folders.pop()
    return os.path.normpath(folder if os.path.isabs(folder) else os.path.join(root, folder))


def _deepfakebench_rows(data: dict, root: str, compression: str | None, origin: str) -> tuple[list, list]:
    rows, no_frames = [], []
    for ds, labels in _mapping(data, origin, "the top level").items():
        for label_name, splits in _mapping(labels, origin, ds).items():
            generator = REAL if is_real_name(label_name) else label_name
            for split_name, table in _mapping(splits, origin, f"{ds}/{label_name}").items():
                where = f"{ds}/{label_name}/{split_name}"
                split = SPLIT_NAMES.get(str(split_name).lower())
                if split is None:
                    raise DataError(f"{origin}: {where}: '{split_name}' is not a split (train, val, test)")
                table = _mapping(table, origin, where)
                for level, videos in _video_tables(table, compression, origin, where):
                    for name, entry in videos.items():
                        vid = "/".join(p for p in (ds, label_name, level, name) if p)
                        frames = entry.get("frames") if isinstance(entry, dict) else None
                        if not frames:
                            no_frames.append(vid)
                            continue
                        rows.append(dict(video_id=vid, path=_frame_folder(frames, root, origin, vid),
                                         label=int(generator != REAL), generator=generator, split=split,
                                         source_id=f"{ds}/{name}", dataset=ds))
    return rows, no_frames


def _one_split_per_video(rows: list[dict], origin: str) -> list[dict]:
    """DeepfakeBench lists test-only datasets (DFD) under all three splits: keep the test entry."""
    rank = {"test": 0, "val": 1, "train": 2}
    best: dict[str, dict] = {}
    for row in rows:
        kept = best.get(row["video_id"])
        if kept is None or rank[row["split"]] < rank[kept["split"]]:
            best[row["video_id"]] = row
    if len(best) < len(rows):
        warnings.warn(f"{origin}: {len(rows) - len(best)} entries repeat a video under another split; "
                      f"each video is kept once, in its test (else val) split", stacklevel=3)
    return list(best.values())


def read_deepfakebench_json(path: str, dataset: str | None = None, seed: int = 0,
                            root: str | None = None, compression: str | None = "c23") -> pd.DataFrame:
    """A DeepfakeBench dataset JSON (``preprocessing/dataset_json/*.json``).

    Accepted: ``{dataset: {label_name: {train|val|test: {video: {"label", "frames": [paths]}}}}}``,
    with an optional compression level (``c23``, ``c40``, ``raw``) between the split and the videos
    as in FaceForensics++. Label names with a ``real`` part (``FF-real``, ``CelebDFv1_real``) are
    real (generator ``real``); any other label name is the generator. The frames of a video must
    share one folder, which becomes the video's path (all images in it are read, not only those
    listed). Video ids are ``dataset/label_name/[level/]video``; ``source_id`` is
    ``dataset/video``. Videos without frames are skipped with a warning.

    Args:
        path: the JSON file.
        dataset: overrides the dataset name from the JSON.
        seed: unused (the JSON has splits); kept for a uniform reader signature.
        root: folder that relative frame paths start from (DeepfakeBench's ``rgb_dir``); default the
            JSON's folder.
        compression: which compression level to read where the JSON has levels; None reads all.
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable DeepfakeBench JSON ({error})") from None
    root = root or os.path.dirname(os.path.abspath(path))
    rows, no_frames = _deepfakebench_rows(data, root, compression, str(path))
    if no_frames:
        warnings.warn(f"{path}: skipped {len(no_frames)} video(s) listed without frames, e.g. "
                      f"{no_frames[0]!r}", stacklevel=2)
    rows = _one_split_per_video(rows, str(path))
    if dataset:
        for row in rows:
            row["dataset"] = dataset
    return _finish(rows, f"{path} (deepfakebench layout)", seed)


LAYOUT_READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "manifest": read_manifest_layout,
    "deepfakebench": read_deepfakebench_json,
    "genconvit": read_genconvit,
    "aigvdet": read_aigvdet,
    "generator_folders": read_generator_folders,
}


def _has_videos(folder: str) -> bool:
    return next(iter_videos(folder), None) is not None


def _is_genconvit(path: str) -> bool:
    return any(SPLIT_NAMES.get(d.name.lower()) and
               any(c.name.lower() in ("real", "fake") for c in _subdirs(d.path)) for d in _subdirs(path))


def _layout_miss(path: str) -> DataError:
    entries = sorted(os.listdir(path), key=natural_key)
    folders = [e + "/" for e in entries if os.path.isdir(os.path.join(path, e))]
    files = [e for e in entries if not os.path.isdir(os.path.join(path, e))]
    shown = (folders + files)[:12]
    found = ", ".join(shown) + (f" and {len(entries) - 12} more" if len(entries) > 12 else "")
    looked = "\n".join(f"  {name}: {text}" for name, text in DATASET_LAYOUTS.items())
    return DataError(f"{path}: cannot tell the dataset layout. Looked for:\n{looked}\n"
                     f"Found {len(folders)} folder(s) and {len(files)} file(s): {found or '(empty folder)'}")


def detect_layout(path: str) -> str:
    """The name of the layout at ``path`` (a key of `DATASET_LAYOUTS`).

    Raises:
        DataError: the path is missing or matches no layout (the message lists what it holds).
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        ext = os.path.splitext(path)[1].lower()
        if ext in (".csv", ".json"):
            return "manifest" if ext == ".csv" else "deepfakebench"
        raise DataError(f"{path}: a dataset file must be a .csv manifest or a DeepfakeBench .json index")
    if not os.path.isdir(path):
        raise DataError(f"{path}: dataset path not found")
    if os.path.isfile(os.path.join(path, "manifest.csv")):
        return "manifest"
    if _is_genconvit(path):
        return "genconvit"
    if _class_dirs(path):
        return "aigvdet"
    if any(_has_videos(d.path) for d in _subdirs(path)):
        return "generator_folders"
    raise _layout_miss(path)


def read_dataset(path: str, layout: str | None = None, dataset: str | None = None, seed: int = 0,
                 **options) -> pd.DataFrame:
    """Reads a dataset in any known layout into a validated manifest.

    Args:
        path: a .csv manifest, a DeepfakeBench .json, or a dataset folder.
        layout: a key of `DATASET_LAYOUTS`; None detects it.
        dataset: dataset name for the ``dataset`` column (default: the folder or JSON name).
        seed: seed of `assign_splits` for layouts without splits.
        **options: passed to the reader (``root``, ``compression`` for DeepfakeBench).
    """
    layout = layout or detect_layout(path)
    if layout not in LAYOUT_READERS:
        raise UnknownKeyError("dataset layout", layout, LAYOUT_READERS)
    return LAYOUT_READERS[layout](os.fspath(path), dataset=dataset, seed=seed, **options)
