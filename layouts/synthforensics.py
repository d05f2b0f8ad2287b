"""SynthForensics ("SynthForensics: Benchmarking and Evaluating People-Centric Synthetic Video
Deepfakes", 2026; huggingface.co/datasets/SynthForensics/SynthForensics, dataset card as stored
for the sample release SynthForensics_sample, commit 9cad580): the card's folder structure,

    {root}/{T2V|I2V}/videos/{raw|canonical|crf23|crf40}/{generator}/<ID>_<generator>_<t2v|i2v>.mp4
    {root}/{T2V|I2V}/metadata/{generator}/<ID>_<generator>_<t2v|i2v>.json   (not read)

Every fake is made from one FF++ or DFD real video, whose id it carries (``<ID>``). The reals are
FaceForensics++'s and DeepFake Detection's own files (distributed by their owners, not in the
release); vbench reads them from ``{root}/Real/videos/{version}/{FF++|DFD|...}/<ID>.mp4``, the
fakes' tree. Splits: ``{root}/splits/{train,val,test}.json`` in FaceForensics++' format (a JSON
list of ids or of id pairs, ``[["953", "974"], ...]``): the stored card did not show its split
files, so vbench reads those of the real videos the fakes come from. Without ``splits/`` the split
is vbench's seeded per-source split.

Sources: ``<ID>``: a real video, every fake made from it and all its compression versions are one
source, so they always share a split. Versions: ``--option compression=`` ``raw``, ``canonical``,
``crf23``, ``crf40`` or ``all`` (DeepfakeBench's names map: ``c23`` → ``crf23``, the default, and
``c40`` → ``crf40``: FF++'s c23/c40 are H.264 at CRF 23/40). Each version is its own ``dataset``
(``SynthForensics/crf23``), so ``cross_dataset`` with ``compression=all`` is the cross-compression
matrix: train on one version, test on each.
"""
from __future__ import annotations

import os

from benchmark.api import REAL, DataError, subdirs
from layouts._split_files import assign, json_id_entries, split_files

VERSIONS = ("raw", "canonical", "crf23", "crf40")
ALIASES = {"c23": "crf23", "c40": "crf40"}
TREES = {"T2V": "t2v", "I2V": "i2v", "Real": None}
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


READS = ("{T2V|I2V}/videos/{raw|canonical|crf23|crf40}/{generator}/<ID>_<generator>_<task>.mp4 "
         "of the SynthForensics dataset card (sample release, commit 9cad580), reals under "
         "Real/videos/{version}/, splits/{train,val,test}.json in FaceForensics++' format")
SOURCES = ("source_id = the FF++/DFD pair id <ID>: a real video, every fake made from it and "
           "all their compression versions")


def register(plugin) -> None:
    plugin.layout("synthforensics", "layouts.synthforensics:read",
                  "SynthForensics: {root}/{T2V|I2V}/videos/{raw|canonical|crf23|crf40}/{generator}/"
                  "<ID>_<generator>_<t2v|i2v>.mp4, reals in {root}/Real/videos/{version}/, "
                  "splits/{train,val,test}.json (FF++ format); compression=crf23 (default c23)|"
                  "crf40|raw|canonical|all, one dataset per version",
                  detect="layouts.synthforensics:detect", priority=25, reads=READS, sources=SOURCES)


def detect(path: str) -> bool:
    """``T2V/videos/`` or ``I2V/videos/`` below ``path``."""
    return any(os.path.isdir(os.path.join(path, tree, "videos")) for tree in ("T2V", "I2V"))


def _versions(root: str, compression: str) -> list[str]:
    names = {v.name for tree in TREES if os.path.isdir(os.path.join(root, tree, "videos"))
             for v in subdirs(os.path.join(root, tree, "videos"))}
    found = sorted(names, key=lambda v: (VERSIONS.index(v) if v in VERSIONS else len(VERSIONS), v))
    wanted = found if compression == "all" else [ALIASES.get(compression, compression)]
    for version in wanted:
        if version not in found:
            raise DataError(f"{root}: SynthForensics has no compression version {version!r} (found: "
                            f"{', '.join(found) or 'none'}); choose one with --option "
                            f"compression=raw|canonical|crf23|crf40|all")
    return wanted


def _check_trees(root: str) -> None:
    for entry in subdirs(root):
        if entry.name not in TREES and os.path.isdir(os.path.join(entry.path, "videos")):
            raise DataError(f"{entry.path}: unknown label folder {entry.name!r} (SynthForensics' "
                            f"trees are T2V and I2V, generated, and Real)")


def _files(folder: str, log):
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        stem, ext = os.path.splitext(entry.name)
        if entry.is_file() and not entry.name.startswith("."):
            if ext.lower() in VIDEO_EXTS:
                yield stem, entry.path
            else:
                log.skip(f"not a video (extension {ext or '(none)'})", entry.path)


def _tree_rows(root: str, tree: str, version: str, dataset: str, log) -> list[dict]:
    """Rows of one tree (T2V, I2V or Real) in one version."""
    task, rows, seen = TREES[tree], [], {}
    base = os.path.join(root, tree, "videos", version)
    for group in subdirs(base) if os.path.isdir(base) else []:
        for stem, path in _files(group.path, log):
            if task is None:
                ident, generator = stem, REAL
            else:
                suffix = f"_{group.name}_{task}"
                if not stem.lower().endswith(suffix.lower()) or len(stem) == len(suffix):
                    log.skip(f"not named <ID>{suffix} in {tree}/videos/{version}/{group.name}", path)
                    continue
                ident, generator = stem[: -len(suffix)], f"{group.name}_{task}"
            key = (ident, generator)
            if key in seen:
                raise DataError(f"{path}: duplicate video id {ident!r} ({generator}, {version}; "
                                f"also {seen[key]})")
            seen[key] = path
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            rows.append(dict(video_id=os.path.splitext(rel)[0], path=os.path.abspath(path),
                             label=int(generator != REAL), generator=generator, split=None,
                             source_id=ident, dataset=dataset, compression=version))
    return rows


def _apply_splits(root: str, rows: list[dict], log) -> list[dict]:
    files = split_files(os.path.join(root, "splits"), ".json", "SynthForensics")
    if files is None:
        log.note("SynthForensics: no splits/ folder; vbench draws a seeded split per source (ID)")
        return rows
    entries = [e for split, path in files.items() for e in json_id_entries(path, split)]
    split_of = assign(entries, {r["source_id"] for r in rows}, root)
    kept = []
    for row in rows:
        if row["source_id"] in split_of:
            kept.append({**row, "split": split_of[row["source_id"]]})
        else:
            log.skip("its ID is in no split file", row["path"])
    return kept


def read(root: str, options, log) -> list[dict]:
    """Rows of the chosen compression version(s); sources are the FF++/DFD ids."""
    _check_trees(root)
    versions = _versions(root, options.compression)
    name = options.dataset or "SynthForensics"
    rows = [row for version in versions for tree in TREES
            for row in _tree_rows(root, tree, version, f"{name}/{version}", log)]
    log.note(f"SynthForensics: compression version(s) {', '.join(versions)}, each its own dataset; "
             f"sources are the FF++/DFD ids: a real video, the fakes made from it (<ID>_...) and "
             f"every compression version of them are one source")
    return _apply_splits(root, rows, log)
