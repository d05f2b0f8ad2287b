"""Upstream side of the TALL parity check; runs in an interpreter with upstream's versions.

    python tall_upstream.py REPOS WORK

REPOS holds ``DeepfakeBench/`` at the pinned commit, WORK the face videos of ``parity.py``'s
``make_videos``. For each face video: DeepfakeBench's preprocessing (``preprocess.py``'s
``extract_aligned_face_dlib``, 68-point predictor) and loader steps
(`upstream_side.deepfakebench_inputs`, ImageNet mean/std of ``tall.yaml``), its test-mode clip
rule, then ``training/detectors/tall_detector.py``'s ``TALLDetector`` built from ``tall.yaml``
(Swin-B) with seeded random weights, saved as DeepfakeBench saves a detector
(``torch.save(model.state_dict())``) to ``WORK/tall.pth``; inputs and logits to ``WORK/tall.npz``.

Two things in upstream cannot run as they are here, and are supplied:
- ``create_image_pos_embed`` and ``pad_frames`` call ``.cuda()`` (no GPU here): ``Tensor.cuda``
  returns the tensor itself;
- ``load_pretrained`` logs through ``_logger``, which the module never defines (with
  ``pretrained: null`` upstream raises NameError): it is given the module's ``logger``.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from upstream_side import _stub, deepfakebench_inputs, randomize  # noqa: E402

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])  # tall.yaml mean / std


def clip_starts(total: int, clip_size: int = 4, frame_num: int = 32) -> list[int]:
    """``abstract_dataset.py``'s video-level rule in test mode (its ``mode != 'train'`` branch)."""
    total = min(total, frame_num)
    num_clips = total // clip_size
    if num_clips <= 1:
        return [0]
    step = (total - clip_size) // (num_clips - 1)
    return [i * step for i in range(num_clips)]


def upstream_module(repos: Path):
    """``tall_detector.py`` imported with placeholders for the training harness around it."""
    import torch.nn as nn

    registry = types.SimpleNamespace(register_module=lambda **k: (lambda cls: cls))
    for name, attrs in {"detectors": {"DETECTOR": registry},
                        "detectors.base_detector": {"AbstractDetector": nn.Module},
                        "loss": {"LOSSFUNC": {"cross_entropy": nn.CrossEntropyLoss}},
                        "metrics": {}, "metrics.base_metrics_class":
                        {"calculate_metrics_for_train": None}}.items():
        _stub(name, **attrs)
    sys.modules["detectors"].__path__ = []  # a package, for the module's relative import
    source = repos / "DeepfakeBench" / "training" / "detectors" / "tall_detector.py"
    spec = importlib.util.spec_from_file_location("detectors.tall_detector", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._logger = module.logger  # see the module docstring
    return module


def main(repos: str, work: str) -> None:
    repos_dir, work_dir = Path(repos), Path(work)
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # see the module docstring
    config = yaml.safe_load((repos_dir / "DeepfakeBench" / "training" / "config" / "detector" /
                             "tall.yaml").read_text())
    module = upstream_module(repos_dir)
    model = module.TALLDetector(config).eval()
    masks = {k: v.clone() for k, v in model.state_dict().items() if k.endswith("attn_mask")}
    randomize(model, 11)
    model.load_state_dict(masks, strict=False)  # the shifted-window masks stay what they are
    torch.save(model.state_dict(), work_dir / "tall.pth")
    inputs, counts = deepfakebench_inputs(repos_dir, work_dir, *IMAGENET, "tall")
    clips, logits = [], []
    for frames in inputs:
        video = torch.stack([torch.from_numpy(frames[s:s + 4]) for s in clip_starts(len(frames))])
        with torch.no_grad():  # [K, 4, 3, 224, 224] -> [K, 2]
            logits.append(model({"image": video})["cls"].numpy())
        clips.append(video.numpy())
        print(f"video with {len(frames)} face frames: {len(video)} clips", flush=True)
    np.savez(work_dir / "tall.npz", input=np.concatenate(clips), logits=np.concatenate(logits),
             counts=np.array(counts), clips=np.array([len(c) for c in clips]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
