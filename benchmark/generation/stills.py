"""Still images of the embedded corpus's content (the photographs scikit-image ships).

`sample_stills` draws camera views exactly as the vbench-mini corpus does (`sample_shot` +
`render_shot` of `benchmark.data.corpus_render`, one frame), labelled with their photograph;
`evaluation_stills` gives the photographs themselves, as a user would hand them in.
"""
from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np

from benchmark.data.corpus_render import PHOTOS, load_photo, render_shot, sample_shot


def sample_stills(seed: int, n: int, size: int, photos: Sequence[str] = PHOTOS
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random camera views of the photographs.

    Returns:
        float32 ``[n, size, size, 3]`` in [0, 1] and the photograph index (into `photos`) ``[n]``.
    """
    rng = np.random.default_rng([seed, zlib.crc32(b"stills"), size])
    images = np.empty((n, size, size, 3), np.float32)
    labels = np.empty(n, np.int64)
    for i in range(n):
        shot = sample_shot(rng, frames=1, size=size)
        while shot.photo not in photos:
            shot = sample_shot(rng, frames=1, size=size)
        images[i] = np.clip(render_shot(shot, 1, size)[0], 0, 1)
        labels[i] = list(photos).index(shot.photo)
    return images, labels


def evaluation_stills(n: int, exclude: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """The first ``n`` photographs not in ``exclude``, photo name → uint8 RGB ``[H, W, 3]``.

    Full size and uint8, as a user would hand in a saved image; the target's size rule brings
    them to the model's input.
    """
    names = [p for p in PHOTOS if p not in set(exclude)][:n]
    return {p: (load_photo(p) * 255).round().astype(np.uint8) for p in names}


def render_clips(seed: int, photos: Sequence[str], per_photo: int, frames: int, size: int,
                 noise: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``per_photo`` camera clips of each photograph, drawn as the corpus draws its shots.

    Args:
        noise: add the corpus's sensor noise (a "real" clip, as vbench-mini's real videos).

    Returns:
        float32 ``[len(photos) * per_photo, T, size, size, 3]`` in [0, 1] and the photograph index
        (into `photos`) of each clip.
    """
    from benchmark.data.corpus_generators import real_camera

    rng = np.random.default_rng([seed, zlib.crc32(b"clips"), size, frames])
    clips, labels = [], []
    for index, photo in enumerate(photos):
        done = 0
        while done < per_photo:
            shot = sample_shot(rng, frames, size)
            if shot.photo != photo:  # the corpus's own draw, kept when it shows this photograph
                continue
            clip = render_shot(shot, frames, size)
            clips.append(np.clip(real_camera(clip, rng) if noise else clip, 0, 1))
            labels.append(index)
            done += 1
    return np.stack(clips).astype(np.float32), np.asarray(labels, np.int64)
