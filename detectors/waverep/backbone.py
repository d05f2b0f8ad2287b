"""WaveRep's network body: a timm DINOv2 ViT (with registers) applied frame by frame.

Upstream (``demo/utils.py`` ``create_model``) builds ``timm.create_model(
'vit_base_patch14_reg4_dinov2.lvd142m', num_classes=1, pretrained=True, img_size=504)`` and
scores one frame at a time; the classifier is timm's ``head`` on the class token after the final
norm (``global_pool='token'``). Here the body stops before ``head`` (``num_classes=0``), so the
backbone returns timm's pooled pre-logits per frame and `detectors.waverep.head.WaveRepHead`
holds ``head``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from mmengine.model import BaseModule

from benchmark.api import WeightsError, mmaction_models

MODELS = mmaction_models()
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@MODELS.register_module()
class WaveRepViT(BaseModule):
    """Normalised clips ``[N, 3, T, H, W]`` → per-frame class-token features ``[N, T, C]``.

    Args:
        arch: a timm model name (upstream: ``vit_base_patch14_reg4_dinov2``), built with
            ``pretrained=False``: nothing downloads.
        timm_args: timm arguments over the architecture's own (upstream: ``img_size=504``; the mini
            shrinks the width and depth).
        pretrained: a local timm folder (``config.json`` + ``model.safetensors``, as published for
            ``timm/vit_base_patch14_reg4_dinov2.lvd142m``) or weights file: the DINOv2 start point
            of training, loaded by `init_weights` through timm's own filter (position embeddings
            resampled to ``img_size`` as ``pretrained=True`` does upstream). None: timm's random
            initialisation (seeded by the run).
        init_cfg: mmengine's init config (unused).
    """

    def __init__(self, arch: str, timm_args: dict[str, Any] | None = None,
                 pretrained: str | None = None, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        import timm

        if arch not in timm.list_models():
            raise ValueError(f"WaveRepViT: '{arch}' is not a timm model of timm {timm.__version__}")
        try:
            self.vit = timm.create_model(arch, pretrained=False, num_classes=0,
                                         **(timm_args or {}))
        except TypeError as exc:
            raise ValueError(f"WaveRepViT: timm '{arch}' refuses model.backbone.timm_args "
                             f"{timm_args}: {exc}") from None
        self.arch, self.pretrained = arch, pretrained
        self.out_channels = int(self.vit.num_features)

    def init_weights(self) -> None:
        """Loads ``pretrained`` (a local DINOv2 file, never a download); timm's own
        ``init_weights`` is not run again, so the construction-time init stays otherwise."""
        if self.pretrained:
            load_timm_folder(self.vit, Path(self.pretrained), self.arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        images = x.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)  # [N*T, 3, H, W], video-major
        tokens = self.vit.forward_features(images)  # [N*T, prefix + patches, C]
        pooled = self.vit.forward_head(tokens, pre_logits=True)  # [N*T, C]: the class token
        return pooled.reshape(n, t, -1)  # [N, T, C]


def load_timm_folder(vit: torch.nn.Module, path: Path, arch: str) -> None:
    """A timm folder's (or file's) weights into ``vit`` through timm's checkpoint filter, strictly
    (the classifier ``head``, absent from DINOv2's release, is the one key allowed to be missing).

    Raises:
        WeightsError: no weights file, a folder for another architecture, or mismatching keys.
    """
    from timm.models import vision_transformer as tv

    from benchmark.checkpoint import read_state_dict

    if path.is_dir():
        _check_arch(path / "config.json", arch)
        found = [path / f for f in WEIGHT_FILES if (path / f).is_file()]
        if not found:
            raise WeightsError(f"{path}: no {' or '.join(WEIGHT_FILES)} in this timm folder")
        path = found[0]
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = read_state_dict(path)
    state = tv.checkpoint_filter_fn(state, vit)  # DINOv2 names → timm, pos_embed resampled
    ours = vit.state_dict()
    missing = sorted(k for k in ours if k not in state and not k.startswith("head."))
    unexpected = sorted(k for k in state if k not in ours)
    shapes = [f"{k}: file {tuple(v.shape)} vs model {tuple(ours[k].shape)}"
              for k, v in state.items() if k in ours and v.shape != ours[k].shape]
    if missing or unexpected or shapes:
        raise WeightsError(f"{path}: does not match {arch} (missing: {missing[:4]}, unexpected: "
                           f"{unexpected[:4]}, shapes: {shapes[:4]})")
    vit.load_state_dict(state, strict=False)


def _check_arch(config: Path, arch: str) -> None:
    if not config.is_file():
        return
    theirs = json.loads(config.read_text()).get("architecture")
    if theirs and theirs.split(".")[0] != arch:
        raise WeightsError(f"{config}: architecture '{theirs}' but the config builds '{arch}'")
