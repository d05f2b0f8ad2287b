"""WaveRep as a vbench detector: a DINOv2 ViT-B/14 (4 registers) scoring every frame.

The model is an mmaction2 ``Recognizer3D``: ``ActionDataPreprocessor`` (ImageNet mean/std, as
upstream's ``transforms.Normalize``), `WaveRepViT` (timm's ViT per frame, class token) and
`WaveRepHead` (timm's one-logit ``head``; clip logit = mean frame logit). A video's score is
``sigmoid(mean frame logit)`` over all its frames, as upstream's ``main_avideo.py``.

Released weights (``weights_dinov2_G1.ckpt`` / ``weights_dinov2_G4.ckpt``): upstream's
``create_model`` accepts a Lightning checkpoint (``{"state_dict": {"model.<timm key>": ...}}``,
keys not starting with ``model`` dropped) or a bare timm state dict, then
``load_state_dict`` (strict). We read both, strictly:

==========================================  ===========================
official key                                ours
==========================================  ===========================
``model.head.{weight,bias}`` / ``head.*``   ``cls_head.fc.*``
``model.<k>`` / ``<k>``                     ``backbone.vit.<k>``
==========================================  ===========================

Any other key (a ``model``-less key in a Lightning file included) is refused by name.
"""
from __future__ import annotations

import logging
from typing import Any, ClassVar, Literal

from pydantic import Field

from benchmark.api import Detector, KeyMap
from benchmark.config import DetectorConfig, Section
from detectors.waverep import backbone as _backbone  # noqa: F401  registers WaveRepViT
from detectors.waverep import head as _head  # noqa: F401  registers WaveRepHead
from detectors.waverep.wavelet import wave_replace

log = logging.getLogger("vbench.waverep")
LIGHTNING_KEY_MAP = KeyMap.prefixes([("model.head.", "cls_head.fc."), ("model.", "backbone.vit.")])
TIMM_KEY_MAP = KeyMap.prefixes([("head.", "cls_head.fc."), ("", "backbone.vit.")])


class WaveRepSection(Section):
    """The augmentation's settings, the frame chunk of a forward, and whether a random start is
    meant."""

    # upstream's example: waverep_d2('haar', prob=0.1, num_levels=3)
    wavelet: Literal["haar"] = "haar"
    band_p: float = Field(0.1, ge=0.0, le=1.0)  # probability of each of the two replacements
    levels: int = Field(3, ge=1, le=6)
    frame_chunk: int = Field(16, ge=1)  # frames per forward: a video's frames are all its clips
    # A run with no --weights and no model.backbone.pretrained is refused unless this says a
    # randomly initialised ViT is meant (the mini trains from scratch).
    random_init: bool = False


class WaveRepConfig(DetectorConfig):
    waverep: WaveRepSection = Field(default_factory=WaveRepSection)


class WaveRepDetector(Detector):
    """WaveRep; score = sigmoid(mean over the video's frames of the one-logit head).

    Args:
        config: see `benchmark.detector.Detector`, plus ``waverep`` (`WaveRepSection`).
    """

    key_map: ClassVar[KeyMap] = LIGHTNING_KEY_MAP  # the released .ckpt (official_state_dict too)
    config_schema: ClassVar[type[DetectorConfig]] = WaveRepConfig

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self.waverep = {**WaveRepSection().model_dump(), **self.config.get("waverep", {})}

    @classmethod
    def run_problem(cls, config: dict[str, Any], has_weights: bool) -> str | None:
        """Why a run would score noise: nothing to load, no DINOv2 start, no random start meant."""
        section = {**WaveRepSection().model_dump(), **config.get("waverep", {})}
        pretrained = config.get("model", {}).get("backbone", {}).get("pretrained")
        if has_weights or pretrained or section["random_init"]:
            return None
        return (f"waverep config {config.get('name')}: no weights to start from; pass --weights "
                f"weights_dinov2_G4.ckpt (the released checkpoint, a local file) or "
                f"--cfg-options model.backbone.pretrained=/path/to/vit_base_patch14_reg4_dinov2."
                f"lvd142m (a local timm folder) to fine-tune DINOv2; a random ViT-B would score noise")

    def load_weights(self, path, sha256: str | None = None):
        """The released checkpoint, Lightning or bare timm layout (chosen by whether any key
        starts with ``model.``), strictly (`benchmark.checkpoint.load_strict`)."""
        from benchmark.checkpoint import load_strict, read_state_dict

        state = read_state_dict(path, sha256=sha256)
        lightning = any(k.startswith("model.") for k in state)
        key_map = LIGHTNING_KEY_MAP if lightning else TIMM_KEY_MAP
        return load_strict(self.model, state, path, key_map)

    def forward_logits(self, x):
        """Normalised ``[N, 3, T, H, W]`` → clip logits ``[N, 1]``, ``frame_chunk`` frames per
        forward (a paper video brings all its frames at 504 px)."""
        import torch

        chunk, base = max(1, self.waverep["frame_chunk"] // x.shape[2]), super().forward_logits
        parts = [base(x[i:i + chunk]) for i in range(0, len(x), chunk)]
        return torch.cat(parts) if parts else x.new_zeros((0, 1))

    def video_scores(self, clips, video_index, num_videos: int, valid=None):
        """Clip logits aggregated per video, then the sigmoid: upstream's ``expit(mean logit)``
        (``max`` and ``median`` commute with the sigmoid)."""
        logits = self.clip_logits(clips)[:, 0]  # [N_clips]
        return self.aggregate(logits, video_index, num_videos).sigmoid()

    def train_batch_transform(self, clips, labels, generator):
        """WaveRep's band replacement (`detectors.waverep.wavelet.wave_replace`)."""
        return wave_replace(clips, labels, self.waverep["band_p"], self.waverep["levels"],
                            generator), labels
