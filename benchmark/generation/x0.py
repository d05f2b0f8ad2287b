"""Recording the predicted clean sample x̂0 at every denoising step of a diffusers pipeline.

diffusers' ``callback_on_step_end`` hands callbacks the latents x_{t-1}, not x̂0. The schedulers
that compute x̂0 return it from ``step`` (``pred_original_sample``: DDIM, DDPM, Euler, Euler
ancestral, LMS …), so `X0Recorder` wraps the scheduler instance's ``step`` for the duration of a
call and keeps what each call returned. That works for any pipeline, needs no change to it, and
records the x̂0 of the very step that produced the next latents. (Upstream's MagicTime pipeline calls
``step`` a second time with the already-updated latents to read x̂0, which gives the x̂0 of another
sample; see detectors/lvdm/README.md.)

Stored trajectories (one ``.npz`` per video): keys ``step_000`` … (uint8 clips ``[3, T, H, W]`` of
the decoded x̂0 at that step) and ``meta`` (JSON). `load_trajectory` checks the number of steps and
each step's shape, naming the file and the step. Upstream's own layouts are read by
`read_upstream_pred_x0` (``pred_x0.pth``) and `upstream_x0_folders` (decoded per-step videos).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmark.errors import TrajectoryError

X0_SCHEDULERS = "DDIMScheduler, DDPMScheduler, EulerDiscreteScheduler, " \
                "EulerAncestralDiscreteScheduler, LMSDiscreteScheduler"


def _pred_original(out: Any, scheduler) -> Any:
    x0 = getattr(out, "pred_original_sample", None)
    if x0 is None and isinstance(out, tuple) and len(out) > 1:
        x0 = out[1]
    if x0 is None:
        raise TrajectoryError(f"scheduler {type(scheduler).__name__}.step returns no "
                              f"pred_original_sample, so x̂0 cannot be recorded; use a scheduler "
                              f"that does ({X0_SCHEDULERS})")
    return x0


class X0Recorder:
    """Context manager: records x̂0 of every ``scheduler.step`` call of a pipeline.

    Example::

        with X0Recorder(pipe) as rec:
            pipe(...)
        rec.stacked()  # [S, B, ...] on the CPU

    Args:
        pipe: any diffusers pipeline with a ``scheduler``.
        on_step: optional ``f(step_index, x0)`` called right after each step (the online guard).
    """

    def __init__(self, pipe, on_step: Callable[[int, Any], None] | None = None):
        self.pipe, self.on_step = pipe, on_step
        self.steps: list = []

    def __enter__(self) -> "X0Recorder":
        scheduler = self.pipe.scheduler
        original = scheduler.step

        def step(*args, **kwargs):
            out = original(*args, **kwargs)
            x0 = _pred_original(out, scheduler).detach().to("cpu", copy=True)
            self.steps.append(x0)
            if self.on_step is not None:
                self.on_step(len(self.steps) - 1, x0)
            return out

        scheduler.step = step  # an instance attribute shadows the class's method
        return self

    def __exit__(self, *exc) -> None:
        vars(self.pipe.scheduler).pop("step", None)

    def stacked(self):
        """The recorded x̂0, ``[S, B, ...]``."""
        import torch

        if not self.steps:
            raise TrajectoryError("no denoising step was recorded")
        return torch.stack(self.steps)


def to_clip_uint8(x0) -> np.ndarray:
    """Pixel-space x̂0 in [-1, 1], ``[..., 3, T, H, W]`` → uint8 (clipped, rounded)."""
    import torch

    return ((x0.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()


def save_trajectory(path: str | Path, clips: np.ndarray, meta: dict[str, Any]) -> Path:
    """Writes one video's decoded x̂0 per step.

    Args:
        path: the ``.npz`` file.
        clips: uint8 ``[S, 3, T, H, W]``.
        meta: JSON-able facts (video id, prompt, label, timesteps …).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"step_{i:03d}": np.ascontiguousarray(c) for i, c in enumerate(clips)}
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    return path


def load_trajectory(path: str | Path, steps: int | None = None,
                    shape: tuple[int, ...] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Reads a stored trajectory, checking it.

    Args:
        path: a file written by `save_trajectory`.
        steps: the number of denoising steps expected (None: any).
        shape: the expected clip shape ``(3, T, H, W)`` of every step (None: the first step's).

    Returns:
        uint8 ``[S, 3, T, H, W]`` and the meta dict.

    Raises:
        TrajectoryError: unreadable file, missing step, wrong step count or shape (file and step
            named).
    """
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise TrajectoryError(f"x̂0 file {path}: cannot be read ({exc})") from exc
    with data:
        names = sorted(n for n in data.files if re.fullmatch(r"step_\d{3}", n))
        found = [int(n[5:]) for n in names]
        if found != list(range(len(found))):
            missing = sorted(set(range(max(found, default=-1) + 1)) - set(found))
            raise TrajectoryError(f"x̂0 file {path}: step {missing[0] if missing else 0} is missing")
        if steps is not None and len(found) != steps:
            raise TrajectoryError(f"x̂0 file {path}: expected {steps} steps, found {len(found)} "
                                  f"(steps 0..{len(found) - 1})")
        clips = [data[n] for n in names]
        meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
    want = tuple(shape) if shape is not None else (clips[0].shape if clips else None)
    for index, clip in enumerate(clips):
        if clip.shape != want or clip.dtype != np.uint8:
            raise TrajectoryError(f"x̂0 file {path}: step {index} holds {clip.dtype} {clip.shape}, "
                                  f"expected uint8 {want}")
    return np.stack(clips), meta


def read_upstream_pred_x0(path: str | Path, steps: int = 50,
                          shape: tuple[int, ...] | None = None):
    """Upstream's ``pred_x0.pth``: the x̂0 latents of every video and step.

    MagicTime's modified pipeline stacks, per video, one ``[C, T, h, w]`` latent per step, and
    ``inference_magictime.py`` stacks the videos: ``[N, S, C, T, h, w]`` (S = 50 DDIM steps; index 0
    the first, noisiest step). A list of videos, each ``[S, C, T, h, w]`` or a list of per-step
    ``[C, T, h, w]`` tensors (before stacking), is accepted too.

    Raises:
        TrajectoryError: naming the file, the video and the step that do not match.
    """
    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise TrajectoryError(f"x̂0 file {path}: cannot be read ({exc})") from exc
    videos = list(data) if isinstance(data, (list, tuple)) or getattr(data, "ndim", 0) == 6 else None
    if videos is None:
        raise TrajectoryError(f"x̂0 file {path}: expected a tensor [N, S, C, T, h, w] or a list of "
                              f"[S, C, T, h, w], got {getattr(data, 'shape', type(data).__name__)}")
    want = tuple(shape) if shape is not None else tuple(videos[0][0].shape)
    for v, video in enumerate(videos):
        if len(video) != steps:
            raise TrajectoryError(f"x̂0 file {path}: video {v} has {len(video)} steps, expected "
                                  f"{steps} steps of {want}")
        for s, x0 in enumerate(video):
            if tuple(x0.shape) != want:
                raise TrajectoryError(f"x̂0 file {path}: video {v} step {s} has shape "
                                      f"{tuple(x0.shape)}, expected {want}")
    return torch.stack([torch.stack(list(v)) for v in videos])  # [N, S, C, T, h, w]


def upstream_x0_folders(root: str | Path, steps: int = 50, category: str | None = None):
    """Upstream's decoded x̂0 videos: ``<root>/<step>/<video index>.mp4`` per category folder.

    ``build_x0.py`` writes ``trained_detector_data/<category>/<step>/<index>.mp4`` for unsafe
    videos (``train_mae.py`` reads category folders named ``group<k>``), and normal videos live in
    ``<normal dir>/<step>/<index>.mp4``. Give one such folder; every video must have every step.

    Returns:
        A DataFrame ``category, video_index, step, path`` (one row per video and step).

    Raises:
        TrajectoryError: a step folder missing, or a video missing at some step (file and step named).
    """
    import pandas as pd

    root = Path(root)
    rows, per_step = [], {}
    for step in range(steps):
        folder = root / str(step)
        if not folder.is_dir():
            raise TrajectoryError(f"x̂0 folder {root}: step {step} is missing ({folder})")
        per_step[step] = {int(p.stem): p for p in folder.glob("*.mp4") if p.stem.isdigit()}
    every = set().union(*per_step.values())
    for step, files in per_step.items():
        missing = sorted(every - set(files))
        if missing:
            raise TrajectoryError(f"x̂0 folder {root}: video {missing[0]} has no file at step {step} "
                                  f"({root / str(step) / f'{missing[0]}.mp4'})")
        rows += [{"category": category or root.name, "video_index": i, "step": step, "path": str(p)}
                 for i, p in sorted(files.items())]
    return pd.DataFrame(rows, columns=["category", "video_index", "step", "path"])
