"""Upstream side of the WaveRep parity check; runs in an interpreter with upstream's timm.

    python waverep_upstream.py WAVEREP_CHECKOUT WORK VIDEO...

Runs ``demo/utils.py`` as ``main_avideo.py`` does (``create_transform(504)``, ``create_model``,
``ReadVideoIteratorCV``, ``evaluate``; video logit = mean frame logit) on each video, with one
change: ``create_model`` calls ``timm.create_model(..., pretrained=True)``, which downloads
DINOv2 from the hub; here that call gets ``pretrained=False`` (its DINOv2 weights are replaced
by the checkpoint's in the next line of upstream's code anyway). The checkpoint is a seeded
random ViT-B/14-reg4 at 504 px saved as a Lightning ``.ckpt`` (``{"state_dict": {"model.<k>"}}``),
the layout upstream's loader unwraps. Also runs ``augmentation/pytorch_wt.py``'s ``waverep_d2``
(haar, 3 levels) with ``prob=1`` on two decoded frames. Outputs go to WORK for waverep.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

ARC, CROP = "vit_base_patch14_reg4_dinov2.lvd142m", 504


def seeded_checkpoint(path: Path) -> None:
    """Every tensor of upstream's network drawn from a seeded normal, scaled by fan-in."""
    import timm

    model = timm.create_model(ARC, pretrained=False, num_classes=1, img_size=CROP)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, value in model.state_dict().items():
            fan_in = int(np.prod(value.shape[1:])) if value.dim() > 1 else 1
            scale = 0.02 if value.dim() < 2 else 1 / np.sqrt(fan_in)
            value.copy_(torch.randn(value.shape, generator=gen) * scale
                        + (1.0 if name.endswith(("norm1.weight", "norm2.weight", "norm.weight")) else 0.0))
    torch.save({"epoch": 0, "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}},
               path)


def main(repo: str, work: str, videos: list[str]) -> None:
    import timm

    sys.path.insert(0, str(Path(repo) / "demo"))
    real_create = timm.create_model
    timm.create_model = lambda *a, **kw: real_create(*a, **{**kw, "pretrained": False})
    from utils import ReadVideoIteratorCV, create_model, create_transform, evaluate

    work_dir = Path(work)
    ckpt = work_dir / "waverep_seeded.ckpt"
    seeded_checkpoint(ckpt)
    device = torch.device("cpu")
    transform = create_transform(CROP)
    model = create_model(str(ckpt), ARC, CROP, device)
    for video in videos:
        inputs = np.stack([frame.numpy() for _, frame in ReadVideoIteratorCV(video, transform)])
        tab = evaluate(model, ReadVideoIteratorCV(video, transform=transform), device)
        np.savez(work_dir / f"{Path(video).stem}_upstream.npz", input=inputs,
                 logits=tab["logit"].to_numpy(), video_logit=tab["logit"].mean())
        print(Path(video).name, "frames", len(tab), "logit", tab["logit"].mean(), flush=True)
    sys.path.insert(0, str(Path(repo) / "augmentation"))
    from pytorch_wt import waverep_d2

    first = np.stack([next(iter(ReadVideoIteratorCV(v, transform)))[1].numpy() for v in videos])
    real, fake = torch.from_numpy(first[0:1]), torch.from_numpy(first[1:2])  # [1, 3, 504, 504]
    _, mixed = waverep_d2("haar", prob=1.0, num_levels=3).eval()(real, fake)
    np.savez(work_dir / "augmentation_upstream.npz", real=real.numpy(), fake=fake.numpy(),
             mixed=mixed.numpy())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
