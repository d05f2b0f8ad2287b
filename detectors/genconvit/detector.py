"""GenConViT as a vbench detector.

An mmaction2 ``Recognizer3D``: ``ActionDataPreprocessor`` (ImageNet mean/std), `GenConViTBackbone`
(network A "ed" and network B "vae", frames folded into the batch), `GenConViTHead` (one MLP per
network). Upstream releases the networks as two files; each loads through its own `KeyMap`:

=========================================  ======================================
official key (``genconvit_ed_inference``)   ours
=========================================  ======================================
``encoder.*`` / ``decoder.*``                ``backbone.ed.encoder.*`` / ``.decoder.*``
``backbone.*`` (ConvNeXt)                    ``backbone.ed.convnext.*``
``fc.*`` / ``fc2.*``                         ``cls_head.ed.fc.*`` / ``cls_head.ed.fc2.*``
=========================================  ======================================

=========================================  ======================================
official key (``genconvit_vae_inference``)  ours
=========================================  ======================================
``encoder.*`` / ``decoder.*``                ``backbone.vae.encoder.*`` / ``.decoder.*``
``convnext_backbone.*``                      ``backbone.vae.convnext.*``
``fc.*`` / ``fc3.*`` / ``fc2.*``             ``cls_head.vae.fc.*`` / ``.fc3.*`` / ``.fc2.*``
=========================================  ======================================

Ignored (reported by the load summary, not loaded): ``embedder.*`` and ``*.patch_embed.*`` — the
Swin "embedder" and the HybridEmbed holding it, attached to the ConvNeXt but never run by its
forward pass. ConvNeXt keys are the same in timm 0.6.5 (upstream) and timm 1.0.31 (ours).
"""
from __future__ import annotations

from typing import Any, ClassVar, Optional

from pydantic import Field, field_validator

from benchmark.checkpoint import KeyMap
from benchmark.compat import mmaction_models
from benchmark.config import DetectorConfig
from benchmark.detector import Detector
from benchmark.errors import RegistryError

mmaction_models()  # mmaction2's models (and the import shim) before ours register themselves
from detectors.genconvit import backbone as _backbone  # noqa: E402,F401  registers the backbone
from detectors.genconvit import head as _head  # noqa: E402,F401  registers the head

ED_KEYS = KeyMap.prefixes([("encoder.", "backbone.ed.encoder."),
                           ("decoder.", "backbone.ed.decoder."),
                           ("backbone.", "backbone.ed.convnext."),
                           ("fc.", "cls_head.ed.fc."),
                           ("fc2.", "cls_head.ed.fc2.")])
VAE_KEYS = KeyMap.prefixes([("encoder.", "backbone.vae.encoder."),
                            ("decoder.", "backbone.vae.decoder."),
                            ("convnext_backbone.", "backbone.vae.convnext."),
                            ("fc.", "cls_head.vae.fc."),
                            ("fc3.", "cls_head.vae.fc3."),
                            ("fc2.", "cls_head.vae.fc2.")])
PARTS = {"ed": ED_KEYS, "vae": VAE_KEYS}


class GenConViTConfig(DetectorConfig):
    face_detector: Optional[dict[str, Any]] = None  # benchmark.faces.build_face_detector
    max_faces: Optional[int] = Field(None, ge=1)
    weights_files: dict[str, str] = Field(default_factory=dict)

    @field_validator("face_detector")
    @classmethod
    def _known_detector(cls, value):
        from benchmark.errors import VBenchError
        from benchmark.faces import build_face_detector

        try:
            build_face_detector(value)  # unknown type or arguments: a clear error now
        except VBenchError as exc:
            raise ValueError(str(exc)) from None
        return value


class GenConViTDetector(Detector):
    """GenConViT; clip score = mean over frames and networks of sigmoid(fake logit).

    The score is returned as one logit (``score: {type: sigmoid}``): ``forward_logits`` gives
    ``logit(p)`` so that ``sigmoid`` recovers ``p`` exactly. Video score = mean over clips, i.e.
    over faces with the paper config.

    Args:
        config: see `benchmark.detector.Detector`; also ``weights_files`` (``{ed, vae}`` official
            file names), ``face_detector`` (`benchmark.faces.build_face_detector` config) and
            ``max_faces`` for face-crop input.
    """

    weight_parts: ClassVar[dict[str, KeyMap]] = PARTS
    config_schema: ClassVar[type[DetectorConfig]] = GenConViTConfig
    supports_augmentation: ClassVar[bool] = False  # face crops are read by FaceClipReader
    ignore_keys: ClassVar[tuple[str, ...]] = (r"^embedder\.",
                                               r"^(backbone|convnext_backbone)\.patch_embed\.")

    def __init__(self, config: dict[str, Any]):
        nets = _check_config(config)
        super().__init__(config)
        # only the built networks' files are expected (a config with nets: {ed} loads one file)
        self.weight_parts = {name: PARTS[name] for name in nets}

    def part_files(self) -> dict[str, str]:
        return {p: f for p, f in super().part_files().items() if p in self.weight_parts}

    def forward_logits(self, x):
        """Normalised ``[N, 3, T, H, W]`` → fakeness logit ``[N, 1]``."""
        feats, _ = self.model.extract_feat(x[:, None], test_mode=True)  # one view per clip
        return self.model.cls_head.fake_logit(feats)

    @property
    def clip_shape(self) -> tuple[int, int, int, int]:
        """``(3, 1, S, S)`` per face with face crops (`FaceClipReader`), else the spec's shape."""
        if self.spec.face_crop:
            return (3, 1, self.spec.size, self.spec.size)
        return self.spec.clip_shape

    def clip_reader(self, spec=None, train: bool = False):
        """Face crops (`detectors.genconvit.reader.FaceClipReader`) when the spec asks for them."""
        spec = spec or self.spec
        if not spec.face_crop:
            return super().clip_reader(spec, train)
        from detectors.genconvit.reader import FaceClipReader

        return FaceClipReader(spec, self.config.get("face_detector"), self.config.get("max_faces"))


def _check_config(config: dict[str, Any]) -> list[str]:
    """The networks the config builds; refuses configs whose parts disagree, naming the values."""
    name = f"config {config.get('method', 'genconvit')}/{config.get('name')}"
    model = config.get("model", {})
    nets = sorted(model.get("backbone", {}).get("nets", {}))
    head_nets = sorted(model.get("cls_head", {}).get("nets", []))
    if nets != head_nets:
        raise RegistryError(f"{name}: model.backbone.nets {nets} and model.cls_head.nets "
                            f"{head_nets} must name the same networks")
    if config.get("score", {}).get("type") != "sigmoid":
        raise RegistryError(f"{name}: score.type must be 'sigmoid' (GenConViT gives one fakeness "
                            f"logit per clip), got {config.get('score')}")
    vae = model.get("backbone", {}).get("nets", {}).get("vae")
    size = config.get("input", {}).get("size")
    vae_size = (vae or {}).get("encoder", {}).get("input_size", 224)
    if vae is not None and size is not None and size != vae_size:
        raise RegistryError(f"{name}: input.size is {size} but the VAE encoder was built for "
                            f"input_size={vae_size} (its mu/var layers depend on it)")
    return nets
