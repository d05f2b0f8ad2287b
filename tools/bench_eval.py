#!/usr/bin/env python
"""Evaluation throughput: vbench's end-to-end rate beside the bare decode and bare forward rates.

The rates are measured in one run on the same videos and the same model:
- decode: the DataLoader alone (same workers, sampling and resizing as evaluation), no model;
- forward: the model alone on clips already decoded into memory, same batch size;
- vbench: `benchmark.inference.predict_videos`, decoding in workers overlapped with the forward;
- mmaction2 (for comparison, one process only): mmaction2's own VideoDataset pipeline and
  ``model.test_step`` with the same batch and workers, where the detector is a plain mmaction2
  recognizer on RGB clips (StA, MMVGM's models); ``--no-mmaction2`` skips it.
Rates are videos/s; the target is vbench >= 0.9 x min(decode, forward).

Where decoding and the forward compete for the same CPU cores (a CPU run whose forward already keeps
every core busy), decoding cannot hide behind the forward: a loop in one process can at best reach
the serial bound 1 / (1/decode + 1/forward), printed beside it. ``--threads`` sets the forward's
torch threads, so that a core can be left to the decoding workers (``--threads 1 --workers 1`` on
two cores).

    python tools/bench_eval.py --method sta --config mini [--videos DIR] [--repeat 3]
    python tools/bench_eval.py --method sta --config mini --threads 1 --workers 1
    torchrun --nproc_per_node 2 tools/bench_eval.py --method sta --config mini --workers 0
    python tools/bench_eval.py --method sta --config paper --device cuda --precision fp32,bf16 \
        --json bench_sta.json          # on a GPU: forward per precision, GPU use and peak memory

``--precision`` lists the precisions whose forward is timed (the first is the one vbench and
mmaction2 run at). On CUDA each measure also records the peak GPU memory allocated and the mean
GPU utilisation (sampled every 0.1 s through NVML, or nvidia-smi); ``--json`` writes everything,
so a run on a lent GPU can be compared with the next one.

Under torchrun every rate is the whole job's: each process decodes, forwards or evaluates its shard
of the videos at the same time as the others, and the rate is all videos over the wall time from
the first to the last process.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _manifest(videos: str | None):
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


def _decode_rate(detector, manifest, batch, workers) -> float:
    _barrier()
    start = time.perf_counter()
    for _ in _loader(detector, _local(manifest), batch, workers):
        pass
    _barrier()
    return len(manifest) / (time.perf_counter() - start)


def _forward_rate(detector, manifest, batch, workers) -> float:
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


def _vbench_rate(detector, manifest, batch, workers) -> float:
    from benchmark.inference import predict_videos

    _barrier()
    start = time.perf_counter()
    predict_videos(detector, manifest, batch_size=batch, num_workers=workers, progress=False)  # shards itself
    return len(manifest) / (time.perf_counter() - start)


def _mmaction2_rate(detector, manifest, batch, workers) -> float | None:
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


def _num_frames(manifest) -> int:
    from benchmark.data import video as video_io

    video = video_io.open_video(str(manifest["path"].iloc[0]))
    try:
        return video.num_frames
    finally:
        video.close()


def _vbench_frames(detector, num_frames: int) -> int:
    import numpy as np

    return len(np.unique(detector.clip_reader().frame_indices(num_frames, None)))


def _mmaction2_frames(spec, num_frames: int) -> int:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="sta")
    parser.add_argument("--config", default="mini")
    parser.add_argument("--videos", help="folder of videos, manifest or dataset (default: vbench-mini)")
    parser.add_argument("--limit", type=int, default=200, help="at most this many videos")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads of the forward (default: torch's own choice)")
    parser.add_argument("--no-mmaction2", action="store_true",
                        help="skip the comparison with mmaction2's own test pipeline")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each rate is its best over the rounds")
    parser.add_argument("--precision", default="fp32",
                        help="comma-separated precisions whose forward is timed (fp32, bf16, fp16); "
                             "the first is the one vbench and mmaction2 run at")
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()

    import torch

    from benchmark.detector import build_detector
    from benchmark.distributed import init_from_env, is_main, shutdown, world
    from benchmark.run_context import resolve_device

    if args.threads < 0:
        parser.error("--threads must be >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    manifest = _manifest(args.videos).head(args.limit).reset_index(drop=True)
    device = init_from_env(resolve_device(args.device))
    detector = build_detector(args.method, args.config).to(device).set_inference(precisions[0])
    _vbench_rate(detector, manifest.head(16), args.batch_size, args.workers)  # warm caches
    processes = world()[1]
    measures = {"decode": _decode_rate, "forward": _forward_rate, "vbench": _vbench_rate}
    for extra in precisions[1:]:
        measures[f"forward[{extra}]"] = _at_precision(_forward_rate, extra, precisions[0])
    if processes == 1 and not args.no_mmaction2:
        measures["mmaction2"] = _mmaction2_rate
    rates, gpu = dict.fromkeys(measures, 0.0), {}
    mm_error = None
    # Rounds interleave the measures, so a slow spell of a shared machine hits all of them alike.
    for _ in range(args.repeat):
        for name, fn in list(measures.items()):
            try:
                with GPUMonitor(device) as monitor:
                    rate = fn(detector, manifest, args.batch_size, args.workers)
            except Exception as error:
                if name != "mmaction2":
                    raise
                # its pipeline has no fallback where decord fails (e.g. on 48 px wide videos)
                rate, mm_error = None, str(error).strip().splitlines()[-1][:200]
            if rate is None:  # mmaction2 failed or does not apply to this detector
                del measures[name], rates[name]
            elif rate > rates[name]:
                rates[name], gpu[name] = rate, monitor.stats()
    frames = None  # distinct frames decoded per video (first video): vbench's, mmaction2's
    if "mmaction2" in rates:
        num_frames = _num_frames(manifest)
        frames = _vbench_frames(detector, num_frames), _mmaction2_frames(detector.spec, num_frames)
    main_process = is_main()
    shutdown()
    if not main_process:
        return 0
    bound = min(rates["decode"], rates["forward"])
    serial = 1.0 / (1.0 / rates["decode"] + 1.0 / rates["forward"])
    print(f"method {args.method}/{args.config}, {len(manifest)} videos, {detector.spec.num_clips} clip(s) "
          f"x {detector.spec.frames} frames at {detector.spec.size}px, batch {args.batch_size}, "
          f"{args.workers} workers, device {detector.device}, torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} CPU cores, {processes} process(es)")
    for name, rate in rates.items():
        print(f"  {name:9s} {rate:8.1f} videos/s")
    print(f"  vbench / min(decode, forward) = {rates['vbench'] / bound:.3f} (target >= 0.9)")
    if mm_error:
        print(f"  mmaction2 test pipeline failed on these videos: {mm_error}")
    if "mmaction2" in rates:
        print(f"  mmaction2 test pipeline / min(decode, forward) = {rates['mmaction2'] / bound:.3f} "
              f"(distinct frames decoded per video, first video: vbench {frames[0]}, "
              f"mmaction2 {frames[1]})")
    print(f"  serial bound 1/(1/decode + 1/forward) = {serial:.1f} videos/s; "
          f"vbench / serial bound = {rates['vbench'] / serial:.3f}")
    for name, stats in gpu.items():
        if stats:
            print(f"  {name:9s} GPU utilisation {stats['gpu_util_mean'] or float('nan'):5.1f} %, "
                  f"peak memory {stats['gpu_peak_mb']:.0f} MiB")
    if args.json:
        _write_json(args, detector, manifest, processes, rates, gpu, bound, serial, mm_error)
    return 0


def _at_precision(fn, precision: str, restore: str):
    def measure(detector, manifest, batch, workers):
        detector.set_inference(precision)
        try:
            return fn(detector, manifest, batch, workers)
        finally:
            detector.set_inference(restore)
    return measure


def _write_json(args, detector, manifest, processes, rates, gpu, bound, serial, mm_error) -> None:
    import json
    import platform

    import torch

    record = {"method": args.method, "config": args.config, "videos": len(manifest),
              "batch_size": args.batch_size, "workers": args.workers,
              "precision": args.precision, "device": str(detector.device),
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "torch": torch.__version__, "python": platform.python_version(),
              "processes": processes, "clips": detector.spec.num_clips, "frames": detector.spec.frames,
              "size": detector.spec.size, "rates": rates, "gpu_stats": gpu,
              "vbench_over_min": rates["vbench"] / bound, "serial_bound": serial,
              "mmaction2_over_min": rates["mmaction2"] / bound if "mmaction2" in rates else None,
              "mmaction2_error": mm_error,
              "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    Path(args.json).write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    sys.exit(main())
