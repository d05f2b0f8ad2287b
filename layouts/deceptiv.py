"""DecepTIV (Stamnas et al., "DecepTIV: Learning to Detect T2V and I2V Videos", 2025): the folder
layout of its dataset release (huggingface.co/datasets/sotossta/DecepTIV), as described in the
README of github.com/sotossta/DecepTIV and read by its ``classification/utils.py`` (``get_dirs``;
stored copy at commit 07f16c7):

    {root}/{generator | Real}/{category}/splits/{train,val,test}.txt   one video name per line
                                        /videos/<name>.mp4
                                        /videos_pert/<name>.mp4       the perturbed copy

The categories are Firefighter, Soldier and Weather (any other folder holding ``videos/`` is read
as a category too: the pipeline is meant to be extended). Labels: ``Real`` (and ``--real-dirs``)
holds real videos; every other top folder is a generator, named as the dataset names it
(``HunyuanVideo``, ``EasyAnimate_I2V``, ...). A category without a ``splits/`` folder is test-only
(upstream: the closed-source generators serve only as test sets); a ``splits/`` folder must hold
all three files.

Each video's perturbed copy is carried in the ``perturbed_path`` column (empty when the video has
none), so the ``robustness`` protocol can score it beside the clean video with
``--option dataset_perturbations=true``.
"""
from __future__ import annotations

import os
from dataclasses import replace

from benchmark.api import REAL, DataError, is_real_name, subdirs
from layouts._split_files import assign, check_label_folder, name_entries, split_files

CLEAN, PERTURBED, SPLIT_DIR = "videos", "videos_pert", "splits"
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


READS = ("{generator|Real}/{category}/splits/{train,val,test}.txt (one name per line, read as "
         "numpy.loadtxt does) beside videos/ and videos_pert/, the release layout read by DecepTIV's "
         "classification/utils.py get_dirs (commit 07f16c7)")
SOURCES = ("source_id = (category, video name): a fake named like the real video of its "
           "category that it was conditioned on joins it")


def register(plugin) -> None:
    plugin.layout("deceptiv", "layouts.deceptiv:read",
                  "DecepTIV: {root}/{generator|Real}/{category}/{splits/{train,val,test}.txt, "
                  "videos/, videos_pert/}; the perturbed copies go to column perturbed_path",
                  detect="layouts.deceptiv:detect", priority=25, reads=READS, sources=SOURCES)


def _categories(root: str) -> list[tuple[str, str, str]]:
    """(top folder, category, category path) of every ``{top}/{category}/videos/`` folder."""
    return [(top.name, cat.name, cat.path) for top in subdirs(root) for cat in subdirs(top.path)
            if os.path.isdir(os.path.join(cat.path, CLEAN))]


def detect(path: str) -> bool:
    """``{top}/{category}/videos/`` with ``splits/`` or ``videos_pert/`` beside it."""
    return os.path.isdir(path) and any(
        os.path.isdir(os.path.join(cat, SPLIT_DIR)) or os.path.isdir(os.path.join(cat, PERTURBED))
        for _, _, cat in _categories(path))


def _videos(folder: str, log) -> dict[str, str]:
    """{stem: path} of the video files in ``folder``.

    Raises:
        DataError: two files with one stem (``a.mp4`` and ``a.avi``: the same video id).
    """
    found: dict[str, str] = {}
    if not os.path.isdir(folder):
        return found
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        stem, ext = os.path.splitext(entry.name)
        if not entry.is_file() or entry.name.startswith("."):
            continue
        if ext.lower() not in VIDEO_EXTS:
            log.skip(f"not a video (extension {ext or '(none)'})", entry.path)
            continue
        if stem in found:
            raise DataError(f"{entry.path}: duplicate video id {stem!r} (also {found[stem]})")
        found[stem] = entry.path
    return found


def _splits(cat_path: str, names: set[str]) -> dict[str, str]:
    files = split_files(os.path.join(cat_path, SPLIT_DIR), ".txt", "a DecepTIV category's splits/")
    if files is None:
        return {name: "test" for name in names}
    entries = [replace(e, name=os.path.splitext(e.name)[0]) if e.name.lower().endswith(VIDEO_EXTS)
               else e for split, path in files.items() for e in name_entries(path, split)]
    return assign(entries, names, os.path.join(cat_path, CLEAN))


def _rows(top: str, category: str, cat_path: str, options, log) -> list[dict]:
    generator = REAL if top == "Real" or is_real_name(top, options.real_dirs) else top
    if generator != REAL:
        check_label_folder(os.path.dirname(cat_path), "DecepTIV's top folders are Real and one "
                           "per generator, named by model: HunyuanVideo, EasyAnimate_I2V, ...")
    clean = _videos(os.path.join(cat_path, CLEAN), log)
    perturbed = _videos(os.path.join(cat_path, PERTURBED), log)
    split_of = _splits(cat_path, set(clean))
    # A test-only category's fakes may come from reals that train: they are not joined to them by
    # the layout (that would refuse upstream's own protocol); names still pair them within a split.
    test_only = not os.path.isdir(os.path.join(cat_path, SPLIT_DIR))
    rows = []
    for stem, path in clean.items():
        if stem not in split_of:
            log.skip("listed in no split file of its category", path)
            continue
        vid = f"{top}/{category}/{CLEAN}/{stem}"
        rows.append(dict(video_id=vid, path=os.path.abspath(path),
                         label=int(generator != REAL), generator=generator, split=split_of[stem],
                         # the real video a fake was conditioned on shares its name and category
                         source_id=vid if test_only else f"{category}/{stem}", dataset=options.dataset or "DecepTIV",
                         category=category, perturbed_path=os.path.abspath(perturbed[stem])
                         if stem in perturbed else ""))
    for stem in sorted(set(perturbed) - set(clean)):
        log.skip("a perturbed copy without its clean video", perturbed[stem])
    return rows


def read(root: str, options, log) -> list[dict]:
    """Rows of every ``{top}/{category}/videos/`` video, with its official split and perturbed copy."""
    rows, test_only = [], []
    for top, category, cat_path in _categories(root):
        rows += _rows(top, category, cat_path, options, log)
        if not os.path.isdir(os.path.join(cat_path, SPLIT_DIR)):
            test_only.append(f"{top}/{category}")
    n_pert = sum(bool(r["perturbed_path"]) for r in rows)
    log.note(f"DecepTIV: sources are (category, video name): a fake named like the real video it "
             f"was conditioned on joins it; {n_pert} of {len(rows)} videos have a perturbed copy "
             f"in videos_pert/ (column perturbed_path; robustness "
             f"--option dataset_perturbations=true scores them)")
    if test_only:
        log.note(f"DecepTIV: no splits/ folder, so test-only (joined to reals by name within the "
                 f"test split only): {', '.join(test_only)}")
    return rows
