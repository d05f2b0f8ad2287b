"""Finding videos in folders, and the log of what a reader skipped and why.

A video is a video file (`VIDEO_EXTS`), a frame folder (a folder that directly holds `IMAGE_EXTS`
images), or a group of loose images in a class folder whose names say which video they come from
(``clip7_0001.jpg``, ``clip7_0002.jpg`` → the frame set ``clip7_*``; see `group_images`).
"""
from __future__ import annotations

import glob
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from benchmark.data.video import IMAGE_EXTS, VIDEO_EXTS, natural_key

SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val",
               "validation": "val", "test": "test", "testing": "test"}
# Folder (or label) names that hold real videos; `is_real_name` also accepts any name with a
# separate "real" part (0_real, FF-real, real_videos). --real-dirs adds more.
REAL = "real"  # the generator name of real videos (manifests, layouts)
REAL_FOLDER_NAMES = ("real", "reals", "real_videos", "realvideos", "internvid", "original",
                     "originals", "pristine", "authentic", "genuine")
_REAL_PART = re.compile(r"(^|[^a-z])real($|[^a-z])")
# <video>_<frame>, <video>-<frame>, <video>_frame<frame>: the last number is the frame
# (greedy, so FF++ fakes 000_003_12.jpg are frame 12 of 000_003).
_FRAME_NAME = re.compile(r"(?P<video>.+)(?P<sep>[_-])(?:frame|frm|f)?(?P<frame>\d+)")
_SHOWN = 3  # examples kept per skip reason


@dataclass
class ReadLog:
    """What a reader skipped, merged or assumed; `benchmark.data.inspect` prints it.

    Attributes:
        skipped: reason → (count, up to 3 example paths).
        notes: one line per assumption worth telling the user (e.g. a set folder read as a dataset).
        merged: (kept video id, dropped video ids, why) for videos found twice.
        grouping: how videos were grouped into sources (set by `benchmark.data.sources`).
        splitting: how splits were made (likewise).
    """

    skipped: dict[str, list] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    merged: list[tuple[str, list[str], str]] = field(default_factory=list)
    grouping: str = ""
    splitting: str = ""

    def skip(self, reason: str, path: str) -> None:
        count, examples = self.skipped.setdefault(reason, [0, []])
        self.skipped[reason][0] = count + 1
        if len(examples) < _SHOWN:
            examples.append(str(path))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    @property
    def n_skipped(self) -> int:
        return sum(count for count, _ in self.skipped.values())


def is_real_name(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a folder or label name denotes real videos (``real_videos``, ``FF-real``, ``0_real``).

    Args:
        name: the folder or label name.
        extra: more names that are real (``--real-dirs``), compared case-insensitively.
    """
    low = name.lower()
    if low in REAL_FOLDER_NAMES or low in {e.lower() for e in extra}:
        return True
    return bool(_REAL_PART.search(low))


def subdirs(folder: str) -> list[os.DirEntry]:
    """Visible subfolders in natural order."""
    return sorted((e for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")),
                  key=lambda e: natural_key(e.name))


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTS)


def group_images(names: list[str], rule: str = "auto") -> tuple[dict[str, list[str]], bool]:
    """Loose image names → {frame-set pattern or image name: member names}, and whether grouped.

    With ``rule="auto"`` names ``<video>_<frame>.<ext>`` group by ``<video>`` when at least one
    video has two or more frames; an image whose name has no frame number stays on its own. When
    no two images share a video (or ``rule="each"``), every image is its own one-frame video.
    The pattern (``glob.escape(video) + sep + "*"``) is what `benchmark.data.video.open_video`
    reads; a group whose pattern would also match another group's images is split into images.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        match = _FRAME_NAME.fullmatch(os.path.splitext(name)[0])
        key = glob.escape(match["video"]) + match["sep"] + "*" if match else name
        groups[key].append(name)
    if rule == "each" or all(len(members) < 2 for members in groups.values()):
        return {name: [name] for name in names}, False
    import fnmatch

    out: dict[str, list[str]] = {}
    for key, members in groups.items():
        if len(members) > 1 and len(fnmatch.filter(names, key)) != len(members):
            out.update({name: [name] for name in members})  # ambiguous pattern: keep images apart
        else:
            out[key] = sorted(members, key=natural_key)
    return out, True


def _check_utf8(folder: str, names: list[str]) -> None:
    """Names with bytes that are not UTF-8 (decoded by Python as surrogates) cannot go into a
    manifest, score table or report: refuse them here, naming them, rather than fail later."""
    bad = []
    for name in names:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            bad.append(name)
    if bad:
        from benchmark.errors import DataError

        shown = ", ".join(repr(os.path.join(folder, n)) for n in bad[:5])
        raise DataError(f"{len(bad)} file name(s) in {folder!r} are not valid UTF-8: {shown}; "
                        f"rename them (e.g. with convmv) and run again")


def iter_videos(folder: str, log: ReadLog | None = None, images: str = "auto") -> Iterator[str]:
    """Video files, frame folders and loose-image videos under ``folder``, in natural order.

    Loose images directly in ``folder`` are grouped by `group_images` (frame-set paths
    ``folder/<video>_*``, or one path per image). Files that are neither videos nor images are
    recorded in ``log`` as skipped.
    """
    log = log if log is not None else ReadLog()
    for here, dirs, files in os.walk(folder):
        _check_utf8(here, dirs + files)
        dirs[:] = sorted((d for d in dirs if not d.startswith(".")), key=natural_key)
        files = sorted((f for f in files if not f.startswith(".")), key=natural_key)
        images_here = [f for f in files if _is_image(f)]
        if here != folder and images_here:
            yield here  # a frame folder: its images are frames, not videos
            dirs[:] = []
            continue
        for name in files:
            if not name.lower().endswith(VIDEO_EXTS + IMAGE_EXTS):
                ext = os.path.splitext(name)[1] or "(none)"
                log.skip(f"not a video or image (extension {ext})", os.path.join(here, name))
        yield from (os.path.join(here, f) for f in files if f.lower().endswith(VIDEO_EXTS))
        if images_here:
            yield from _loose_images(here, images_here, log, images)


def _loose_images(folder: str, names: list[str], log: ReadLog, rule: str) -> Iterator[str]:
    groups, grouped = group_images(names, rule)
    if not grouped and rule == "auto" and len(names) > 1:
        log.note(f"{folder}: {len(names)} loose images whose names do not say which video they "
                 f"come from (expected <video>_<frame>.jpg) are read as one-frame videos")
    elif grouped:
        singles = sum(len(m) == 1 for m in groups.values())
        log.note(f"{folder}: {len(names)} loose images grouped by name into {len(groups) - singles} "
                 f"videos (<video>_<frame>.jpg)" + (f"; {singles} ungrouped image(s) are one-frame "
                                                    f"videos" if singles else ""))
    for key in sorted(groups, key=natural_key):
        yield os.path.join(folder, key)


def find_videos(folder: str, log: ReadLog | None = None, images: str = "auto") -> list[str]:
    """All of `iter_videos`."""
    return list(iter_videos(folder, log, images))


def video_id(root: str, path: str) -> str:
    """Path relative to ``root`` with ``/`` separators, without a video file's extension."""
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    if rel.endswith("*"):  # a frame set <video>_* → <video>
        return re.sub(r"\[(.)\]", r"\1", rel[:-2])
    return rel if os.path.isdir(path) else os.path.splitext(rel)[0]


def video_stem(vid: str) -> str:
    """The last part of a video id (the file, folder or frame-set name)."""
    return vid.rsplit("/", 1)[-1]


def duplicate_names(values: Iterable[str]) -> list[str]:
    """Values that occur more than once."""
    return sorted(v for v, n in Counter(values).items() if n > 1)
