"""The ConvNeXt classifier both GenConViT networks run on an image and on its reconstruction."""
from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from benchmark.errors import RegistryError


def build_convnext(cfg: Mapping[str, Any]) -> nn.Module:
    """A timm ConvNeXt, never with downloaded weights.

    Args:
        cfg: either ``{"name": "convnext_tiny", ...}`` (a timm model name and its keyword
            arguments; the paper) or ``{"depths": [...], "dims": [...], "num_classes": n}`` (a
            ``timm.models.convnext.ConvNeXt`` of any size; the mini config). The model's output is
            its ``num_classes``-d logits, which GenConViT uses as features (1000 in the paper).
    """
    import timm
    from timm.models.convnext import ConvNeXt

    cfg = dict(cfg)
    if cfg.pop("pretrained", False):
        raise RegistryError("GenConViT convnext: pretrained=true would download weights; load the "
                            "official checkpoint with --weights instead")
    name = cfg.pop("name", None)
    if name is not None:
        return timm.create_model(name, pretrained=False, **cfg)
    if "depths" not in cfg or "dims" not in cfg:
        raise RegistryError(f"GenConViT convnext: expected 'name' or 'depths' and 'dims', got "
                            f"{sorted(cfg)}")
    return ConvNeXt(**cfg)


def convnext_out_features(model: nn.Module) -> int:
    """Width of the ConvNeXt's output (its classifier's ``out_features``)."""
    return int(model.head.fc.out_features)
