"""Applying a perturbation to decoded frames, and videos whose frames come out perturbed.

`apply` runs the steps of one (perturbation, level) on uint8 frames. `PerturbedVideo` wraps an open
video (`benchmark.data.video.open_video`) or decoded frames (`DecodedVideo`) and has the same
interface (``num_frames``, ``info``, ``read(indices)``, ``close()``), so a clip reader that reads
through it samples, computes flow, finds faces and crops on the perturbed frames.

Randomness: ``rng`` gives one base seed; a random step that works frame by frame seeds frame i from
(base, step, i), so a frame gets the same noise whether it is perturbed alone or with the whole
video, and readers that decode different frames of a video agree on the ones they share.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from benchmark.data.video import VideoInfo
from benchmark.errors import VBenchError
from benchmark.perturb.config import PerturbationSet, Step, default_set, perturbation_seed
from benchmark.perturb.errors import PerturbationError
from benchmark.perturb.functions import FunctionSpec, function_spec, get_function


def _step_rng(base: int, *path: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(base, spawn_key=tuple(path)))


def check_frames(frames: Any, where: str) -> np.ndarray:
    """``frames`` if it is uint8 ``[T >= 1, H, W, 3]``; otherwise a `ValueError` saying what came."""
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 4 \
            or frames.shape[-1] != 3 or frames.shape[0] < 1:
        got = f"{type(frames).__name__} {getattr(frames, 'dtype', '')} {getattr(frames, 'shape', '')}"
        raise ValueError(f"{where}: expected uint8 RGB frames [T>=1, H, W, 3], got {got}")
    return frames


def _run_step(frames: np.ndarray, step: Step, spec: FunctionSpec, base: int, index: int,
              frame_ids: np.ndarray) -> np.ndarray:
    fn = get_function(step.fn)
    if spec.random and spec.scope == "frame":  # one generator per frame: see the module docstring
        parts = [fn(frames[i: i + 1], _step_rng(base, index, int(f)), **step.kwargs)
                 for i, f in enumerate(frame_ids)]
        return np.concatenate(parts)
    return fn(frames, _step_rng(base, index), **step.kwargs)


def _check_output(out: Any, before: np.ndarray, step: Step, spec: FunctionSpec, where: str) -> None:
    """Holds each function to its declaration: only declared changes of frame count and size."""
    check_frames(out, f"{where}: output of '{step.fn}'")
    if "frames" not in spec.changes and len(out) != len(before):
        raise RuntimeError(f"{where}: '{step.fn}' changed the frame count {len(before)} -> "
                           f"{len(out)} without declaring changes=('frames',)")
    if "size" not in spec.changes and out.shape[1:3] != before.shape[1:3]:
        raise RuntimeError(f"{where}: '{step.fn}' changed the frame size {before.shape[1:3]} -> "
                           f"{out.shape[1:3]} without declaring changes=('size',)")


def apply(frames: np.ndarray, perturbation: str, level: int, rng: np.random.Generator,
          pset: PerturbationSet | None = None, frame_ids: Sequence[int] | None = None) -> np.ndarray:
    """Applies level ``level`` of ``perturbation`` to uint8 RGB frames.

    Args:
        frames: uint8 ``[T, H, W, 3]``; the whole video for perturbations of scope ``video``.
        perturbation: a name in ``pset``.
        level: 1..L.
        rng: e.g. `benchmark.perturb.config.perturbation_rng` (video id, perturbation, level).
        pset: the perturbation set; the default one when None.
        frame_ids: the index of each frame in its video (default ``0..T-1``); seeds per-frame noise.

    Returns:
        uint8 ``[T', H', W', 3]``; T' and H', W' differ from the input only for perturbations
        that declare it (frame-rate change, crop without restore, platform resolution).

    Raises:
        PerturbationError: the perturbation cannot apply to these frames (a per-video failure).
    """
    pset = pset or default_set()
    steps = pset.get(perturbation).steps(level)
    where = f"'{perturbation}' level {level}"
    out = check_frames(frames, where)
    ids = np.arange(len(out)) if frame_ids is None else np.asarray(frame_ids, np.int64)
    if len(ids) != len(out):
        raise ValueError(f"{where}: {len(ids)} frame_ids for {len(out)} frames")
    base = int(rng.integers(2 ** 63))
    for index, step in enumerate(steps):
        spec = function_spec(step.fn)
        try:
            new = _run_step(out, step, spec, base, index, ids)
        except PerturbationError as error:
            raise PerturbationError(f"{where} ({error.perturbation})", error.detail) from None
        except VBenchError:
            raise
        except Exception as error:  # encoders and OpenCV raise many types; one video must not stop a run
            raise PerturbationError(where, f"{step.fn}: {type(error).__name__}: {error}") from error
        _check_output(new, out, step, spec, where)
        if spec.scope == "video":  # frames are renumbered from here on
            ids = np.arange(len(new))
        out = new
    return out


class DecodedVideo:
    """Frames already in memory with the interface of `benchmark.data.video.open_video`'s result,
    so a video decoded once can be read under every perturbation.

    Args:
        frames: uint8 ``[T, H, W, 3]``, the whole video.
        path: named in errors.
        fps: the source's frame rate (0.0 if unknown).
    """

    def __init__(self, frames: np.ndarray, path: str = "<memory>", fps: float = 0.0):
        self.frames = check_frames(frames, path)
        self.path, self.fps = path, float(fps)
        self.num_frames = len(frames)

    @property
    def info(self) -> VideoInfo:
        return VideoInfo(self.num_frames, self.frames.shape[1], self.frames.shape[2], self.fps)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` ``[T, H, W, 3]`` (a copy)."""
        from benchmark.data.video import _check_indices

        return self.frames[_check_indices(self.path, indices, self.num_frames)]

    def close(self) -> None:
        """Nothing to release (the frames stay with their owner)."""


class PerturbedVideo:
    """A video read through one (perturbation, level).

    Per-frame perturbations that keep the frame count touch only the frames read; the others
    (encoders, frame-rate change, chains with them) decode the whole source once, on first use,
    and keep the result.

    Args:
        source: an open video (`benchmark.data.video.open_video`) or a `DecodedVideo`.
        perturbation: a name in ``pset``.
        level: 1..L.
        seed: e.g. `benchmark.perturb.config.perturbation_seed` (video id, perturbation, level).
        pset: the perturbation set; the default one when None.
    """

    def __init__(self, source, perturbation: str, level: int, seed: int,
                 pset: PerturbationSet | None = None):
        self.source, self.perturbation, self.level, self.seed = source, perturbation, level, seed
        self.pset = pset or default_set()
        entry = self.pset.get(perturbation)
        entry.steps(level)  # a bad level fails here, before any decoding
        self.path = getattr(source, "path", "<video>")
        self.whole_video = entry.scope == "video" or "frames" in entry.changes
        self._frames: np.ndarray | None = None

    @property
    def identity(self) -> dict[str, Any]:
        """What makes these frames differ from the source's: for cache keys (e.g. flow caches)."""
        return {"perturbation": self.perturbation, "level": self.level, "seed": self.seed,
                "key": self.pset.key(self.perturbation, self.level)}

    def _apply(self, frames: np.ndarray, frame_ids: Sequence[int] | None) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        try:
            return apply(frames, self.perturbation, self.level, rng, self.pset, frame_ids)
        except PerturbationError as error:
            raise PerturbationError(error.perturbation, error.detail, self.path) from None

    def _whole(self) -> np.ndarray:
        if self._frames is None:
            self._frames = self._apply(self.source.read(range(self.source.num_frames)), None)
        return self._frames

    @property
    def num_frames(self) -> int:
        return len(self._whole()) if self.whole_video else self.source.num_frames

    @property
    def info(self) -> VideoInfo:
        base = self.source.info
        height, width = self.read([0]).shape[1:3]
        fps = base.fps * self.num_frames / base.num_frames if self.whole_video else base.fps
        return VideoInfo(self.num_frames, height, width, fps)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Perturbed frames at ``indices`` (indices of the perturbed video), ``[T, H', W', 3]``."""
        from benchmark.data.video import _check_indices

        if self.whole_video:
            frames = self._whole()
            return frames[_check_indices(self.path, indices, len(frames))]
        wanted = _check_indices(self.path, indices, self.source.num_frames)
        return self._apply(self.source.read(wanted), wanted)

    def close(self) -> None:
        """Closes the source and drops the perturbed frames."""
        self.source.close()
        self._frames = None


def open_perturbed(path: str, video_id: str, perturbation: str, level: int,
                   pset: PerturbationSet | None = None) -> PerturbedVideo:
    """`benchmark.data.video.open_video` seen through (perturbation, level), seeded by the video id."""
    from benchmark.data.video import open_video

    return PerturbedVideo(open_video(path), perturbation, level,
                          perturbation_seed(video_id, perturbation, level), pset)
