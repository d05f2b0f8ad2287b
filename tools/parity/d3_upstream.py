"""Upstream side of the D3 parity check; runs in an interpreter with upstream's versions.

    python d3_upstream.py D3_CHECKOUT WORK VIDEO...

For each video: ``utils/video2frame.py``'s ffmpeg command (start 0: the videos are 3 s long, where
upstream's random start is 0), then ``data/datasets.py`` ``read_video`` with
``set_preprocessing(None, None)`` and ``models/D3_model.py`` ``D3_model(loss l2)``, whose encoder is
``XCLIPVisionModel.from_pretrained`` of a local folder: a seeded random X-CLIP with
xclip-base-patch16's shapes, written by this interpreter's ``save_pretrained`` (upstream's layout).
The folder, frames and outputs go to WORK for the vbench side (d3.py).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

VISION = {"image_size": 224, "patch_size": 16, "num_frames": 8, "hidden_size": 768,
          "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
          "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "drop_path_rate": 0.0}


def seeded_encoder(folder: Path) -> None:
    """A full XCLIPModel (text tower 1 layer: unused, smaller file) with seeded noise on every
    tensor, so that LayerNorms and biases matter; saved as transformers saves the release."""
    import transformers

    torch.manual_seed(0)
    config = transformers.XCLIPConfig(projection_dim=512, text_config={"num_hidden_layers": 1},
                                      vision_config=VISION)
    model = transformers.XCLIPModel(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    model.save_pretrained(folder)


def main(repo: str, work: str, videos: list[str]) -> None:
    sys.path.insert(0, repo)
    from transformers import XCLIPVisionModel

    from data.datasets import read_video, set_preprocessing
    from models.D3_model import D3_model

    work_dir = Path(work)
    folder = work_dir / "xclip_seeded"
    seeded_encoder(folder)
    model = D3_model(encoder_type="none", loss_type="l2")  # no branch: nothing downloads
    model.encoder_type = "XCLIP-16"  # the branch upstream's forward takes for XCLIP-16
    model.encoder = XCLIPVisionModel.from_pretrained(str(folder))
    model.eval()
    for video in videos:
        frames_dir = work_dir / "frames" / Path(video).stem
        frames_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ffmpeg", "-loglevel", "quiet", "-y", "-ss", "0", "-t", "3", "-i", video,
                        "-vf", "fps=8", f"{frames_dir}/%d.jpg"], check=True)
        frames = read_video(str(frames_dir), trans=set_preprocessing(None, None))  # [T, 3, 224, 224]
        with torch.no_grad():
            feats, _, std = model(frames[None])
        np.savez(work_dir / f"{Path(video).stem}_upstream.npz", input=frames.numpy(),
                 features=feats[0].numpy(), std=std.numpy(), frames_dir=str(frames_dir))
        print(Path(video).name, "frames", len(frames), "std", float(std[0]), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
