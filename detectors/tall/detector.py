"""TALL as a vbench detector: thumbnail layout + Swin-B, trained with cross-entropy.

The model is an mmaction2 ``Recognizer3D``: ``ActionDataPreprocessor`` (ImageNet mean/std, as
``tall.yaml``), `TALLSwin` (the thumbnail and the Swin stages) and mmaction2's ``I3DHead``
(average pool over the tokens, no dropout, ``fc_cls`` 1024 → 2). DeepfakeBench saves its detector's
``state_dict()``: the Swin under ``model.``, the classifier as ``model.head``:

========================  ===========================
official key (tall.pth)   ours
========================  ===========================
``model.head.<w|b>``      ``cls_head.fc_cls.<w|b>``
``model.<rest>``          ``backbone.<rest>`` (identical: ``frame_pos_embed``, ``patch_embed.*``,
                          ``layers.{i}.blocks.{j}.*`` with the ``relative_position_index`` and
                          ``attn_mask`` buffers, ``layers.{i}.downsample.*``, ``norm.*``)
========================  ===========================
"""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from benchmark.api import Detector, KeyMap, RegistryError, mmaction_models
from benchmark.config import DetectorConfig, Section

mmaction_models()  # mmaction2's models (and the import shim) before our backbone registers itself
from detectors.tall import backbone as _backbone  # noqa: E402,F401  registers TALLSwin

TALL_KEY_MAP = KeyMap.prefixes([("model.head.", "cls_head.fc_cls."), ("model.", "backbone.")])


class TALLSection(Section):
    """Whether a training run without ImageNet weights is meant (the mini) or refused (paper)."""

    random_init: bool = False


class TALLConfig(DetectorConfig):
    tall: TALLSection = Field(default_factory=TALLSection)


class TALLDetector(Detector):
    """TALL; score = softmax(logits)[:, 1], video score = mean over its clips (upstream's
    video-level metric averages the clip predictions of a video).

    Args:
        config: see `benchmark.detector.Detector`, plus ``tall`` (`TALLSection`); the input
            spec's ``frames`` must be the backbone's ``num_frames``.
    """

    key_map: ClassVar[KeyMap] = TALL_KEY_MAP
    config_schema: ClassVar[type[DetectorConfig]] = TALLConfig

    def __init__(self, config: dict[str, Any]):
        _check_config(config)
        super().__init__(config)

    @classmethod
    def run_problem(cls, config: dict[str, Any], has_weights: bool) -> str | None:
        """Refuses to train a config from random weights unless it says so: upstream's
        ``load_pretrained`` cannot build TALL without an ImageNet checkpoint."""
        backbone = config.get("model", {}).get("backbone", {})
        if has_weights or backbone.get("pretrained") or config.get("tall", {}).get("random_init"):
            return None
        return (f"tall config {config.get('name')}: model.backbone.pretrained is not set, so "
                f"training would start Swin-B from random weights (upstream starts from ImageNet "
                f"and cannot build without it); pass --cfg-options model.backbone.pretrained="
                f"/path/to/swin_base_patch4_window7_224_22k.pth (a local file or timm folder) or "
                f"--weights tall.pth (DeepfakeBench's trained checkpoint)")


def _check_config(config: dict[str, Any]) -> None:
    """Refuses an input spec whose clip length is not the backbone's, naming both values."""
    backbone = config.get("model", {}).get("backbone", {})
    frames = config.get("input", {}).get("frames")
    wanted = backbone.get("num_frames", 4)
    if frames is not None and frames != wanted:
        raise RegistryError(f"config {config.get('method', 'tall')}/{config.get('name')}: "
                            f"input.frames is {frames} but the TALLSwin backbone lays out "
                            f"num_frames={wanted} frames")
