"""Clip datasets: manifest rows -> uint8 clips ``[K, 3, T, H, W]``, failures reported, not raised.

Workers ship uint8 bytes; normalisation happens in the model's data preprocessor. Spatial work is
done on uint8 frames (`benchmark.data.spatial`), once per distinct frame (clips may share frames).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from benchmark.data import video as video_io
from benchmark.data.sampling import sample_clips
from benchmark.data.spatial import center_crop_pad, spatial  # noqa: F401  (re-exported)
from benchmark.data.spec import InputSpec
from benchmark.errors import VideoDecodeError


class ClipReader:
    """Reads the clips of one video as the detector's input spec asks: decode, sample, crop/resize.

    Runs inside DataLoader workers, so it holds no model, only plain settings (picklable).
    Detectors that need more per video (optical flow, face crops) subclass it and return it from
    `benchmark.detector.Detector.clip_reader`; the output may then have more frames per clip
    (``T'``), but keeps 3 channels so the data preprocessor normalises every frame alike.

    Stages, in this order for every reader: `load` decodes frames from the file (the one place
    they come from; anything that must see the decoded frames, such as a perturbation, belongs
    there), then face finding or flow where the method has them, then the spatial transform.
    An input ``preset`` (`benchmark.data.presets`) may replace what counts as the video's frames,
    e.g. DeepfakeBench's aligned face crops of 32 frames.

    Args:
        spec: the input spec (frames, sampling, clips, stride, size, resize, interpolation, preset).
        augment: training only: a `benchmark.data.augment.Augmentation` applied to the frames of
            each read (one parameter draw per clip; training reads one clip per video).
    """

    def __init__(self, spec: InputSpec, augment=None):
        self.spec = spec
        self.augment = augment
        self.opener = None  # set per read by ClipDataset for perturbed views (robustness)

    def open(self, path: str):
        """The video every reader reads from: the file, or (robustness) a perturbed view of it,
        so that everything after decoding — faces, optical flow, resizing — sees the same
        frames. Perturbations are applied here and nowhere else."""
        return self.opener(path) if self.opener is not None else video_io.open_video(path)

    def frame_indices(self, num_frames: int, rng: np.random.Generator | None) -> np.ndarray:
        """The frame indices of the clips, ``[K, T]`` (raises `VideoDecodeError` if too short)."""
        spec = self.spec
        return sample_clips(num_frames, spec.frames, spec.sampling, spec.num_clips, spec.stride, rng)

    def load(self, video, indices: np.ndarray) -> np.ndarray:
        """Decoded frames at ``indices`` (any order, repeats allowed), uint8 RGB ``[F, H, W, 3]``
        at the video's own resolution."""
        return video.read(indices)

    def read_frames(self, path: str, rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
        """Decodes the distinct frames the clips need, resized to the spec.

        Returns:
            frames uint8 ``[F, S, S, 3]`` and ``index`` ``[K, T]`` into them.
        """
        video = self.open(path)
        try:
            if self.spec.preset:
                from benchmark.data.presets import read_preset

                return read_preset(self, video, rng)
            return self.decode(video, self.frame_indices(video.num_frames, rng), rng)
        finally:
            video.close()

    def decode(self, video, indices: np.ndarray, crop_rng: np.random.Generator | None
               ) -> tuple[np.ndarray, np.ndarray]:
        """The distinct frames of ``indices`` ``[K, T]`` from an open video, resized to the spec
        (random crop only where the spec's resize mode has one and ``crop_rng`` is given), and
        ``index`` ``[K, T]`` into them."""
        unique, inverse = np.unique(indices, return_inverse=True)
        frames = self.transform(self.load(video, unique), crop_rng)  # [F, S, S, 3]
        if self.augment and crop_rng is not None:
            frames = self.augment(frames, crop_rng)
        return frames, inverse.reshape(indices.shape)

    def transform(self, frames: np.ndarray, crop_rng: np.random.Generator | None = None
                  ) -> np.ndarray:
        """The spec's spatial transform: uint8 ``[F, H, W, 3]`` → ``[F, S, S, 3]``."""
        spec = self.spec
        return spatial(frames, spec.size, spec.resize, crop_rng, spec.interpolation)

    def provenance(self) -> dict[str, Any]:
        """What this reader runs that a run record should name (the preset and its face finder;
        subclasses add theirs, e.g. ``face_finder``); empty for plain decoding."""
        from benchmark.data.presets import preset_provenance

        return preset_provenance(self.spec.preset)

    def __call__(self, path: str, rng: np.random.Generator | None = None) -> torch.Tensor:
        """uint8 clips ``[K, 3, T, S, S]`` of the video at ``path``; raises `VideoDecodeError`."""
        frames, index = self.read_frames(path, rng)
        return clips_tensor(frames[index])  # [K, 3, T, S, S]


def clips_tensor(clips: np.ndarray) -> torch.Tensor:
    """uint8 ``[K, T, H, W, 3]`` → contiguous tensor ``[K, 3, T, H, W]``."""
    return torch.from_numpy(np.ascontiguousarray(clips.transpose(0, 4, 1, 2, 3)))


class ClipDataset(Dataset):
    """One item per manifest row: the clips of one video, or the reason it could not be read.

    Items are dicts: ``index``, ``video_id``, ``label``, ``clips`` (uint8 ``[K, 3, T, H, W]`` or
    None), ``valid`` (None, or bool ``[K, T]`` where the reader marks the frame slots that count,
    e.g. AIGVDet's padded last clip) and ``error`` (None or the reason, e.g.
    ``"truncated: expected 24 frames, decoded 9"``).

    Args:
        manifest: rows with ``video_id``, ``path`` and ``label``.
        spec: the detector's input spec (frames, sampling, clips, size, resize).
        train: draw random clip offsets (``clips``/``random`` sampling), seeded by
            (seed, epoch, index) so results do not depend on worker scheduling.
        seed: base seed for training offsets.
        transform: callable on the uint8 ``[K, 3, T, H, W]`` tensor of a video (augmentations in
            training, perturbations in robustness protocols); applied whenever given.
        reader: how one video becomes clips; ``ClipReader(spec)`` when None (detectors that need
            flow or face crops pass their own, see `benchmark.detector.Detector.clip_reader`).
    """

    def __init__(self, manifest: pd.DataFrame, spec: InputSpec, train: bool = False, seed: int = 0,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 reader: ClipReader | None = None):
        # plain lists: cheap to index and to pickle into workers
        self.video_ids = manifest["video_id"].astype(str).tolist()
        self.paths = manifest["path"].astype(str).tolist()
        self.labels = [int(v) for v in manifest["label"]]
        self.spec, self.train, self.seed, self.transform = spec, train, seed, transform
        self.reader = reader if reader is not None else ClipReader(spec)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.paths)

    def set_epoch(self, epoch: int) -> None:
        """New random offsets per epoch (call before the loader's workers start: they hold a copy)."""
        self.epoch = int(epoch)

    def load_clips(self, index: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Decodes the clips of one video, uint8 ``[K, 3, T, H, W]`` (with a ``valid`` mask
        ``[K, T]`` where the reader gives one); raises `VideoDecodeError`."""
        rng = np.random.default_rng((self.seed, self.epoch, index)) if self.train else None
        return self.reader(self.paths[index], rng)

    def __getitem__(self, index: int) -> dict:
        clips, valid, error = None, None, None
        start = time.perf_counter()  # the data layer's cost of this video (benchmark.cost_meter)
        try:
            clips = self.load_clips(index)
            if isinstance(clips, tuple):
                clips, valid = clips
        except VideoDecodeError as e:
            error = e.reason
        except Exception as e:  # decoders and image codecs raise many types; one file must not stop a run
            error = f"undecodable: {type(e).__name__}: {e}"
        if clips is not None and self.transform is not None:
            clips = self.transform(clips)
        return {"index": index, "video_id": self.video_ids[index], "label": self.labels[index],
                "clips": clips, "valid": valid, "error": error,
                "read_seconds": time.perf_counter() - start}


@dataclass
class Batch:
    """The clips of the videos in a batch that decoded, and the failures of the others.

    Attributes:
        clips: uint8 ``[N_clips, 3, T, H, W]`` over all decoded videos; ``[0, 3, 0, 0, 0]`` when
            none decoded, so ``len(batch.clips)`` is the clip count either way.
        video_index: long ``[N_clips]``, the position of each clip's video in ``video_ids``.
        indices: dataset index of each decoded video.
        video_ids: id of each decoded video.
        labels: long ``[N_videos]``, label of each decoded video.
        failures: ``(video_id, reason)`` of each video that could not be read.
        failed_indices: dataset index of each failed video, in the order of ``failures``.
        valid: None, or bool ``[N_clips, T]``: which frame slots count (readers that pad clips,
            such as AIGVDet's every-frame reading; clips of readers without a mask count fully).
            A detector that reads it implements ``video_scores``.
        read_seconds: the loader's wall time reading each decoded video (decode, crops or flow,
            resizing), in the order of ``video_ids``.
    """

    clips: torch.Tensor
    video_index: torch.Tensor
    indices: list[int]
    video_ids: list[str]
    labels: torch.Tensor
    failures: list[tuple[str, str]]
    failed_indices: list[int]
    valid: torch.Tensor | None = None
    read_seconds: list[float] = field(default_factory=list)

    @property
    def num_videos(self) -> int:
        """Videos that decoded."""
        return len(self.video_ids)

    def to(self, device, non_blocking: bool = False) -> "Batch":
        """A copy with the tensors on ``device``."""
        valid = None if self.valid is None else self.valid.to(device, non_blocking=non_blocking)
        return replace(self, clips=self.clips.to(device, non_blocking=non_blocking),
                       video_index=self.video_index.to(device, non_blocking=non_blocking),
                       labels=self.labels.to(device, non_blocking=non_blocking), valid=valid)

    def pin_memory(self) -> "Batch":
        """Called by DataLoader(pin_memory=True)."""
        valid = None if self.valid is None else self.valid.pin_memory()
        return replace(self, clips=self.clips.pin_memory(), video_index=self.video_index.pin_memory(),
                       labels=self.labels.pin_memory(), valid=valid)


def collate_clips(items: Sequence[dict]) -> Batch:
    """Stacks the clips of the decoded items; failed items go to ``failures``."""
    ok = [item for item in items if item["clips"] is not None]
    failed = [item for item in items if item["clips"] is None]
    counts = torch.tensor([item["clips"].shape[0] for item in ok], dtype=torch.long)
    no_clips = torch.empty((0, 3, 0, 0, 0), dtype=torch.uint8)
    return Batch(
        clips=torch.cat([item["clips"] for item in ok]) if ok else no_clips,
        video_index=torch.repeat_interleave(torch.arange(len(ok)), counts),  # [N_clips]
        indices=[item["index"] for item in ok],
        video_ids=[item["video_id"] for item in ok],
        labels=torch.tensor([item["label"] for item in ok], dtype=torch.long),
        failures=[(item["video_id"], item["error"]) for item in failed],
        failed_indices=[item["index"] for item in failed],
        valid=_stack_valid(ok),
        read_seconds=[float(item.get("read_seconds", 0.0)) for item in ok],
    )


def _stack_valid(items: Sequence[dict]) -> torch.Tensor | None:
    """The items' ``valid`` masks as one ``[N_clips, T]`` tensor (all True for items without one),
    or None when no item has a mask."""
    if not any(item.get("valid") is not None for item in items):
        return None
    return torch.cat([item["valid"] if item.get("valid") is not None
                      else torch.ones(item["clips"].shape[0], item["clips"].shape[2], dtype=torch.bool)
                      for item in items])


def seed_worker(worker_id: int) -> None:
    """Seeds a loader worker from torch's per-worker seed; one decoder thread per worker.

    OpenCV is not touched here: reconfiguring its thread pool in a forked child whose parent had
    used the pool deadlocks (seen in the test suite). `make_loader` stops the pool before forking.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
    torch.set_num_threads(1)
    video_io.set_decode_threads(1)


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, num_workers: int = 0,
                seed: int = 0, prefetch_factor: int = 2, pin_memory: bool | None = None,
                drop_last: bool = False, collate_fn=None, multiprocessing_context=None,
                batch_sampler=None) -> DataLoader:
    """A DataLoader yielding `Batch` objects, deterministic for a given seed.

    Workers decode while the model computes (``prefetch_factor`` batches each). Workers are not
    persistent: each iteration starts them with the dataset as it is then (its epoch included).
    Memory is pinned when CUDA is available unless ``pin_memory`` says otherwise. ``collate_fn``
    replaces `collate_clips` (e.g. one that also scores the batch, `benchmark.worker_forward`);
    ``multiprocessing_context``: the workers' start method (None: the platform's).
    ``batch_sampler``: the batches as lists of indices, given instead of ``batch_size`` /
    ``shuffle`` / ``drop_last`` (training's epochs in one loader, `benchmark.training`).
    """
    generator = torch.Generator()
    generator.manual_seed(seed)
    options = dict(prefetch_factor=prefetch_factor) if num_workers > 0 else {}
    if num_workers > 0:
        import cv2

        # Forked workers inherit OpenCV's thread pool in whatever state it is; a pool that is not
        # running cannot hang them, and the workers are the parallelism here.
        cv2.setNumThreads(1)
    batching = (dict(batch_size=batch_size, shuffle=shuffle, drop_last=drop_last) if batch_sampler is None
                else dict(batch_sampler=batch_sampler))
    return DataLoader(
        dataset, **batching, num_workers=num_workers,
        collate_fn=collate_clips if collate_fn is None else collate_fn, generator=generator,
        worker_init_fn=seed_worker, persistent_workers=False,
        multiprocessing_context=multiprocessing_context if num_workers > 0 else None,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory, **options)
