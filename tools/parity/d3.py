#!/usr/bin/env python
"""D3 parity: vbench's paper config against upstream's code (d3_upstream.py, second interpreter).

    .venv/bin/python tools/parity/d3.py --upstream-python /tmp/d3_upvenv/bin/python \\
        --repo /path/to/D3 --work /tmp/d3_parity

Renders three camera-like mp4 files (scikit-image photographs; two 3 s at 8 fps, one 4 s at
24 fps that ffmpeg's fps filter resamples), runs upstream's frame extraction, preprocessing and
model on them with a seeded random X-CLIP saved by upstream's transformers, then vbench's
``d3/paper`` with ``d3.encoder_path`` on that folder — from the mp4 (its ffmpeg JPEG extraction,
``d3.frames_from=ffmpeg_jpeg``), from the mp4 decoded directly (``frames_from=decoded``) and from
upstream's extracted JPEG frames — and prints the differences (network input, per-frame features,
upstream's statistic, the score).
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
from tools.parity.parity import _photo, diff  # noqa: E402


def render(photo: str, path: Path, frames: int, height: int, width: int, fps: int = 8) -> str:
    """A slow pan and roll over ``photo`` at ``fps`` (8: upstream's extraction rate, nothing
    resampled; 24: ffmpeg's fps filter keeps every third frame)."""
    import cv2

    from benchmark.data.corpus_render import encode_mp4

    image = _photo(photo)
    h, w = image.shape[:2]
    out = []
    for t in range(frames):
        scale = (1 + 0.01 * t) * min(height / h, width / w) * 1.1
        matrix = cv2.getRotationMatrix2D((w / 2 + 3 * t, h / 2 + t), 2 * np.sin(t / 4), scale)
        matrix[:, 2] += (width / 2 - w / 2, height / 2 - h / 2)
        out.append(cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REFLECT_101))
    encode_mp4(np.stack(out), path, fps=fps, crf=20)
    return str(path)


def ours(detector, path: str):
    """vbench's normalised input ``[T, 3, H, W]``, features ``[T, C]``, statistic and score."""
    frames, index = detector.clip_reader().read_frames(path, None)  # [F, S, S, 3], [1, T]
    clip = torch.from_numpy(frames[index[0]]).permute(3, 0, 1, 2)[None]  # [1, 3, T, S, S]
    x = detector.normalize(clip)
    with torch.no_grad():
        feats = detector.model.backbone(x)  # [1, T, C]
        logit = detector.model.cls_head(feats)
    std = detector.model.cls_head.center - logit[0, 0] * detector.model.cls_head.temperature
    return x[0].permute(1, 0, 2, 3), feats[0], float(std), float(detector.clip_scores(clip)[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-python", required=True)
    parser.add_argument("--repo", required=True, help="the D3 checkout at the pinned commit")
    parser.add_argument("--work", default="/tmp/d3_parity", type=Path)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    videos = [render("coffee", args.work / "coffee_270x480.mp4", 24, 270, 480),
              render("chelsea", args.work / "chelsea_360x300.mp4", 24, 360, 300),
              render("astronaut", args.work / "astronaut_240x320_24fps.mp4", 96, 240, 320, fps=24)]
    subprocess.run([args.upstream_python, str(Path(__file__).with_name("d3_upstream.py")),
                    args.repo, str(args.work), *videos], check=True)
    from benchmark.detector import build_detector
    from benchmark.registry import registry

    config = registry().get("d3").config("paper")
    config["d3"]["encoder_path"] = str(args.work / "xclip_seeded")
    detector = build_detector("d3", config)
    decoded = build_detector("d3", {**config, "d3": {**config["d3"], "frames_from": "decoded"}})
    for video in videos:
        up = np.load(args.work / f"{Path(video).stem}_upstream.npz")
        score = 1 / (1 + np.exp(up["std"][0]))  # sigmoid(0 - std): the paper config's map
        for name, det, source in ((f"{Path(video).stem} from mp4 (ffmpeg_jpeg)", detector, video),
                                  (f"{Path(video).stem} from mp4 (decoded)", decoded, video),
                                  (f"{Path(video).stem} from upstream JPEGs", detector,
                                   str(up["frames_dir"]))):
            x, feats, std, our_score = ours(det, source)
            print(f"{name}: input {diff(x, up['input'])}; features {diff(feats, up['features'])}; "
                  f"std ours {std:.6g} upstream {up['std'][0]:.6g} (|diff| {abs(std - up['std'][0]):.3g}); "
                  f"score |diff| {abs(our_score - score):.3g}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
