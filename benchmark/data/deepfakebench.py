"""DeepfakeBench dataset JSONs (``preprocessing/dataset_json/*.json``, written by rearrange.py).

Shape: ``{dataset: {label_name: {train|val|test: [{c23|c40|raw}:] {video: {"label", "frames"}}}}}``.
The compression level exists for FaceForensics++-derived sets only; `DataOptions.compression`
picks one (``all`` reads every level, each video once per level). Frame paths in the published
JSONs are relative to DeepfakeBench's ``rgb_dir``: pass that folder as ``--data-root``.
"""
from __future__ import annotations

import json
import os

from benchmark.data.manifest import REAL
from benchmark.data.options import DataOptions
from benchmark.data.scan import SPLIT_NAMES, ReadLog, is_real_name
from benchmark.errors import DataError

_RANK = {"test": 0, "val": 1, "train": 2}  # which copy of a video listed under several splits wins


def _mapping(obj, origin: str, where: str) -> dict:
    if not isinstance(obj, dict):
        raise DataError(f"{origin}: expected a mapping at {where}, got {type(obj).__name__}")
    return obj


def _video_tables(table: dict, compression: str, origin: str, where: str) -> list:
    """[(compression level or None, {video: entry})]; FF++ indexes add a c23/c40/raw level."""
    first = next(iter(table.values()), None)
    if not isinstance(first, dict) or "frames" in first or "label" in first:
        return [(None, table)]
    if compression == "all":
        return [(level, _mapping(table[level], origin, f"{where}/{level}")) for level in sorted(table)]
    if compression not in table:
        raise DataError(f"{origin}: {where} has no compression level '{compression}' (found: "
                        f"{', '.join(sorted(table))}); choose one with --option compression=<level> "
                        f"(or compression=all)")
    return [(compression, _mapping(table[compression], origin, f"{where}/{compression}"))]


def _frame_folder(frames: list, origin: str, where: str) -> str:
    """The one folder that holds a video's frames, as written in the JSON (``/`` separators)."""
    folders = {os.path.dirname(str(f).replace("\\", "/")) for f in frames}
    if len(folders) != 1:
        raise DataError(f"{origin}: the frames of {where} lie in {len(folders)} folders "
                        f"({', '.join(sorted(folders)[:3])} ...); one video = one frame folder")
    return folders.pop()


def _rows(data: dict, options: DataOptions, origin: str, log: ReadLog) -> list[dict]:
    rows = []
    for ds, labels in _mapping(data, origin, "the top level").items():
        for label_name, splits in _mapping(labels, origin, ds).items():
            generator = REAL if is_real_name(label_name, options.real_dirs) else label_name
            for split_name, table in _mapping(splits, origin, f"{ds}/{label_name}").items():
                where = f"{ds}/{label_name}/{split_name}"
                split = SPLIT_NAMES.get(str(split_name).lower())
                if split is None:
                    raise DataError(f"{origin}: {where}: '{split_name}' is not a split (train, val, test)")
                for level, videos in _video_tables(_mapping(table, origin, where), options.compression,
                                                   origin, where):
                    for name, entry in videos.items():
                        vid = "/".join(p for p in (ds, label_name, level, name) if p)
                        frames = entry.get("frames") if isinstance(entry, dict) else None
                        if not frames:
                            log.skip("listed without frames", vid)
                            continue
                        rows.append(dict(video_id=vid, path=_frame_folder(frames, origin, vid),
                                         label=int(generator != REAL), generator=generator,
                                         split=split, source_id=f"{ds}/{name}", dataset=ds))
    return rows


def _one_split_per_video(rows: list[dict], log: ReadLog) -> list[dict]:
    """DeepfakeBench lists test-only datasets (DFD, Celeb-DF) under all three splits: keep one."""
    best: dict[str, dict] = {}
    dropped: dict[str, list[str]] = {}
    for row in rows:
        kept = best.get(row["video_id"])
        if kept is None or _RANK[row["split"]] < _RANK[kept["split"]]:
            if kept is not None:
                dropped.setdefault(row["video_id"], []).append(kept["split"])
            best[row["video_id"]] = row
        else:
            dropped.setdefault(row["video_id"], []).append(row["split"])
    if dropped:
        log.note(f"{len(dropped)} video(s) are listed under several splits (as DeepfakeBench does for "
                 f"test-only datasets); each is kept once, in its test (else val) split")
        for vid, splits in dropped.items():
            log.skip("repeated under another split (kept in its test, else val, split)",
                     f"{vid} ({', '.join(sorted(splits))})")
    return list(best.values())


def _resolve(rows: list[dict], root: str | None, json_dir: str, origin: str) -> None:
    """Makes frame folders absolute; raises when none of the relative ones exists."""
    base = root or json_dir
    relative = [r for r in rows if not os.path.isabs(r["path"])]
    for row in relative:
        row["path"] = os.path.normpath(os.path.join(base, row["path"]))
    if relative and not any(os.path.isdir(r["path"]) for r in relative):
        first = relative[0]
        hint = ("pass --data-root with the folder the JSON's relative frame paths start from "
                "(DeepfakeBench's rgb_dir)" if root is None else "check --data-root")
        raise DataError(f"{origin}: none of the {len(relative)} relative frame folders exists under "
                        f"{base} ({'the JSON folder' if root is None else '--data-root'}); tried "
                        f"{first['path']} for {first['video_id']}; {hint}")


def read_deepfakebench(path: str, options: DataOptions, log: ReadLog) -> list[dict]:
    """Rows of a DeepfakeBench JSON (label names with a ``real`` part are real).

    Video ids are ``dataset/label_name/[level/]video``; ``source_id`` is ``dataset/video`` (the
    same video at two compression levels is one source). The frames of a video must share one
    folder, which becomes its path (all images in it are read, not only those listed).

    Raises:
        DataError: an unreadable or malformed JSON, a missing compression level, frames spread
            over several folders, or relative frame paths that resolve nowhere.
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable DeepfakeBench JSON ({error})") from None
    rows = _one_split_per_video(_rows(data, options, str(path), log), log)
    if options.root is not None and not os.path.isdir(options.root):
        raise DataError(f"--data-root {options.root}: folder not found")
    _resolve(rows, options.root, os.path.dirname(os.path.abspath(path)), str(path))
    if options.dataset:
        for row in rows:
            row["dataset"] = options.dataset
    return rows
