"""Real clips laid out as DecepTIV and SynthForensics lay out their releases (see
``layouts/deceptiv.py`` and ``layouts/synthforensics.py`` for the formats), called by
``tools/real_layouts.py``. ``clips`` are the real clips it cuts (``{"000": uint8 [T, S, S, 3]}``);
the generated videos are its transformations (``upsample``, ``flicker``), and what the datasets ship
beside the videos is made for real:

- DecepTIV's ``videos_pert/``: each video Gaussian-blurred (σ 1.5), given Gaussian noise (σ 6 grey
  levels, seeded by the video) and re-encoded with H.264 at CRF 32;
- SynthForensics' four compression versions: every video encoded with H.264 at CRF 0 (``raw``,
  lossless), 18 (``canonical``), 23 (``crf23``) and 40 (``crf40``).
"""
from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_layouts import flicker, split_of, upsample, write_mp4  # noqa: E402

CATEGORIES = ("Firefighter", "Weather")
VERSION_CRF = {"raw": 0, "canonical": 18, "crf23": 23, "crf40": 40}


def degrade(clip: np.ndarray, name: str) -> np.ndarray:
    """Blur and noise, as a perturbed copy: ``[T, H, W, 3]`` → same shape."""
    import cv2

    rng = np.random.default_rng(zlib.crc32(name.encode()))
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 1.5) for f in clip]).astype(np.float32)
    return np.clip(blurred + rng.normal(0, 6, clip.shape), 0, 255).astype(np.uint8)


def _deceptiv_category(out: Path, top: str, category: str, clips: dict, splits: dict | None) -> None:
    where = out / top / category
    for name, clip in clips.items():
        write_mp4(clip, where / "videos" / f"{name}.mp4")
        write_mp4(degrade(clip, f"{top}/{category}/{name}"), where / "videos_pert" / f"{name}.mp4",
                  crf=32)
    if splits is not None:
        (where / "splits").mkdir(parents=True, exist_ok=True)
        for split in ("train", "val", "test"):
            names = [n for n in clips if splits[n] == split]
            (where / "splits" / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))


def write_deceptiv(out: Path, clips: dict) -> None:
    """``{Real,upsample,flicker}/{Firefighter,Weather}/{splits,videos,videos_pert}``: clips
    alternate between the categories; ``upsample`` fakes share their real clip's name and split;
    ``flicker`` has no splits/ (test-only, as DecepTIV's closed-source generators)."""
    out = Path(out)
    splits = {name: split_of(name, len(clips)) for name in clips}
    for k, category in enumerate(CATEGORIES):
        mine = {n: c for i, (n, c) in enumerate(sorted(clips.items())) if i % 2 == k}
        _deceptiv_category(out, "Real", category, mine, splits)
        _deceptiv_category(out, "upsample", category, {n: upsample(c) for n, c in mine.items()}, splits)
        tests = {n: flicker(c, int(n)) for n, c in mine.items() if splits[n] == "test"}
        _deceptiv_category(out, "flicker", category, tests, None)


def write_synthforensics(out: Path, clips: dict) -> None:
    """``{Real,T2V,I2V}/videos/{raw,canonical,crf23,crf40}/...``, ``T2V|I2V/metadata/``, and
    FF++-style ``splits/{train,val,test}.json`` (pairs of ids): ``upsample`` is the T2V generator
    (every id), ``flicker`` the I2V one (odd ids)."""
    out, names = Path(out), sorted(clips)
    trees = {("Real", "FF++"): {n: (n, clips[n]) for n in names},
             ("T2V", "upsample"): {n: (f"{n}_upsample_t2v", upsample(clips[n])) for n in names},
             ("I2V", "flicker"): {n: (f"{n}_flicker_i2v", flicker(clips[n], int(n)))
                                  for n in names[1::2]}}
    for (tree, group), videos in trees.items():
        for ident, (stem, clip) in videos.items():
            for version, crf in VERSION_CRF.items():
                write_mp4(clip, out / tree / "videos" / version / group / f"{stem}.mp4", crf=crf)
            if tree != "Real":
                meta = out / tree / "metadata" / group / f"{stem}.json"
                meta.parent.mkdir(parents=True, exist_ok=True)
                meta.write_text(json.dumps({"id": ident, "source_dataset": "FF++",
                                            "generator": group, "task": tree}))
    (out / "splits").mkdir(parents=True, exist_ok=True)
    for split in ("train", "val", "test"):
        groups = [names[i:i + 2] for i in range(0, len(names), 2)]  # FF++ pairs (an odd one alone)
        pairs = [g for g in groups if split_of(g[0], len(names)) == split]
        (out / "splits" / f"{split}.json").write_text(json.dumps(pairs))
