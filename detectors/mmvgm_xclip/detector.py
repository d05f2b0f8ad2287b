"""MMVGM (VGMShield)'s X-CLIP detector as a vbench detector.

The model is a plain mmaction2 ``Recognizer3D``: ``ActionDataPreprocessor`` (ImageNet mean/std),
``HFVideoBackbone(arch=xclip)`` (``transformers``' whole ``XCLIPModel``; its
``get_video_features`` gives the 768-d video embedding) and `VGMShieldMLPHead`. The official
checkpoint is upstream's ``VideoClassifier.state_dict()``:

================================  ================================
official key                      ours
================================  ================================
``video_features_extractor.<r>``  ``backbone.model.<r>``
``classifier.<r>``                ``cls_head.<r>``
================================  ================================

The text tower, ``text_projection``, the prompt generator and ``logit_scale`` are part of
``XCLIPModel`` and of the checkpoint but not of the video-feature path; we keep them so that the
official file loads strictly (they receive no gradient when training).
"""
from __future__ import annotations

from typing import Any, ClassVar

from benchmark.checkpoint import KeyMap
from benchmark.detector import Detector
from benchmark.errors import RegistryError
from benchmark.hf import check_input_spec
from detectors.mmvgm_xclip import head as _head  # noqa: F401  registers VGMShieldMLPHead

XCLIP_KEY_MAP = KeyMap.prefixes([("video_features_extractor.", "backbone.model."),
                                 ("classifier.", "cls_head.")])


class MMVGMXCLIPDetector(Detector):
    """VGMShield's X-CLIP detector; score = softmax(logits)[:, fake_index] (1 = generated).

    Args:
        config: see `benchmark.detector.Detector`; ``model.backbone`` an ``HFVideoBackbone`` with
            ``arch: xclip``, ``model.cls_head`` a ``VGMShieldMLPHead`` whose ``in_channels`` is
            the X-CLIP ``projection_dim``.
    """

    key_map: ClassVar[KeyMap] = XCLIP_KEY_MAP

    def __init__(self, config: dict[str, Any]):
        check_input_spec(config, "mmvgm_xclip")
        _check_widths(config)
        super().__init__(config)


def _check_widths(config: dict[str, Any]) -> None:
    """X-CLIP's integration transformer runs on projected features, and the head reads them."""
    model = config.get("model", {})
    hf = model.get("backbone", {}).get("config", {})
    projection = hf.get("projection_dim", 512)  # XCLIPConfig's default
    mit = hf.get("vision_config", {}).get("mit_hidden_size", 512)
    head = model.get("cls_head", {}).get("in_channels")
    name = f"config mmvgm_xclip/{config.get('name')}"
    if mit != projection:
        raise RegistryError(f"{name}: model.backbone.config.vision_config.mit_hidden_size is {mit} "
                            f"but projection_dim is {projection}; X-CLIP needs them equal")
    if head != projection:
        raise RegistryError(f"{name}: model.cls_head.in_channels is {head} but the X-CLIP video "
                            f"embedding has projection_dim={projection} channels")
