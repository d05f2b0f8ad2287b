"""MMVGM's I3D detector (VGMShield) as a vbench detector.

The model is a plain mmaction2 ``Recognizer3D``: ``ActionDataPreprocessor`` (ImageNet mean/std, as
the published X-CLIP processor config upstream loaded), ``InceptionI3D`` backbone, ``I3DLogitsHead``. The official
checkpoint is the raw ``state_dict`` of pytorch-i3d's ``InceptionI3d`` after ``replace_logits``:

=================================  ===================================
official key                       ours
=================================  ===================================
``logits.conv3d.{weight,bias}``    ``cls_head.logits.conv3d.{weight,bias}``
``<endpoint>.<rest>``              ``backbone.<endpoint>.<rest>``
=================================  ===================================
"""
from __future__ import annotations

from typing import Any, ClassVar

from benchmark.checkpoint import KeyMap
from benchmark.compat import mmaction_models
from benchmark.detector import Detector
from benchmark.errors import RegistryError

mmaction_models()  # mmaction2's models (and the import shim) before ours register themselves
from detectors.mmvgm_i3d import head as _head  # noqa: E402,F401  registers I3DLogitsHead
from detectors.mmvgm_i3d.backbone import feature_size  # noqa: E402  registers InceptionI3D

LOGITS_PREFIX = "logits."


class MMVGMI3DDetector(Detector):
    """MMVGM I3D; P(fake) = softmax(logits)[:, 1] (upstream labels real 0, fake 1).

    Args:
        config: see `benchmark.detector.Detector`; the input's ``frames`` and ``size`` must give
            last Inception module's features (Mixed_5c at full depth) at least as large as the head's ``pool_kernel``.
    """

    key_map: ClassVar[KeyMap] = KeyMap(
        rules=((r"^logits\.", "cls_head.logits."), (r"^", "backbone.")),
        inverse=((r"^cls_head\.", ""), (r"^backbone\.", "")))

    def __init__(self, config: dict[str, Any]):
        _check_pool_fits(config)
        super().__init__(config)
        _check_channels(self.model, config)

    def official_state_dict(self) -> dict:
        """Weights under upstream's names and in upstream's order (``logits.*`` first).

        ``InceptionI3d.__init__`` sets ``self.logits`` before it registers the endpoints, so the
        official state_dict starts with the logits layer.
        """
        state = super().official_state_dict()
        head = {k: v for k, v in state.items() if k.startswith(LOGITS_PREFIX)}
        return {**head, **{k: v for k, v in state.items() if k not in head}}


def _name(config: dict[str, Any]) -> str:
    return f"config {config.get('method', 'mmvgm_i3d')}/{config.get('name')}"


def _check_pool_fits(config: dict[str, Any]) -> None:
    """Refuses an input too small for the head's fixed pooling window, naming both."""
    head = config.get("model", {}).get("cls_head", {})
    kernel = head.get("pool_kernel", (2, 7, 7))
    given = config.get("input", {})
    if kernel is None or "frames" not in given or "size" not in given:
        return
    feats = feature_size(int(given["frames"]), int(given["size"]))
    if any(n < k for n, k in zip(feats, kernel)):
        raise RegistryError(
            f"{_name(config)}: input frames={given['frames']}, size={given['size']} give features "
            f"(T', H', W') = {feats} from the last Inception module (Mixed_5c at full depth), "
            f"smaller than cls_head.pool_kernel {list(kernel)}; "
            f"the backbone downsamples time by 8 and space by 32")


def _check_channels(model, config: dict[str, Any]) -> None:
    """Refuses a head whose ``in_channels`` is not the backbone's output width."""
    width = model.backbone.out_channels
    if model.cls_head.in_channels != width:
        raise RegistryError(f"{_name(config)}: cls_head.in_channels is "
                            f"{model.cls_head.in_channels} but the InceptionI3D backbone outputs "
                            f"{width} channels (width_multiplier/mixed_per_stage)")
