"""The measures of `tools/bench_eval.py`: each rate is videos/s over the same videos and model.

- decode: the DataLoader alone (same workers, sampling and resizing as evaluation), no model;
- forward: the model alone on clips already decoded into memory, same batch size;
- vbench: `benchmark.inference.predict_videos`, decoding in workers overlapped with the forward
  (or, for a split whose workers forward, each worker decoding and forwarding its batches);
- mmaction2: mmaction2's own VideoDataset pipeline and ``model.test_step`` with the same batch and
  workers (one process only; None where the detector is not a plain mmaction2 recognizer on RGB
  clips).

Under torchrun every rate is the whole job's: all videos over the wall time from the first to the
last process.
"""
from __future__ import annotations

import os
import time
from pathlib import Path


def manifest_of(videos: str | None):
    from benchmark.data.manifest import load_manifest
    from benchmark.data.readers import read_dataset
    from benchmark.datasets import DATASETS

    if videos is None:
        return load_manifest(DATASETS.get("vbench-mini")(0))
    folder = Path(videos)
    if folder.is_dir() and not any(p.is_dir() for p in folder.iterdir()):
        import pandas as pd

        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".mp4", ".avi", ".mov", ".mkv", ".webm"})
        return pd.DataFrame({"video_id": [p.stem for p in files], "path": [str(p) for p in files],
                             "label": 0, "generator": "real", "split": "test",
                             "source_id": [p.stem for p in files], "dataset": folder.name})
    return read_dataset(videos)


def _loader(detector, manifest, batch, workers):
    from benchmark.data.dataset import ClipDataset, make_loader

    return make_loader(ClipDataset(manifest, detector.spec, reader=detector.clip_reader()), batch_size=batch, shuffle=False,
                       num_workers=workers, seed=0)


def _barrier() -> None:
    """Waits for every process under torchrun (nothing otherwise), so walls span all of them."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _local(manifest):
    """This process's shard of the videos under torchrun (all of them otherwise)."""
    from benchmark.distributed import shard

    return manifest.iloc[shard(len(manifest))]


def decode_rate(detector, manifest, batch, workers) -> float:
    _barrier()
    start = time.perf_counter()
    for _ in _loader(detector, _local(manifest), batch, workers):
        pass
    _barrier()
    return len(manifest) / (time.perf_counter() - start)


def forward_rate(detector, manifest, batch, workers) -> float:
    batches = list(_loader(detector, _local(manifest), batch, workers))
    batches = [b for b in batches if len(b.clips)]
    detector.clip_scores(batches[0].clips)  # warm-up
    _barrier()
    start = time.perf_counter()
    for b in batches:
        scores = detector.clip_scores(b.clips)
        detector.aggregate(scores, b.video_index, len(b.indices)).cpu()
    _barrier()
    return len(manifest) / (time.perf_counter() - start)


def vbench_rate(detector, manifest, batch, workers, forward_threads=None) -> float:
    """``forward_threads``: None, the forward in this process; a number, in each of the
    ``workers`` loader workers with that many torch threads (`benchmark.worker_forward`)."""
    from benchmark.inference import predict_videos

    _barrier()
    start = time.perf_counter()
    predict_videos(detector, manifest, batch_size=batch, num_workers=workers, progress=False,
                   forward_threads=forward_threads)  # shards itself
    return len(manifest) / (time.perf_counter() - start)


def mmaction2_rate(detector, manifest, batch, workers) -> float | None:
    """mmaction2's own test path on the same videos, batch and workers: its VideoDataset with the
    pipeline DecordInit → SampleFrames(test_mode) → DecordDecode → the spec's resize as mmaction2's
    Resize/CenterCrop → FormatShape → PackActionInputs, mmengine's pseudo_collate, and ``model.test_step``
    (what mmengine's TestLoop calls per batch). None for detectors whose clips are not plain RGB
    frames (flow, face crops) or whose model is not an mmaction2 recognizer."""
    import tempfile

    import torch

    from benchmark.data.dataset import ClipReader

    spec = detector.spec
    if (type(detector.clip_reader()) is not ClipReader or spec.face_crop
            or not hasattr(detector.model, "test_step")):
        return None
    from mmaction.datasets import VideoDataset
    from mmaction.utils import register_all_modules
    from mmengine.runner import Runner

    register_all_modules(init_default_scope=True)
    spatial = {"short_side_center_crop": [dict(type="Resize", scale=(-1, spec.size)),
                                          dict(type="CenterCrop", crop_size=spec.size)],
               "resize": [dict(type="Resize", scale=(spec.size, spec.size), keep_ratio=False)],
               "center_crop": [dict(type="CenterCrop", crop_size=spec.size)]}[spec.resize]
    pipeline = [dict(type="DecordInit", num_threads=1),
                dict(type="SampleFrames", clip_len=spec.frames, frame_interval=spec.stride,
                     num_clips=spec.num_clips, test_mode=True),
                dict(type="DecordDecode"), *spatial, dict(type="FormatShape", input_format="NCTHW"),
                dict(type="PackActionInputs")]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as ann:
        for path, label in zip(manifest["path"], manifest["label"]):
            ann.write(f"{Path(path).resolve()} {int(label)}\n")
    try:
        dataset = VideoDataset(ann.name, pipeline, test_mode=True)
        loader = Runner.build_dataloader(dict(batch_size=batch, num_workers=workers, dataset=dataset,
                                              sampler=dict(type="DefaultSampler", shuffle=False),
                                              collate_fn=dict(type="pseudo_collate")), seed=0)
        detector.model.eval()
        start = time.perf_counter()
        with torch.no_grad():
            for data in loader:
                detector.model.test_step(data)
        return len(manifest) / (time.perf_counter() - start)
    finally:
        os.unlink(ann.name)


def num_frames(manifest) -> int:
    from benchmark.data import video as video_io

    video = video_io.open_video(str(manifest["path"].iloc[0]))
    try:
        return video.num_frames
    finally:
        video.close()


def vbench_frames(detector, num_frames: int) -> int:
    import numpy as np

    return len(np.unique(detector.clip_reader().frame_indices(num_frames, None)))


def mmaction2_frames(spec, num_frames: int) -> int:
    import numpy as np
    from mmaction.datasets.transforms import SampleFrames

    sample = SampleFrames(clip_len=spec.frames, frame_interval=spec.stride, num_clips=spec.num_clips,
                          test_mode=True)
    out = sample({"total_frames": num_frames, "start_index": 0})
    return len(np.unique(out["frame_inds"]))


class GPUMonitor:
    """Mean GPU utilisation (NVML, else nvidia-smi) and peak allocated memory over a block."""

    def __init__(self, device):
        self.cuda = str(device).startswith("cuda")
        self.samples: list[float] = []
        self._stop = None

    def _sample(self):
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            read = lambda: float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)  # noqa: E731
        except Exception:  # no NVML binding: ask nvidia-smi
            import subprocess

            def read():
                out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu",
                                      "--format=csv,noheader,nounits"], capture_output=True,
                                     text=True, timeout=5).stdout.split()
                return float(out[0]) if out else float("nan")
        while not self._stop.wait(0.1):
            try:
                self.samples.append(read())
            except Exception:
                return

    def __enter__(self):
        if self.cuda:
            import threading

            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.cuda:
            import torch

            torch.cuda.synchronize()
            self._stop.set()
            self._thread.join()
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
        return False

    def stats(self) -> dict:
        if not self.cuda:
            return {}
        import math

        samples = [s for s in self.samples if not math.isnan(s)]
        return {"gpu_util_mean": sum(samples) / len(samples) if samples else None,
                "gpu_peak_mb": round(self.peak_mb, 1)}


def at_precision(fn, precision: str, restore: str):
    def measure(detector, manifest, batch, workers):
        detector.set_inference(precision)
        try:
            return fn(detector, manifest, batch, workers)
        finally:
            detector.set_inference(restore)
    return measure
