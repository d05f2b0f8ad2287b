"""Reading one video under several views (clean and perturbed) with one decode (robustness).

A view is ``(perturbation, level)``; ``("none", 0)`` is the clean video. `ViewDataset` decodes each
video once into memory and reads it through every view with the detector's own clip reader (its
`ClipReader.open` hook), so face finding, optical flow and resizing see the perturbed frames.
With ``decode_once=False`` every view decodes the file again (for measuring the saving).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from torch.utils.data import Dataset

from benchmark.data import video as video_io
from benchmark.errors import VideoDecodeError

CLEAN = ("none", 0)


@dataclass(frozen=True)
class View:
    perturbation: str
    level: int

    @property
    def clean(self) -> bool:
        return self.perturbation == "none"

    @property
    def name(self) -> str:
        return "clean" if self.clean else f"{self.perturbation}@{self.level}"


class ViewDataset(Dataset):
    """One item per video: the clips of every view, or each view's reason for failing.

    Items: ``index``, ``video_id``, ``label``, ``decode_seconds`` and ``views``: one dict per view
    (``clips``, ``valid``, ``error``, ``seconds``: the reader's time under that view).

    Args:
        manifest: rows with ``video_id``, ``path``, ``label``.
        reader: the detector's evaluation `benchmark.data.dataset.ClipReader`.
        views: the views, in order.
        pset: the `benchmark.perturb` perturbation set (default set when None).
        decode_once: decode each video once and read every view from memory.
    """

    def __init__(self, manifest, reader, views: Sequence[View], pset=None, decode_once: bool = True):
        self.video_ids = manifest["video_id"].astype(str).tolist()
        self.paths = manifest["path"].astype(str).tolist()
        self.labels = [int(v) for v in manifest["label"]]
        self.reader, self.views, self.pset, self.decode_once = reader, list(views), pset, decode_once

    def __len__(self) -> int:
        return len(self.paths)

    def _decoded(self, path: str):
        from benchmark.perturb.engine import DecodedVideo

        video = video_io.open_video(path)
        try:
            fps = video.info.fps
            return DecodedVideo(video.read(range(video.num_frames)), path, fps)
        finally:
            video.close()

    def _opener(self, view: View, video_id: str, decoded):
        from benchmark.perturb.config import perturbation_seed
        from benchmark.perturb.engine import PerturbedVideo

        def open_view(path: str):
            source = decoded if decoded is not None else video_io.open_video(path)
            if view.clean:
                return source
            seed = perturbation_seed(video_id, view.perturbation, view.level)
            return PerturbedVideo(source, view.perturbation, view.level, seed, self.pset)
        return open_view

    def __getitem__(self, index: int) -> dict:
        path, video_id = self.paths[index], self.video_ids[index]
        start, decoded, failure = time.perf_counter(), None, None
        if self.decode_once:
            try:
                decoded = self._decoded(path)
            except VideoDecodeError as error:
                failure = error.reason
            except Exception as error:  # one file must not stop a run
                failure = f"undecodable: {type(error).__name__}: {error}"
        decode_seconds = time.perf_counter() - start
        views = [self._read(view, path, video_id, decoded, failure) for view in self.views]
        return {"index": index, "video_id": video_id, "label": self.labels[index],
                "decode_seconds": decode_seconds, "views": views}

    def _read(self, view: View, path: str, video_id: str, decoded, failure: str | None) -> dict:
        if failure is not None:
            return {"clips": None, "valid": None, "error": failure, "seconds": 0.0}
        start = time.perf_counter()
        clips, valid, error = None, None, None
        self.reader.opener = self._opener(view, video_id, decoded)
        try:
            clips = self.reader(path, None)
            if isinstance(clips, tuple):
                clips, valid = clips
        except VideoDecodeError as e:
            error = e.reason
        except Exception as e:  # decoders, codecs and perturbations raise many types
            error = f"undecodable: {type(e).__name__}: {e}"
        finally:
            self.reader.opener = None
        return {"clips": clips, "valid": valid, "error": error,
                "seconds": time.perf_counter() - start}


def collate_views(items: Sequence[dict]):
    """Per view, a `benchmark.data.dataset.Batch` of the items; and the items' timings."""
    from benchmark.data.dataset import collate_clips

    n_views = len(items[0]["views"]) if items else 0
    batches = [collate_clips([{"index": item["index"], "video_id": item["video_id"],
                               "label": item["label"], **item["views"][v]} for item in items])
               for v in range(n_views)]
    timings = {"decode": [item["decode_seconds"] for item in items],
               "views": [[item["views"][v]["seconds"] for item in items] for v in range(n_views)]}
    return batches, timings
