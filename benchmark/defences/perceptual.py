"""The perceptual term of MMVGM's protection loss: LPIPS where it can run offline, else a fallback.

Upstream uses LPIPS with a VGG backbone (``lpips_pytorch``'s ``LPIPS(net_type='vgg')``). The
``lpips`` package ships its small linear heads but takes the backbone (torchvision's ImageNet AlexNet
or VGG16) from torch's hub cache, downloading it when absent. vbench never downloads weights, so
LPIPS is used only when that file is already in ``$TORCH_HOME/hub/checkpoints``.

The fallback is ``1 - SSIM`` (Gaussian 11x11 window, `benchmark.defences.quality.ssim`): a
differentiable, weight-free perceptual distance that is 0 for identical images, like LPIPS. Its
name is recorded with every result (``perceptual`` field), so numbers made with either are never
mixed up.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from benchmark.errors import DefenceConfigError

KINDS = ("auto", "lpips", "fallback")
LPIPS_NETS = {"alex": "AlexNet_Weights", "vgg": "VGG16_Weights"}
FALLBACK_NAME = "1-ssim"


@dataclass
class Perceptual:
    """A perceptual distance ``(x, y) -> [N]`` on float images ``[N, 3, H, W]`` in [0, 1].

    Attributes:
        name: ``lpips-vgg``, ``lpips-alex`` or ``1-ssim``.
        note: why this one was chosen (e.g. the missing backbone file), for the run record.
    """

    name: str
    fn: Callable = field(repr=False)
    note: str = ""

    def __call__(self, x, y):
        return self.fn(x, y)


def lpips_backbone_file(net: str) -> str:
    """Where torchvision keeps the ImageNet weights LPIPS's backbone ``net`` loads."""
    import torch
    import torchvision

    if net not in LPIPS_NETS:
        raise DefenceConfigError(f"lpips net '{net}' is not one of {sorted(LPIPS_NETS)}")
    url = getattr(torchvision.models, LPIPS_NETS[net]).IMAGENET1K_V1.url
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))


def lpips_missing(net: str) -> str | None:
    """Why LPIPS-``net`` cannot run offline here, or None when it can."""
    try:
        import lpips  # noqa: F401
    except ImportError:
        return "the lpips package is not installed (pip install 'vbench[lpips]')"
    path = lpips_backbone_file(net)
    if not os.path.isfile(path):
        return f"its {net} backbone weights are not in the torch hub cache ({path})"
    return None


def _lpips(net: str) -> Callable:
    import warnings

    import lpips

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torchvision's 'pretrained' deprecation
        model = lpips.LPIPS(net=net, verbose=False).eval()
    for p in model.parameters():
        p.requires_grad_(False)

    def distance(x, y):
        model.to(x.device)
        return model(x * 2 - 1, y * 2 - 1).flatten()  # LPIPS takes [-1, 1]

    return distance


def _one_minus_ssim(x, y):
    from benchmark.defences.quality import ssim

    return 1 - ssim(x, y)


def build_perceptual(kind: str = "auto", net: str = "vgg") -> Perceptual:
    """The perceptual distance to use.

    Args:
        kind: ``lpips`` (error when it cannot run offline), ``fallback`` (``1 - SSIM``) or ``auto``
            (LPIPS when its backbone weights are present, else the fallback).
        net: LPIPS backbone, ``vgg`` (upstream) or ``alex``.

    Raises:
        DefenceConfigError: unknown `kind`/`net`, or ``lpips`` asked for and unavailable.
    """
    if kind not in KINDS:
        raise DefenceConfigError(f"perceptual '{kind}' is not one of {KINDS}")
    missing = lpips_missing(net) if kind != "fallback" else "not asked for"
    if missing is None:
        return Perceptual(f"lpips-{net}", _lpips(net), "LPIPS (lpips package, local backbone)")
    if kind == "lpips":
        raise DefenceConfigError(f"perceptual 'lpips' cannot run offline: {missing}. Put the "
                                 f"torchvision weights there or use perceptual=fallback")
    return Perceptual(FALLBACK_NAME, _one_minus_ssim, f"fallback 1-SSIM: LPIPS-{net} unavailable "
                      f"({missing})" if kind == "auto" else "fallback 1-SSIM (asked for)")
