"""MMVGM (VGMShield)'s VideoMAE detector as a vbench detector.

The model is a plain mmaction2 ``Recognizer3D``: ``ActionDataPreprocessor`` (ImageNet mean/std),
``HFVideoBackbone(arch=videomae)`` (``transformers``' ``VideoMAEModel``) and `VideoMAEClsHead`.
Official checkpoints are ``VideoMAEForVideoClassification.state_dict()`` saved with transformers
4.32.1; transformers 5 renamed two attention biases:

===================================================  ===================================================
official key (transformers 4.32)                     ours
===================================================  ===================================================
``videomae.<rest>``                                  ``backbone.model.<rest>``
``videomae.encoder.layer.{i}.attention.attention.``  ``backbone.model.encoder.layer.{i}.attention.``
``q_bias`` / ``v_bias``                              ``attention.query.bias`` / ``value.bias``
``fc_norm.{weight,bias}`` (mean-pooling layout)      ``cls_head.fc_norm.{weight,bias}``
``classifier.{weight,bias}``                         ``cls_head.fc_cls.{weight,bias}``
===================================================  ===================================================
"""
from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, ClassVar

from benchmark.checkpoint import KeyMap, LoadSummary, load_strict, read_state_dict
from benchmark.compat import mmaction_models
from benchmark.detector import Detector
from benchmark.errors import RegistryError
from benchmark.hf import check_input_spec
from detectors.mmvgm_mae import head as _head  # noqa: F401  registers VideoMAEClsHead

log = logging.getLogger("vbench.mmvgm_mae")

_ATTN = r"(encoder\.layer\.\d+\.attention\.attention)"
MAE_KEY_MAP = KeyMap(
    rules=((rf"^videomae\.{_ATTN}\.q_bias$", r"backbone.model.\1.query.bias"),
           (rf"^videomae\.{_ATTN}\.v_bias$", r"backbone.model.\1.value.bias"),
           (r"^videomae\.", "backbone.model."),
           (r"^fc_norm\.", "cls_head.fc_norm."),
           (r"^classifier\.", "cls_head.fc_cls.")),
    inverse=((rf"^backbone\.model\.{_ATTN}\.query\.bias$", r"videomae.\1.q_bias"),
             (rf"^backbone\.model\.{_ATTN}\.value\.bias$", r"videomae.\1.v_bias"),
             (r"^backbone\.model\.", "videomae."),
             (r"^cls_head\.fc_norm\.", "fc_norm."),
             (r"^cls_head\.fc_cls\.", "classifier.")))


class MMVGMVideoMAEDetector(Detector):
    """VGMShield's VideoMAE detector; score = softmax(logits)[:, fake_index] (1 = generated).

    Args:
        config: see `benchmark.detector.Detector`; ``model.backbone`` an ``HFVideoBackbone`` with
            ``arch: videomae``, ``model.cls_head`` a ``VideoMAEClsHead`` with the same
            ``use_mean_pooling``.
    """

    key_map: ClassVar[KeyMap] = MAE_KEY_MAP

    def __init__(self, config: dict[str, Any]):
        check_input_spec(config, "mmvgm_mae")
        _check_pooling(config)
        super().__init__(config)

    @property
    def use_mean_pooling(self) -> bool:
        return bool(self.config["model"]["cls_head"].get("use_mean_pooling", False))

    def load_weights(self, path: str | Path, sha256: str | None = None) -> LoadSummary:
        """Loads an official checkpoint strictly, in whichever head layout it has.

        A file with ``fc_norm.*`` and no ``videomae.layernorm.*`` is the mean-pooling layout, the
        reverse the first-token layout; when it differs from the config's, the model is rebuilt
        with the file's layout (logged) before the strict load.
        """
        state = read_state_dict(path, sha256=sha256)
        layout = checkpoint_pooling(state)
        if layout is not None and layout != self.use_mean_pooling:
            log.warning("%s: head layout use_mean_pooling=%s differs from config %s; rebuilding "
                        "the model with the file's layout", path, layout, self.config.get("name"))
            self._rebuild(use_mean_pooling=layout)
        return load_strict(self.model, state, path, self.key_map, self.ignore_keys)

    def _rebuild(self, use_mean_pooling: bool) -> None:
        device = self.device
        model_cfg = self.config["model"]
        model_cfg["backbone"]["config"]["use_mean_pooling"] = use_mean_pooling
        model_cfg["cls_head"]["use_mean_pooling"] = use_mean_pooling
        self.model = mmaction_models().build(copy.deepcopy(model_cfg)).to(device)
        self.model.eval()


def checkpoint_pooling(state: dict) -> bool | None:
    """True/False when an official state_dict has the mean-pooling/first-token head, else None."""
    has_fc_norm = "fc_norm.weight" in state
    has_layernorm = "videomae.layernorm.weight" in state
    if has_fc_norm == has_layernorm:
        return None  # neither or both: let the strict load name the offending keys
    return has_fc_norm


def _check_pooling(config: dict[str, Any]) -> None:
    """The backbone's final norm and the head's pooling must be the same layout."""
    model = config.get("model", {})
    backbone = model.get("backbone", {}).get("config", {}).get("use_mean_pooling", True)
    head = model.get("cls_head", {}).get("use_mean_pooling", False)
    if bool(backbone) != bool(head):
        raise RegistryError(f"config mmvgm_mae/{config.get('name')}: "
                            f"model.backbone.config.use_mean_pooling is {backbone} but "
                            f"model.cls_head.use_mean_pooling is {head}; they must agree")
