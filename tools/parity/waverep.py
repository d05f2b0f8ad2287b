#!/usr/bin/env python
"""WaveRep parity: vbench's paper config against upstream's demo code (waverep_upstream.py, in a
second interpreter with upstream's timm).

    .venv/bin/python tools/parity/waverep.py --upstream-python /tmp/waverep_up/bin/python \\
        --repo /path/to/WaveRep-SyntheticVideoDetection --work /tmp/waverep_parity

Renders two short camera-like mp4 files (scikit-image photographs), one smaller than 504 px (zero
padded by CenterCrop) and one larger (cropped); upstream reads every frame with OpenCV, centre
crops, normalises and scores them with a seeded random ViT-B/14-reg4 saved as a Lightning
checkpoint; vbench's ``waverep/paper`` loads that file with ``load_weights`` and scores the same
mp4. Prints the differences of the network input, frame logits and the video logit and score,
and of the band replacement (upstream ``waverep_d2`` at prob 1 against ours).
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
from tools.parity.parity import diff, render  # noqa: E402


def ours(detector, path: str):
    """vbench's normalised frames ``[F, 3, 504, 504]``, frame logits ``[F]``, video logit."""
    clips = detector.clip_reader()(path)  # [F, 3, 1, 504, 504]: one clip per frame
    x = detector.normalize(clips)[:, :, 0]
    logits = detector.clip_logits(clips)[:, 0]
    video = detector.video_scores(clips, torch.zeros(len(clips), dtype=torch.long), 1)
    return x.numpy(), logits.numpy(), float(logits.mean()), float(video[0])


def augmentation(work: Path) -> str:
    """Our band replacement (both replacements) on upstream's two frames against waverep_d2."""
    from detectors.waverep.wavelet import band_masks, replace_bands

    up = np.load(work / "augmentation_upstream.npz")
    approx, mixed = band_masks(504, 504, 3)
    got = replace_bands(torch.from_numpy(up["fake"]), torch.from_numpy(up["real"]),
                        approx + mixed, 3)
    return diff(got.numpy(), up["mixed"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-python", required=True)
    parser.add_argument("--repo", required=True, help="WaveRep checkout at the pinned commit")
    parser.add_argument("--work", default="/tmp/waverep_parity", type=Path)
    parser.add_argument("--frames", type=int, default=4, help="frames per test video")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    videos = [render("coffee", args.work / "coffee_270x482.mp4", args.frames, 270, 482),
              render("chelsea", args.work / "chelsea_720x640.mp4", args.frames, 720, 640)]
    subprocess.run([args.upstream_python, str(Path(__file__).with_name("waverep_upstream.py")),
                    args.repo, str(args.work), *videos], check=True)
    from benchmark.detector import build_detector

    detector = build_detector("waverep", "paper")
    print(detector.load_weights(args.work / "waverep_seeded.ckpt"), flush=True)
    for video in videos:
        up = np.load(args.work / f"{Path(video).stem}_upstream.npz")
        x, logits, logit, score = ours(detector, video)
        theirs = 1 / (1 + np.exp(-float(up["video_logit"])))  # main_avideo.py: expit
        print(f"{Path(video).stem}: frames ours {len(logits)} upstream {len(up['logits'])}; "
              f"input {diff(x, up['input'])}; frame logits {diff(logits, up['logits'])}; "
              f"video logit ours {logit:.6g} upstream {float(up['video_logit']):.6g}; "
              f"score |diff| {abs(score - theirs):.3g}", flush=True)
    print(f"band replacement (waverep_d2 prob 1, haar, 3 levels): {augmentation(args.work)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
