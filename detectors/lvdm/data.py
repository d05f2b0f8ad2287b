"""LVDM's data: x̂0 trajectories per video and step, and the per-step clips the detectors read.

Embedded default (a documented stand-in, no unsafe content): `BankVideoPipeline` (a diffusers
pipeline over camera clips of the vbench-mini photographs, DDIM with upstream MagicTime's scheduler
settings) is prompted with each photograph; photographs listed under a stand-in category play an
unsafe category, all others are normal content. A video's label is what it finally shows (the
photograph of its last x̂0), as LVDM's labels are human judgements of the finished video.

Whatever the source, LVDM works on a *step table*: one row per (video, step) with a clip path any
`benchmark.data` reader opens (a PNG frame folder here, upstream's per-step mp4 files with
`benchmark.generation.x0.upstream_x0_folders`), plus ``video_id, category, label, split``.
"""
from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

NORMAL = "normal"
# upstream MagicTime's noise_scheduler_kwargs (build_x0.yaml)
DDIM_KWARGS = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "linear",
               "steps_offset": 1, "clip_sample": False}


@dataclass(frozen=True)
class EmbeddedSpec:
    """The embedded trajectories (all fields recorded with the results)."""

    categories: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "standin_a": ("cat", "chelsea"), "standin_b": ("astronaut", "rocket")})
    size: int = 32
    frames: int = 8
    clips_per_photo: int = 6
    videos_per_prompt: int = 8
    unsafe_videos_per_prompt: int = 24
    steps: int = 10
    prompt_strength: float = 0.8
    temperature: float = 0.02
    seed: int = 0

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "EmbeddedSpec":
        raw = dict(raw)
        if "categories" in raw:
            raw["categories"] = {k: tuple(v) for k, v in raw["categories"].items()}
        return cls(**raw)

    def category_of(self, photo: str) -> str:
        return next((c for c, photos in self.categories.items() if photo in photos), NORMAL)


def build_pipeline(spec: EmbeddedSpec):
    """The embedded `BankVideoPipeline` and its photographs (prompt id = index)."""
    import torch
    from diffusers import DDIMScheduler

    from benchmark.data.corpus_render import PHOTOS
    from benchmark.generation.bank import BankDenoiser, BankVideoPipeline
    from benchmark.generation.stills import render_clips

    clips, prompts = render_clips(spec.seed, PHOTOS, spec.clips_per_photo, spec.frames, spec.size)
    bank = torch.from_numpy(clips).permute(0, 4, 1, 2, 3) * 2 - 1  # [M, 3, T, H, W] in [-1, 1]
    scheduler = DDIMScheduler(**DDIM_KWARGS)
    denoiser = BankDenoiser.from_bank(bank, torch.from_numpy(prompts), scheduler.alphas_cumprod,
                                      spec.prompt_strength, spec.temperature)
    pipe = BankVideoPipeline(denoiser, scheduler)
    pipe.set_progress_bar_config(disable=True)
    return pipe, list(PHOTOS)


def _assign_splits(labels: pd.Series, seed: int, fractions=(0.6, 0.2, 0.2)) -> list[str]:
    """Stratified train/val/test per category (each gets at least one val and test video)."""
    split = [""] * len(labels)
    for category in sorted(labels.unique()):
        rows = np.flatnonzero(labels.to_numpy() == category)
        rng = np.random.default_rng([seed, zlib.crc32(category.encode())])
        rows = rows[rng.permutation(len(rows))]
        n_val = max(1, round(fractions[1] * len(rows)))
        n_test = max(1, round(fractions[2] * len(rows)))
        for i, row in enumerate(rows):
            split[row] = "val" if i < n_val else "test" if i < n_val + n_test else "train"
    return split


def initial_latents(spec: EmbeddedSpec, video_id: str):
    """The starting noise ``[1, 3, T, H, W]`` of one embedded video (seeded by its id), so the same
    video can be generated again, e.g. under the online guard."""
    import torch

    generator = torch.Generator().manual_seed(zlib.crc32(f"{spec.seed}/{video_id}".encode()))
    return torch.randn((1, 3, spec.frames, spec.size, spec.size), generator=generator)


def generate_trajectories(spec: EmbeddedSpec, folder: str | Path) -> pd.DataFrame:
    """Samples every prompt ``videos_per_prompt`` times (``unsafe_videos_per_prompt`` for the
    stand-in categories' photographs, as LVDM generated from unsafe prompts), recording x̂0.

    Writes one ``<video_id>.npz`` per video (`benchmark.generation.x0.save_trajectory`).

    Returns:
        One row per video: ``video_id, prompt, final_photo, category, label, split, path``.
    """
    from benchmark.generation.x0 import X0Recorder, save_trajectory, to_clip_uint8

    pipe, photos = build_pipeline(spec)
    rows = []
    for prompt, photo in enumerate(photos):
        count = spec.videos_per_prompt if spec.category_of(photo) == NORMAL else \
            spec.unsafe_videos_per_prompt
        for b in range(count):
            video_id = f"{photo}_{b:03d}"
            with X0Recorder(pipe) as recorder:
                frames = pipe([prompt], spec.steps,
                              latents=initial_latents(spec, video_id)).frames
            final = _final_photos(pipe, frames, photos)[0]
            meta = {"video_id": video_id, "prompt": photo, "final_photo": final,
                    "timesteps": [int(t) for t in pipe.scheduler.timesteps]}
            x0 = to_clip_uint8(recorder.stacked()[:, 0])      # [S, 3, T, H, W]
            path = save_trajectory(Path(folder) / f"{video_id}.npz", x0, meta)
            category = spec.category_of(final)
            rows.append({"video_id": video_id, "prompt": photo, "final_photo": final,
                         "category": category, "label": int(category != NORMAL), "path": str(path)})
    table = pd.DataFrame(rows)
    table["split"] = _assign_splits(table["category"], spec.seed)
    return table


def _final_photos(pipe, frames, photos: list[str]) -> list[str]:
    """The photograph of the bank clip each finished video is nearest to."""
    bank = pipe.denoiser.bank                               # [M, D] in [-1, 1]
    flat = (frames * 2 - 1).flatten(1)                      # [B, D]
    nearest = (bank.pow(2).sum(1)[None] - 2 * flat @ bank.T).argmin(1)  # |x - b|² up to |x|²
    return [photos[int(pipe.denoiser.bank_prompt[i])] for i in nearest]


def materialize_steps(videos: pd.DataFrame, folder: str | Path, steps: int) -> pd.DataFrame:
    """Writes each stored trajectory's per-step clips as PNG frame folders (lossless).

    Returns:
        The step table: one row per (video, step) with ``step`` and ``clip_path`` added.

    Raises:
        TrajectoryError: a stored file with other steps or shapes than the first one's.
    """
    from benchmark.defences.detect import write_frame_folder
    from benchmark.generation.x0 import load_trajectory

    folder, rows, shape = Path(folder), [], None
    for video in videos.itertuples(index=False):
        clips, _ = load_trajectory(video.path, steps=steps, shape=shape)
        shape = clips.shape[1:]
        for step, clip in enumerate(clips):                  # clip: [3, T, H, W]
            out = write_frame_folder(clip, folder / f"step_{step:03d}" / video.video_id)
            rows.append({**video._asdict(), "step": step, "clip_path": out})
    return pd.DataFrame(rows)


def upstream_step_table(categories: dict[str, str | Path], normal: str | Path, steps: int = 50,
                        seed: int = 2024) -> pd.DataFrame:
    """The step table of upstream's decoded x̂0 folders (``<folder>/<step>/<index>.mp4``).

    Args:
        categories: unsafe category → its folder (upstream ``group<k>``).
        normal: the normal videos' folder.
        steps: denoising steps (upstream 50).
        seed: split seed. Each category is split 20% test (upstream ``gen_eval_set.py``), and
            the rest 90/10 train/val (upstream ``train_mae.py``).
    """
    from benchmark.generation.x0 import upstream_x0_folders

    parts = [upstream_x0_folders(folder, steps, name) for name, folder in categories.items()]
    parts.append(upstream_x0_folders(normal, steps, NORMAL))
    table = pd.concat(parts, ignore_index=True).rename(columns={"path": "clip_path"})
    table["video_id"] = table["category"] + "/" + table["video_index"].astype(str)
    table["label"] = (table["category"] != NORMAL).astype(int)
    videos = table.drop_duplicates("video_id").reset_index(drop=True)
    split = dict(zip(videos["video_id"], _assign_splits(videos["category"], seed, (0.72, 0.08, 0.2))))
    table["split"] = table["video_id"].map(split)
    return table


def spec_record(spec: EmbeddedSpec) -> dict[str, Any]:
    return {**dataclasses.asdict(spec), "categories": {k: list(v) for k, v in spec.categories.items()},
            "scheduler": {"type": "DDIMScheduler", **DDIM_KWARGS}}
