"""StA (spatiotemporal adapter on CLIP ViT) as a vbench detector.

The model is a plain mmaction2 ``Recognizer3D``: ``ActionDataPreprocessor`` (CLIP mean/std),
``StAViT`` backbone, ``I3DHead`` (average pool over the per-frame CLS features, dropout, linear).
Only the head's prefix differs from the official checkpoint ``sta_best.pth``:

==============================  ==============================
official key                    ours
==============================  ==============================
``backbone.<rest>``             ``backbone.<rest>`` (identical)
``head.fc_cls.{weight,bias}``   ``cls_head.fc_cls.{weight,bias}``
==============================  ==============================
"""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from benchmark.checkpoint import KeyMap
from benchmark.compat import mmaction_models
from benchmark.config import DetectorConfig, Section, TrainConfig
from benchmark.detector import Detector
from benchmark.errors import RegistryError
from detectors.sta.blending import apply_blending

mmaction_models()  # mmaction2's models (and the import shim) before our backbone registers itself
from detectors.sta import backbone as _backbone  # noqa: E402,F401  registers StAViT


class BlendingConfig(Section):
    """Video-level Blending: the probability that a real training clip becomes a VB fake."""

    p: float = Field(0.0, ge=0.0, le=1.0)


class StATrainConfig(TrainConfig):
    blending: BlendingConfig = Field(default_factory=BlendingConfig)


class StAConfig(DetectorConfig):
    train: StATrainConfig = Field(default_factory=StATrainConfig)


class StADetector(Detector):
    """StA detector; scores are P(fake) = softmax(logits)[:, 1], video score = mean over clips.

    Args:
        config: see `benchmark.detector.Detector`; ``model.backbone`` must be an ``StAViT`` whose
            ``num_frames`` and ``input_resolution`` equal the input spec's ``frames`` and ``size``.
    """

    key_map: ClassVar[KeyMap] = KeyMap.prefixes([("head.", "cls_head.")])
    config_schema: ClassVar[type[DetectorConfig]] = StAConfig

    def __init__(self, config: dict[str, Any]):
        _check_config(config)
        super().__init__(config)
        self.blending_p = float(self.config.get("train", {}).get("blending", {}).get("p", 0.0))

    def train_batch_transform(self, clips, labels, generator):
        """Video-level Blending at the config's rate ``train.blending.p`` (`detectors.sta.blending`).

        Args:
            clips: uint8 ``[N, 3, T, H, W]``.
            labels: ``[N]`` long, 0 real, 1 fake.
            generator: CPU ``torch.Generator``; the only source of randomness.
        """
        if self.blending_p <= 0:
            return clips, labels
        return apply_blending(clips, labels, self.blending_p, generator)


def _check_config(config: dict[str, Any]) -> None:
    """Refuses an input spec that the backbone cannot take, naming both values."""
    name = f"config {config.get('method', 'sta')}/{config.get('name')}"
    backbone = config.get("model", {}).get("backbone", {})
    wanted = {"frames": backbone.get("num_frames", 8),
              "size": backbone.get("input_resolution", 224)}
    given = config.get("input", {})
    for field, value in wanted.items():
        if field in given and given[field] != value:
            arg = "num_frames" if field == "frames" else "input_resolution"
            raise RegistryError(f"{name}: input.{field} is {given[field]} but the StAViT backbone "
                                f"was built for {arg}={value}")
