"""Hugging Face ``transformers`` video models as mmaction2 backbones.

Some methods were trained and released as ``transformers`` models (MMVGM's VideoMAE and X-CLIP
detectors), so their official checkpoints carry ``transformers``' parameter names. Building the very
same ``transformers`` class here keeps those names and the exact forward pass; mmaction2's own
re-implementations would need a key map for every tensor and could differ in small numerical ways.

`HFVideoBackbone` builds the model from a plain config dict with random initialisation: it never
calls ``from_pretrained`` (no model hub access). Pretrained weights come in through
`benchmark.detector.Detector.load_weights` like every other checkpoint.

Clips arrive in mmaction2's layout ``[N, 3, T, H, W]``; ``transformers`` video models take
``[N, T, 3, H, W]``, so the wrapper permutes them before the call.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import torch
from mmengine.model import BaseModule

from benchmark.compat import mmaction_models
from benchmark.errors import RegistryError

MODELS = mmaction_models()  # mmaction2's registry, its models imported through our shim


def _videomae_tokens(model, pixel_values: torch.Tensor) -> torch.Tensor:
    """VideoMAE encoder output ``[N, L, C]``: ``L = T/tubelet * (H/patch) * (W/patch)`` tokens
    (no CLS token); layer-normed when the config has ``use_mean_pooling: false``."""
    return model(pixel_values=pixel_values).last_hidden_state


def _xclip_video_features(model, pixel_values: torch.Tensor) -> torch.Tensor:
    """X-CLIP video embedding ``[N, projection_dim]``: per-frame CLS → visual projection →
    multi-frame integration transformer → mean over frames. Needs no text input (transformers 4.32
    returned this tensor directly, 5.x returns it as ``pooler_output``)."""
    out = model.get_video_features(pixel_values=pixel_values)
    return out if isinstance(out, torch.Tensor) else out.pooler_output


# arch -> (config class, model class, feature function); all from ``transformers``.
ARCHS: dict[str, tuple[str, str, Callable]] = {
    "videomae": ("VideoMAEConfig", "VideoMAEModel", _videomae_tokens),
    "xclip": ("XCLIPConfig", "XCLIPModel", _xclip_video_features),
}


def hf_config(arch: str, config: dict[str, Any], origin: str = "backbone config"):
    """A ``transformers`` config object for `arch` from a plain dict, refusing unknown fields.

    ``transformers`` config classes keep any unknown keyword as an attribute, so a typo such as
    ``hiden_size`` would silently build the default size; we check every key (nested sub-configs
    too) against the class's own fields first.

    Raises:
        RegistryError: unknown `arch` or an unknown config field (named with its path).
    """
    if arch not in ARCHS:
        raise RegistryError(f"{origin}: arch '{arch}' is not one of {sorted(ARCHS)}")
    return checked_config(ARCHS[arch][0], config, origin)


def checked_config(class_name: str, config: dict[str, Any], origin: str = "backbone config"):
    """The ``transformers`` config class `class_name` (e.g. ``XCLIPVisionConfig``) built from a
    plain dict, after every key (nested sub-configs too) was checked against its fields.

    Raises:
        RegistryError: an unknown field, named with its path.
    """
    import transformers

    config_cls = getattr(transformers, class_name)
    _check_fields(config, config_cls().to_dict(), f"{origin} ({class_name})")
    return config_cls(**copy.deepcopy(config))


def _check_fields(given: dict[str, Any], defaults: dict[str, Any], origin: str) -> None:
    for key, value in given.items():
        if key not in defaults:
            raise RegistryError(f"{origin}: unknown field '{key}'; known fields: "
                                f"{', '.join(sorted(defaults))}")
        if isinstance(value, dict) and isinstance(defaults[key], dict):
            _check_fields(value, defaults[key], f"{origin}.{key}")


def build_hf_model(arch: str, config: dict[str, Any], origin: str = "backbone config"):
    """The ``transformers`` model for `arch`, randomly initialised by its own ``post_init``."""
    import transformers

    model_cls = getattr(transformers, ARCHS[arch][1])
    return model_cls(hf_config(arch, config, origin))


@MODELS.register_module()
class HFVideoBackbone(BaseModule):
    """A ``transformers`` video model as an mmaction2 backbone.

    The model sits in ``self.model``, so our parameter names are ``backbone.model.<transformers
    name>`` and a checkpoint maps onto them by a prefix.

    Args:
        arch: ``videomae`` (output: tokens ``[N, L, C]``) or ``xclip`` (output: the video embedding
            ``[N, projection_dim]`` of ``XCLIPModel.get_video_features``).
        config: keyword arguments of the arch's ``transformers`` config class (sub-configs as
            nested dicts). Frames and frame size are fixed by it.
        init_cfg: mmengine's init config (unused: ``transformers`` initialises the model).
    """

    def __init__(self, arch: str, config: dict[str, Any], init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self.arch = arch
        self.model = build_hf_model(arch, config, origin=f"HFVideoBackbone(arch={arch})")
        self._features = ARCHS[arch][2]
        self.num_frames, self.image_size = expected_clip(self.model.config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised clips ``[N, 3, T, H, W]`` → the arch's features (see the class docstring)."""
        n, c, t, h, w = x.shape
        if (t, h, w) != (self.num_frames, self.image_size, self.image_size):
            raise ValueError(f"{self.arch} backbone: clips are {c}x{t}x{h}x{w} (CxTxHxW) but the "
                             f"model was built for 3x{self.num_frames}x{self.image_size}x"
                             f"{self.image_size}")
        frames_first = x.permute(0, 2, 1, 3, 4).contiguous()  # [N, T, 3, H, W] for transformers
        return self._features(self.model, frames_first)


def expected_clip(hf_cfg) -> tuple[int, int]:
    """(frames, square frame side) that a ``transformers`` video config was built for."""
    vision = getattr(hf_cfg, "vision_config", hf_cfg)  # X-CLIP keeps them in its vision config
    return int(vision.num_frames), int(vision.image_size)


def check_input_spec(config: dict[str, Any], method: str) -> None:
    """Refuses a detector config whose ``input`` frames/size differ from its HF backbone's.

    Args:
        config: a detector config (``model.backbone`` an `HFVideoBackbone` dict, ``input``).
        method: the method key, named in the error.

    Raises:
        RegistryError: naming the input field, both values and the backbone field to change.
    """
    backbone = config.get("model", {}).get("backbone", {})
    hf = backbone.get("config", {})
    vision = hf.get("vision_config", hf)
    prefix = "config.vision_config" if "vision_config" in hf else "config"
    wanted = {"frames": ("num_frames", vision.get("num_frames")),
              "size": ("image_size", vision.get("image_size"))}
    given = config.get("input", {})
    for field, (hf_field, value) in wanted.items():
        if value is not None and field in given and given[field] != value:
            raise RegistryError(f"config {method}/{config.get('name')}: input.{field} is "
                                f"{given[field]} but the {backbone.get('arch')} backbone was built "
                                f"for model.backbone.{prefix}.{hf_field}={value}")
