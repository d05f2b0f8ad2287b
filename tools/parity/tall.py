#!/usr/bin/env python
"""TALL parity: vbench's paper config against DeepfakeBench's code (tall_upstream.py, second
interpreter), from the video file.

    .venv/bin/python tools/parity/tall.py --upstream-python /tmp/tall_up/bin/python \\
        --repos /path/to/checkouts --work /tmp/tall_parity

Renders parity.py's two face videos, runs DeepfakeBench's preprocessing, loader steps and
``TALLDetector`` (seeded random weights, saved as ``tall.pth``) on them, then vbench's
``tall/paper`` with ``tall.pth`` loaded strictly through ``TALL_KEY_MAP``, on the same files, and
prints the differences: frames with a face, network input, logits from the video, logits on
upstream's own input.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tools.parity.parity import diff, make_videos  # noqa: E402


def ours(detector, paths: list[str]) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """Frames with an aligned face per video, normalised clips ``[K, 4, 3, 224, 224]`` (upstream's
    order) and the logits ``[K, 2]`` of vbench's paper TALL."""
    from benchmark.data import video as video_io
    from benchmark.data.dataset import ClipReader
    from benchmark.data.presets import deepfakebench_faces

    reader, counts, clips = ClipReader(detector.spec), [], []
    for path in paths:
        video = video_io.open_video(path)
        counts.append(len(deepfakebench_faces(reader, video)))
        video.close()
        clips.append(detector.normalize(reader(path)))  # [K, 3, 4, 224, 224]
    x = torch.cat(clips)  # [K, 3, 4, 224, 224]
    with torch.inference_mode():
        logits = detector.forward_logits(x)
    return counts, x.permute(0, 2, 1, 3, 4), logits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-python", required=True)
    parser.add_argument("--repos", required=True, help="folder holding DeepfakeBench/ (pinned)")
    parser.add_argument("--work", default="/tmp/tall_parity", type=Path)
    parser.add_argument("--skip-upstream", action="store_true", help="reuse WORK's outputs")
    args = parser.parse_args(argv)
    videos = make_videos(args.work)["faces"]
    if not args.skip_upstream:
        subprocess.run([args.upstream_python, str(Path(__file__).with_name("tall_upstream.py")),
                        args.repos, str(args.work)], check=True)
    from benchmark.detector import build_detector

    detector = build_detector("tall", "paper")
    print("tall.pth:", detector.load_weights(args.work / "tall.pth"), flush=True)
    up = np.load(args.work / "tall.npz")
    counts, x, logits = ours(detector, videos)
    with torch.inference_mode():
        same = detector.forward_logits(torch.from_numpy(up["input"]).permute(0, 2, 1, 3, 4))
    print(f"frames with an aligned face (ours / upstream): {counts} / {up['counts'].tolist()}")
    print(f"clips (ours / upstream): {len(x)} / {int(up['clips'].sum())}")
    print(f"network input (normalised, {len(x)} clips): {diff(x, up['input'])}")
    print(f"random-weight logits, video -> logits: {diff(logits, up['logits'])}")
    print(f"random-weight logits, upstream's input: {diff(same, up['logits'])}")
    print(f"logit range (upstream): [{up['logits'].min():.4g}, {up['logits'].max():.4g}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
