"""ImageNet Swin weights into `TALLSwin`, as upstream's ``load_pretrained`` adapts them.

DeepfakeBench's ``tall_detector.py`` loads an ImageNet Swin checkpoint (``{"model": state}``, the
Microsoft/timm 0.6 layout) before training and changes it on the way in:

- ``attn_mask`` and ``relative_position_index`` buffers are dropped (rebuilt for TALL's windows);
- each ``relative_position_bias_table`` of another size (window 7 → 14: 13² → 27² rows) is
  resized bilinearly as a ``[1, heads, 13, 13]`` image;
- ``head.*`` (1000 or 21841 ImageNet classes) is dropped; ``frame_pos_embed`` keeps its init.

Upstream then loads with ``strict=False``. Here every other tensor must be there with our shape:
a missing, unknown or reshaped key is refused, naming the file and the key.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmark.api import WeightsError

DROPPED = (r"(^|\.)attn_mask$", r"(^|\.)relative_position_index$", r"^head\.")
KEPT_FRESH = ("frame_pos_embed",)  # TALL's own parameter: no ImageNet counterpart
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def read_imagenet(path: str | Path) -> dict:
    """The state dict of a checkpoint file, or of a timm/transformers-style folder's weights file."""
    from benchmark.checkpoint import read_state_dict

    path = Path(path)
    if path.is_dir():
        found = [path / f for f in WEIGHT_FILES if (path / f).is_file()]
        if not found:
            raise WeightsError(f"{path}: no {' or '.join(WEIGHT_FILES)} in this folder")
        path = found[0]
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types for damaged files
            raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from None
    return read_state_dict(path)


def resize_bias_table(table: torch.Tensor, rows: int) -> torch.Tensor:
    """``[(2w-1)², heads]`` → ``[rows, heads]`` by bilinear resizing of the square table."""
    side, new = int(math.isqrt(table.shape[0])), int(math.isqrt(rows))
    image = table.t().reshape(1, -1, side, side)  # [1, heads, 2w-1, 2w-1]
    image = F.interpolate(image, size=new, mode="bilinear")
    return image.reshape(-1, new * new).t()


def adapt_imagenet(state: dict, ours: dict, origin: str | Path) -> dict:
    """``state`` (ImageNet Swin) → the subset of ``ours`` (`TALLSwin.state_dict`) it fills.

    Raises:
        WeightsError: a key of the file that TALL has no place for, a key of TALL (other than
            `KEPT_FRESH` and the rebuilt buffers) that the file lacks, or a shape that differs
            (after the bias-table resize), each naming the file and the key.
    """
    taken = {}
    for key, value in state.items():
        if any(re.search(p, key) for p in DROPPED):
            continue
        if key not in ours:
            raise WeightsError(f"{origin}: key '{key}' is not an ImageNet Swin tensor that TALL's "
                               f"backbone has (expected the Microsoft / timm 0.6 Swin layout)")
        if key.endswith("relative_position_bias_table") and value.shape[0] != ours[key].shape[0]:
            value = resize_bias_table(value.float(), ours[key].shape[0])
        if tuple(value.shape) != tuple(ours[key].shape):
            raise WeightsError(f"{origin}: key '{key}' has shape {tuple(value.shape)} but TALL's "
                               f"backbone has {tuple(ours[key].shape)}")
        taken[key] = value
    rebuilt = [k for k in ours if any(re.search(p, k) for p in DROPPED[:2])]
    missing = [k for k in ours if k not in taken and k not in KEPT_FRESH and k not in rebuilt]
    if missing:
        raise WeightsError(f"{origin}: {len(missing)} backbone keys are missing from the file, "
                           f"first: {', '.join(missing[:5])}")
    return taken
