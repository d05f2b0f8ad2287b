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
    args = parser.parse_args()

    import torch

    from benchmark.detector import build_detector
    from benchmark.distributed import init_from_env, is_main, shutdown, world
    from benchmark.runner import resolve_device

    if args.threads < 0:
        parser.error("--threads must be >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    manifest = _manifest(args.videos).head(args.limit).reset_index(drop=True)
    device = init_from_env(resolve_device(args.device))
    detector = build_detector(args.method, args.config).to(device)
    _vbench_rate(detector, manifest.head(16), args.batch_size, args.workers)  # warm caches
    processes = world()[1]
    measures = {"decode": _decode_rate, "forward": _forward_rate, "vbench": _vbench_rate}
    if processes == 1 and not args.no_mmaction2:
        measures["mmaction2"] = _mmaction2_rate
    rates = dict.fromkeys(measures, 0.0)
    mm_error = None
    # Rounds interleave the measures, so a slow spell of a shared machine hits all of them alike.
    for _ in range(args.repeat):
        for name, fn in list(measures.items()):
            try:
                rate = fn(detector, manifest, args.batch_size, args.workers)
            except Exception as error:
                if name != "mmaction2":
                    raise
                # its pipeline has no fallback where decord fails (e.g. on 48 px wide videos)
                rate, mm_error = None, str(error).strip().splitlines()[-1][:200]
            if rate is None:  # mmaction2 failed or does not apply to this detector
                del measures[name], rates[name]
            else:
                rates[name] = max(rates[name], rate)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
