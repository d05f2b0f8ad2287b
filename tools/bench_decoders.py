#!/usr/bin/env python
"""Decoders side by side on the same files: decord, PyAV, OpenCV, torchcodec, and vbench's own
routing (`benchmark.data.video`: decord on 8-bit files, PyAV deeper).

Files: the embedded corpus (vbench-mini, 64 px) and clips this script encodes with ffmpeg's
libx264 at several resolutions, 8-bit (yuv420p) and 10-bit (yuv420p10le). For each decoder and
group (bit depth x resolution): videos/s decoding every frame of every file, the median over
``--repeat`` interleaved rounds (round 1 runs every decoder once, round 2 again, ...), and how far
its RGB frames are from the reference, FFmpeg's swscale through PyAV
(``frame.to_ndarray(format="rgb24")``): max and mean absolute difference in grey levels. A decoder
that is not installed is reported and skipped. With ``--cuda`` torchcodec's GPU decoder is timed.

    python tools/bench_decoders.py --repeat 5
    python tools/bench_decoders.py --sizes 160x120 --frames 8 --repeat 1     # a quick check
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


def vbench_frames(path: str) -> np.ndarray:
    from benchmark.data.video import open_video

    video = open_video(path)
    try:
        return video.read(list(range(video.num_frames)))
    finally:
        video.close()


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


DECODERS = {"vbench": vbench_frames, "decord": decord_frames, "pyav": pyav_frames,
            "opencv": opencv_frames, "torchcodec": torchcodec_frames}


def _encode(folder: Path, size: str, pix_fmt: str, frames: int, n: int) -> list[str]:
    paths = []
    for i in range(n):
        path = folder / f"{pix_fmt}_{size}_{i}.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size={size}:rate=25,noise=alls={8 + i}:allf=t", "-frames:v",
                        str(frames), "-pix_fmt", pix_fmt, "-c:v", "libx264", "-threads", "1",
                        str(path)], check=True)
        paths.append(str(path))
    return paths


def _groups(folder: Path, args) -> dict[str, list[str]]:
    from benchmark.data.corpus import build_corpus

    corpus = sorted(str(p) for p in build_corpus(progress=False).parent.rglob("*.mp4"))
    groups = {"8-bit vbench-mini 64px": corpus[:args.limit]}
    for size in args.sizes.split(","):
        for pix_fmt, bits in (("yuv420p", "8-bit"), ("yuv420p10le", "10-bit")):
            groups[f"{bits} {size}"] = _encode(folder, size, pix_fmt, args.frames, args.per_size)
    return groups


def _usable(decoders: dict, probe: str) -> tuple[dict, dict]:
    usable, errors = {}, {}
    for name, fn in decoders.items():
        try:
            fn(probe)
            usable[name] = fn
        except Exception as exc:  # not installed, or no libraries for it
            errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    return usable, errors


def _measure(groups, decoders, repeat) -> dict:
    seconds = {(g, d): [] for g in groups for d in decoders}
    for _ in range(repeat):  # interleaved rounds: a slow spell hits every decoder alike
        for group, files in groups.items():
            for name, fn in decoders.items():
                start = time.perf_counter()
                for path in files:
                    fn(path)
                seconds[group, name].append(time.perf_counter() - start)
    return seconds


def _differences(files, fn) -> tuple[int, float]:
    diffs = []
    for path in files:
        ours, ref = fn(path).astype(np.int16), pyav_frames(path).astype(np.int16)
        if ours.shape != ref.shape:
            return 255, float("nan")
        diffs.append(np.abs(ours - ref).ravel())
    flat = np.concatenate(diffs)
    return int(flat.max()), float(flat.mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=40, help="vbench-mini files")
    parser.add_argument("--sizes", default="160x120,640x360,1280x720")
    parser.add_argument("--frames", type=int, default=16, help="frames per encoded clip")
    parser.add_argument("--per-size", type=int, default=3, help="encoded clips per size and depth")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cuda", action="store_true", help="also torchcodec's GPU decoder")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    decoders = dict(DECODERS)
    if args.cuda:
        decoders["torchcodec_cuda"] = lambda p: torchcodec_frames(p, "cuda")
    with tempfile.TemporaryDirectory() as tmp:
        groups = _groups(Path(tmp), args)
        decoders, errors = _usable(decoders, groups["8-bit vbench-mini 64px"][0])
        seconds = _measure(groups, decoders, args.repeat)
        rows = []
        for group, files in groups.items():
            for name, fn in decoders.items():
                worst, mean = _differences(files, fn)
                rows.append({"group": group, "decoder": name, "videos": len(files),
                             "videos_per_s": len(files) / statistics.median(seconds[group, name]),
                             "max_diff": worst, "mean_diff": mean})
    print(f"medians of {args.repeat} interleaved rounds; differences against PyAV's rgb24 "
          f"(the reference); load {os.getloadavg()[0]:.1f}")
    print("| files | decoder | videos/s | max diff | mean diff |\n|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['group']} ({r['videos']}) | {r['decoder']} | {r['videos_per_s']:.1f} "
              f"| {r['max_diff']} | {r['mean_diff']:.3f} |")
    for name, why in errors.items():
        print(f"{name}: not run: {why}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "not_run": errors,
                                               "repeat": args.repeat}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
