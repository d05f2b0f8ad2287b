#!/usr/bin/env python
"""Evaluation throughput: vbench's end-to-end rate beside the bare decode and bare forward rates.

All three are measured in one process on the same videos and the same model:
- decode: the DataLoader alone (same workers, sampling and resizing as evaluation), no model;
- forward: the model alone on clips already decoded into memory, same batch size;
- vbench: `benchmark.inference.predict_videos`, decoding in workers overlapped with the forward.
Rates are videos/s; the target is vbench >= 0.9 x min(decode, forward).

    python tools/bench_eval.py --method sta --config mini [--videos DIR] [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _manifest(videos: str | None):
    from benchmark.data.manifest import load_manifest
    from benchmark.data.readers import read_dataset
    from benchmark.datasets import DATASETS

    if videos is None:
        return load_manifest(DATASETS["vbench-mini"][1](0))
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


def _decode_rate(detector, manifest, batch, workers) -> float:
    start = time.perf_counter()
    n = sum(len(b.indices) + len(b.failures) for b in _loader(detector, manifest, batch, workers))
    return n / (time.perf_counter() - start)


def _forward_rate(detector, manifest, batch, workers) -> float:
    batches = list(_loader(detector, manifest, batch, workers))
    detector.clip_scores(batches[0].clips)  # warm-up
    start = time.perf_counter()
    n = 0
    for b in batches:
        scores = detector.clip_scores(b.clips)
        detector.aggregate(scores, b.video_index, len(b.indices)).cpu()
        n += len(b.indices)
    return n / (time.perf_counter() - start)


def _vbench_rate(detector, manifest, batch, workers) -> float:
    from benchmark.inference import predict_videos

    preds = predict_videos(detector, manifest, batch_size=batch, num_workers=workers, progress=False)
    return len(manifest) / preds.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="sta")
    parser.add_argument("--config", default="mini")
    parser.add_argument("--videos", help="folder of videos, manifest or dataset (default: vbench-mini)")
    parser.add_argument("--limit", type=int, default=200, help="at most this many videos")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for each rate")
    args = parser.parse_args()

    from benchmark.detector import build_detector
    from benchmark.runner import resolve_device

    manifest = _manifest(args.videos).head(args.limit).reset_index(drop=True)
    detector = build_detector(args.method, args.config).to(resolve_device(args.device))
    _vbench_rate(detector, manifest.head(16), args.batch_size, args.workers)  # warm caches
    rates = {}
    for name, fn in (("decode", _decode_rate), ("forward", _forward_rate), ("vbench", _vbench_rate)):
        rates[name] = max(fn(detector, manifest, args.batch_size, args.workers) for _ in range(args.repeat))
    bound = min(rates["decode"], rates["forward"])
    import torch

    print(f"method {args.method}/{args.config}, {len(manifest)} videos, {detector.spec.num_clips} clip(s) "
          f"x {detector.spec.frames} frames at {detector.spec.size}px, batch {args.batch_size}, "
          f"{args.workers} workers, device {detector.device}, torch threads {torch.get_num_threads()}")
    for name, rate in rates.items():
        print(f"  {name:8s} {rate:8.1f} videos/s")
    print(f"  vbench / min(decode, forward) = {rates['vbench'] / bound:.3f} (target >= 0.9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
