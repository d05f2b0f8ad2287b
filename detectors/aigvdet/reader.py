"""Clips for AIGVDet: T RGB frames followed by the T-1 flow images between consecutive frames.

The flow images of a video are computed once, for every consecutive pair of frames, and cached on
disk; clips then index into them. Flow is computed on the full decoded frames, before the spatial
transform, and the rendered images then get the same crop/resize as the RGB frames: upstream runs
RAFT on whole frames padded to multiples of 8, renders the padded field (normalised by its largest
motion) and only then applies CenterCrop(448), so cropping first would change both the flow near
the borders and the colour scale. The spatial transform is the deterministic one even in training
(no random crop): RGB frames and cached flow images must stay aligned.

Every frame and every flow image is scored, as upstream scores them (`every_frame_layout`):
evaluation with ``sampling: all`` reads clips that overlap by one frame, so each flow image lies in
exactly one clip, and returns with them a mask ``valid [K, 2T-1]`` that counts each frame once and
leaves out the padding of the last clip; `detectors.aigvdet.AIGVDetDetector.video_scores` turns
masked frame probabilities into upstream's ``0.5 * mean(N frames) + 0.5 * mean(N-1 flows)``.

Cache files live under ``<cache>/aigvdet_flow/`` (``$VBENCH_CACHE`` or ``~/.cache/vbench``, as for
the corpus), named by a sha256 of the video's identity (absolute path, size, mtime), the flow
method and its parameters, the channel order and the spatial settings; they are written to a
temporary name and renamed, so a concurrent reader never sees a partial file.
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from benchmark.data.dataset import ClipReader, clips_tensor
from benchmark.data.spec import InputSpec
from benchmark.errors import DataError
from benchmark.flow import CHANNEL_ORDERS, build_flow, flow_images

CACHE_SUBDIR = "aigvdet_flow"
CACHE_FORMAT = 2   # bump when the stored array changes meaning (2: RAFT's colour-wheel seam)
CHUNK_FRAMES = 32  # frames decoded at once while computing a video's flow (bounds memory)


class FlowClipReader(ClipReader):
    """Reads uint8 clips ``[K, 3, 2T-1, S, S]``: T RGB frames, then T-1 flow images.

    Flow image j of a clip is the flow from the clip's frame j to the next frame of the video.

    Args:
        spec: the input spec (frames = T, sampling, size, resize).
        flow: the detector's ``flow`` config (`benchmark.flow.build_flow` keys, ``channel_order``
            and ``cache_dir``).
    """

    def __init__(self, spec: InputSpec, flow: Mapping[str, Any] | None = None):
        super().__init__(spec)
        self.flow_cfg = dict(flow or {})
        self.channel_order = self.flow_cfg.get("channel_order", "rgb")
        if self.channel_order not in CHANNEL_ORDERS:
            raise DataError(f"flow.channel_order must be one of {CHANNEL_ORDERS}, "
                            f"got {self.channel_order!r}")
        self.estimator = build_flow(self.flow_cfg)
        cache = self.flow_cfg.get("cache_dir")
        self.cache_dir = Path(cache).expanduser() if cache else _default_cache() / CACHE_SUBDIR

    def __call__(self, path: str, rng: np.random.Generator | None = None
                 ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """uint8 clips ``[K, 3, 2T-1, S, S]`` of the video at ``path``; raises `VideoDecodeError`.

        Evaluation with ``sampling: all`` also returns the mask ``valid`` bool ``[K, 2T-1]``
        (`every_frame_layout`); other samplings and training return the clips alone.
        """
        video = self.open(path)
        try:
            if rng is None and self.spec.sampling == "all":
                indices, flow_index, valid = every_frame_layout(video.num_frames, self.spec.frames,
                                                                path)
            else:
                indices = self.frame_indices(video.num_frames, rng)  # [K, T]; short videos raise
                flow_index, valid = indices[:, :-1], None
            flows = self.video_flow(path, video)  # [F-1, S, S, 3]
            # no random crop, even in training: the cached flow images must stay aligned
            frames, index = self.decode(video, indices, crop_rng=None)  # [U, S, S, 3], [K, T]
        finally:
            video.close()
        clips = clips_tensor(np.concatenate([frames[index], flows[flow_index]], axis=1))
        return clips if valid is None else (clips, torch.from_numpy(valid))  # [K, 3, 2T-1, S, S]

    def provenance(self) -> dict[str, Any]:
        """The flow method and its parameters, for run records."""
        return {"flow": json.loads(self.estimator.identity()), "channel_order": self.channel_order}

    # -- flow of a whole video, cached ---------------------------------------------------------
    def video_flow(self, path: str, video=None) -> np.ndarray:
        """Rendered flow images of every consecutive pair, uint8 ``[F-1, S, S, 3]`` (cached)."""
        own = video is None
        video = self.open(path) if own else video
        file = self.cache_file(path, getattr(video, "identity", None))
        try:
            cached = self._load(file, video.num_frames)
            flows = cached if cached is not None else self._compute(video)
        finally:
            if own:
                video.close()
        if cached is None:
            _save_atomic(file, flows)
        return flows

    def _load(self, file: Path, num_frames: int) -> np.ndarray | None:
        """The cached flow images, or None when absent, unreadable or of another shape."""
        if not file.is_file():
            return None
        try:
            flows = np.load(file)
        except (OSError, ValueError):  # a damaged entry is recomputed
            return None
        expected = (num_frames - 1, self.spec.size, self.spec.size, 3)
        return flows if flows.shape == expected and flows.dtype == np.uint8 else None

    def _compute(self, video) -> np.ndarray:
        """Flow images of ``video`` in chunks of `CHUNK_FRAMES` (+1 shared frame)."""
        n = video.num_frames
        if n < 2:
            from benchmark.data.sampling import ShortVideoError

            raise ShortVideoError(n, 2, getattr(video, "path", "<video>"))
        parts = []
        for start in range(0, n - 1, CHUNK_FRAMES):
            stop = min(start + CHUNK_FRAMES, n - 1)
            frames = self.load(video, np.arange(start, stop + 1))  # [c+1, H, W, 3]
            images = flow_images(frames, self.estimator, self.channel_order)  # [c, H', W', 3]
            parts.append(self.transform(images))  # RAFT's padded rendering, then the crop
        return np.concatenate(parts)

    def cache_key(self, path: str, view: dict | None = None) -> str:
        """sha256 of the video's identity, the view it is read through (a perturbation and level:
        perturbed frames have their own flow) and every setting that changes its flow images."""
        resolved = Path(path).expanduser().resolve()
        stat = resolved.stat()
        key = {"format": CACHE_FORMAT, "path": str(resolved), "size": stat.st_size,
               "mtime_ns": stat.st_mtime_ns, "flow": self.estimator.identity(),
               "channel_order": self.channel_order, "size_px": self.spec.size,
               "resize": self.spec.resize}
        if view:
            key["view"] = view
        return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()

    def cache_file(self, path: str, view: dict | None = None) -> Path:
        key = self.cache_key(path, view)
        return self.cache_dir / key[:2] / f"{key}.npy"


def every_frame_layout(num_frames: int, clip_len: int, path: str = "<video>"
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clips that score every frame and flow image once: frame and flow indices and their mask.

    Clip k holds frames ``k(T-1) .. k(T-1)+T-1`` (consecutive clips share one frame) and the T-1
    flow images between them, so the flow images are split exactly; a shared frame counts in the
    earlier clip only. The last clip is padded with the last frame / flow image, masked out.

    Returns:
        frame indices ``[K, T]``, flow indices ``[K, T-1]``, ``valid`` bool ``[K, 2T-1]`` (the T
        frame slots, then the T-1 flow slots), with ``K = ceil((N-1) / (T-1))``.

    Raises:
        ShortVideoError: fewer than 2 frames (no flow image).
    """
    from benchmark.data.sampling import ShortVideoError

    n, t = int(num_frames), int(clip_len)
    if n < 2:
        raise ShortVideoError(n, 2, path)
    k = -(-(n - 1) // (t - 1))
    starts = np.arange(k, dtype=np.int64)[:, None] * (t - 1)
    frames, flows = starts + np.arange(t), starts + np.arange(t - 1)  # [K, T], [K, T-1]
    frame_ok = (frames < n) & ~((np.arange(t) == 0) & (starts > 0))  # shared frame: first clip
    valid = np.concatenate([frame_ok, flows < n - 1], axis=1)
    return np.minimum(frames, n - 1), np.minimum(flows, n - 2), valid


def _default_cache() -> Path:
    from benchmark.data.corpus import default_cache_dir

    return default_cache_dir()


def _save_atomic(file: Path, array: np.ndarray) -> None:
    """Writes ``array`` to a unique temporary file beside ``file``, then renames it into place."""
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.stem}.{os.getpid()}.{uuid.uuid4().hex}.tmp.npy")
    try:
        np.save(tmp, array)
        os.replace(tmp, file)
    finally:
        if tmp.exists():
            tmp.unlink()
