"""A frozen ``transformers`` image encoder applied frame by frame (D3's feature extractor).

Upstream (``models/D3_model.py``) flattens a video ``[B, T, 3, H, W]`` into ``B*T`` images, runs
``XCLIPVisionModel`` on them and keeps ``pooler_output`` (the post-layer-normed CLS token, before
any projection). X-CLIP's vision tower is not a pure image encoder: each layer's message tokens
attend across groups of ``config.num_frames`` consecutive images (8 for xclip-base-patch16), so a
16-frame video is seen as two 8-frame groups. Passing the flattened frames in the same order keeps
exactly that grouping; we refuse clips whose length is not a multiple of ``num_frames``, where a
group would straddle two videos.
"""
from __future__ import annotations

from typing import Any

import torch
from mmengine.model import BaseModule

from benchmark.api import mmaction_models
from benchmark.hf import checked_config

MODELS = mmaction_models()

# encoder -> (transformers config class, model class); both take square frames of image_size
ENCODERS = {"xclip_vision": ("XCLIPVisionConfig", "XCLIPVisionModel")}


@MODELS.register_module()
class D3FrameEncoder(BaseModule):
    """Normalised clips ``[N, 3, T, H, W]`` → per-frame features ``[N, T, C]``.

    Args:
        encoder: a key of `ENCODERS` (``xclip_vision``: X-CLIP's vision tower, as upstream's
            ``XCLIP-16`` / ``XCLIP-32`` encoders).
        config: the encoder's ``transformers`` config fields (unknown fields are refused). The
            model is randomly initialised by ``transformers``; released weights come in through
            `detectors.d3.detector.D3Detector.load_weights` (never ``from_pretrained``).
        init_cfg: mmengine's init config (unused).
    """

    def __init__(self, encoder: str, config: dict[str, Any], init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        import transformers

        if encoder not in ENCODERS:
            raise ValueError(f"D3FrameEncoder: encoder '{encoder}' is not one of {sorted(ENCODERS)}")
        config_name, model_name = ENCODERS[encoder]
        hf_cfg = checked_config(config_name, config, origin=f"D3FrameEncoder(encoder={encoder})")
        self.encoder = getattr(transformers, model_name)(hf_cfg)
        self.encoder.requires_grad_(False)  # frozen: D3 trains nothing
        self.group, self.image_size = int(hf_cfg.num_frames), int(hf_cfg.image_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        if (h, w) != (self.image_size, self.image_size) or t % self.group:
            raise ValueError(f"D3FrameEncoder: clips are {c}x{t}x{h}x{w} (CxTxHxW); the encoder "
                             f"takes {self.image_size}x{self.image_size} frames in groups of "
                             f"num_frames={self.group} (T must be a multiple of it)")
        images = x.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)  # [N*T, 3, H, W], video-major
        pooled = self.encoder(pixel_values=images).pooler_output  # [N*T, C]
        return pooled.reshape(n, t, -1)  # [N, T, C]
