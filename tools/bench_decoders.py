#!/usr/bin/env python
"""Decoders side by side on the same files: decord, PyAV, OpenCV, torchcodec, and vbench's own
routing (`benchmark.data.video`: decord on 8-bit files, PyAV deeper).

Files: the embedded corpus (vbench-mini, 64 px) and clips this script encodes with ffmpeg's
libx264 at several resolutions, 8-bit (yuv420p) and 10-bit (yuv420p10le). For each decoder and
group (bit depth x resolution), in two access patterns: ``all`` (every frame of every file) and
``sparse`` (``--sparse`` frames spread evenly over each file, what an evaluation reads: decord's
``get_batch`` and torchcodec's ``get_frames_at`` seek, PyAV and OpenCV decode forward to the last
wanted frame, grabbing without converting the frames in between): videos/s, the median over
``--repeat`` interleaved rounds (round 1 runs every decoder once, round 2 again, ...), and how far
its RGB frames are from the reference, FFmpeg's swscale through PyAV
(``frame.to_ndarray(format="rgb24")``, every frame decoded in order): max and mean absolute
difference in grey levels. For the sparse pattern that difference also catches a seek that
lands on the wrong frame. Every decoder decodes on one thread, as each of vbench's loader workers
does, except ``opencv_threads`` (FFmpeg's own thread count, OpenCV's default) and vbench's PyAV
path for files deeper than 8 bits (``thread_type="AUTO"``). A decoder that is not installed is reported and skipped. With
``--cuda`` torchcodec's GPU decoder is timed.

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


def _capture(path: str, threads: int | None):
    """OpenCV's FFmpeg capture; ``threads`` None: FFmpeg's own count (all cores)."""
    import cv2

    if threads is None:
        return cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    return cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])


def opencv_frames(path: str, threads: int | None = 1) -> np.ndarray:
    import cv2

    capture, frames = _capture(path, threads), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return np.stack(frames)


DECODERS = {"vbench": vbench_frames, "decord": decord_frames, "pyav": pyav_frames,
            "opencv": opencv_frames, "opencv_threads": lambda path: opencv_frames(path, None),
            "torchcodec": torchcodec_frames}


def spread(num_frames: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over ``num_frames`` (all of them when fewer)."""
    if num_frames <= count:
        return list(range(num_frames))
    return [int(round(i * (num_frames - 1) / (count - 1))) for i in range(count)]


def _count(path: str) -> int:
    import av

    with av.open(path) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


def decord_sparse(path: str, indices: list[int]) -> np.ndarray:
    import decord

    return decord.VideoReader(path, num_threads=1).get_batch(indices).asnumpy()


def pyav_sparse(path: str, indices: list[int]) -> np.ndarray:
    import av

    wanted, found = set(indices), {}
    with av.open(path) as container:
        for i, frame in enumerate(container.decode(container.streams.video[0])):
            if i in wanted:
                found[i] = frame.to_ndarray(format="rgb24")
            if i >= indices[-1]:
                break
    return np.stack([found[i] for i in indices])


def opencv_sparse(path: str, indices: list[int], threads: int | None = 1) -> np.ndarray:
    import cv2

    capture, wanted, found = _capture(path, threads), set(indices), {}
    for i in range(indices[-1] + 1):
        if not capture.grab():
            break
        if i in wanted:
            ok, frame = capture.retrieve()
            found[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    capture.release()
    return np.stack([found[i] for i in indices])


def vbench_sparse(path: str, indices: list[int]) -> np.ndarray:
    from benchmark.data.video import open_video

    video = open_video(path)
    try:
        return video.read(indices)
    finally:
        video.close()


def torchcodec_sparse(path: str, indices: list[int]) -> np.ndarray:
    from torchcodec.decoders import VideoDecoder

    decoder = VideoDecoder(path, dimension_order="NHWC", num_ffmpeg_threads=1)
    return decoder.get_frames_at(indices).data.numpy()


SPARSE = {"vbench": vbench_sparse, "decord": decord_sparse, "pyav": pyav_sparse,
          "opencv": opencv_sparse,
          "opencv_threads": lambda path, indices: opencv_sparse(path, indices, None),
          "torchcodec": torchcodec_sparse}


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


def _patterns(decoders: dict, indices: dict[str, list[int]]) -> dict[str, dict]:
    """``all`` and ``sparse``: per decoder, a function of one path."""
    def sparse(name):
        return lambda path: SPARSE[name](path, indices[path])

    return {"all": decoders, "sparse": {name: sparse(name) for name in decoders if name in SPARSE}}


def _measure(groups, patterns, repeat) -> dict:
    seconds = {(g, p, d): [] for g in groups for p, ds in patterns.items() for d in ds}
    for _ in range(repeat):  # interleaved rounds: a slow spell hits every decoder alike
        for group, files in groups.items():
            for pattern, decoders in patterns.items():
                for name, fn in decoders.items():
                    start = time.perf_counter()
                    for path in files:
                        fn(path)
                    seconds[group, pattern, name].append(time.perf_counter() - start)
    return seconds


def _differences(files, fn, indices=None) -> tuple[int, float]:
    diffs = []
    for path in files:
        ref = pyav_frames(path)
        if indices is not None:
            ref = ref[indices[path]]
        ours, ref = fn(path).astype(np.int16), ref.astype(np.int16)
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
    parser.add_argument("--sparse", type=int, default=16, help="frames per file of the sparse pattern")
    parser.add_argument("--cuda", action="store_true", help="also torchcodec's GPU decoder")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    decoders = dict(DECODERS)
    if args.cuda:
        decoders["torchcodec_cuda"] = lambda p: torchcodec_frames(p, "cuda")
    with tempfile.TemporaryDirectory() as tmp:
        groups = _groups(Path(tmp), args)
        decoders, errors = _usable(decoders, groups["8-bit vbench-mini 64px"][0])
        indices = {path: spread(_count(path), args.sparse) for files in groups.values() for path in files}
        patterns = _patterns(decoders, indices)
        load = os.getloadavg()[0]
        seconds = _measure(groups, patterns, args.repeat)
        rows = []
        for group, files in groups.items():
            for pattern, fns in patterns.items():
                for name, fn in fns.items():
                    worst, mean = _differences(files, fn, indices if pattern == "sparse" else None)
                    rate = len(files) / statistics.median(seconds[group, pattern, name])
                    rows.append({"group": group, "pattern": pattern, "decoder": name,
                                 "videos": len(files), "videos_per_s": rate,
                                 "max_diff": worst, "mean_diff": mean})
    print(f"medians of {args.repeat} interleaved rounds; differences against PyAV's rgb24 "
          f"(the reference); load {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print("| files | frames read | decoder | videos/s | max diff | mean diff |\n"
          "|---|---|---|---:|---:|---:|")
    for r in rows:
        frames = "all" if r["pattern"] == "all" else f"{args.sparse} spread"
        print(f"| {r['group']} ({r['videos']}) | {frames} | {r['decoder']} | {r['videos_per_s']:.1f} "
              f"| {r['max_diff']} | {r['mean_diff']:.3f} |")
    for name, why in errors.items():
        print(f"{name}: not run: {why}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "not_run": errors,
                                               "repeat": args.repeat}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
