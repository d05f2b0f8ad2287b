"""AIGVDet as a vbench detector.

The model is a plain mmaction2 ``Recognizer3D``: ``ActionDataPreprocessor`` (ImageNet mean/std,
applied alike to RGB frames and flow images, as upstream does), the `AIGVDetBackbone` pair of
ResNets and the `AIGVDetHead` classifiers. Upstream releases the two networks as two files of
torchvision ResNet keys; each maps onto one trunk and one classifier:

=================================  =================================
official key (``original.pth``)    ours
=================================  =================================
``conv1.*``, ``bn1.*``, ``layer*``  ``backbone.rgb.<same>``
``fc.{weight,bias}``                ``cls_head.rgb_fc.{weight,bias}``
=================================  =================================

and the same for ``optical.pth`` with ``flow`` in place of ``rgb``.
"""
from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, Optional

import numpy as np
import torch
from pydantic import Field

from benchmark.checkpoint import KeyMap
from benchmark.compat import mmaction_models
from benchmark.config import DetectorConfig, Section
from benchmark.data.spatial import center_crop_pad
from benchmark.detector import Detector
from benchmark.errors import DataError, RegistryError
from benchmark.flow import flow_images
from detectors.aigvdet.reader import FlowClipReader

mmaction_models()  # mmaction2's models (and the import shim) before our modules register
from detectors.aigvdet import backbone as _backbone  # noqa: E402,F401  registers AIGVDetBackbone
from detectors.aigvdet import head as _head  # noqa: E402,F401  registers AIGVDetHead


def part_map(branch: str) -> KeyMap:
    """Official torchvision ResNet keys of one released file ↔ our ``branch`` trunk and classifier."""
    return KeyMap(rules=((r"^fc\.", f"cls_head.{branch}_fc."), (r"^", f"backbone.{branch}.")),
                  inverse=((rf"^cls_head\.{branch}_fc\.", "fc."),
                           (rf"^backbone\.{re.escape(branch)}\.", "")))


class FlowConfig(Section):
    """Optical flow (`benchmark.flow.build_flow`): RAFT from a local file, else OpenCV."""

    raft_weights: Optional[str] = None
    raft_iterations: int = Field(20, ge=1)
    raft_batch_size: int = Field(4, ge=1)
    raft_keep_padding: bool = False  # render RAFT's padded field before the crop, as upstream
    device: str = "cpu"
    opencv: Literal["farneback", "dis"] = "farneback"
    opencv_params: Optional[dict[str, Any]] = None
    channel_order: Literal["rgb", "upstream_bgr"] = "rgb"
    cache_dir: Optional[str] = None


class AIGVDetConfig(DetectorConfig):
    flow: FlowConfig = Field(default_factory=FlowConfig)
    weights_files: dict[str, str] = Field(default_factory=dict)


class AIGVDetDetector(Detector):
    """AIGVDet; the clip score is 0.5·mean P_rgb(frame) + 0.5·mean P_flow(flow image).

    Clips from the data layer already carry their flow images (``[N, 3, 2T-1, H, W]``, see
    `FlowClipReader`). Plain RGB clips ``[N, 3, T, H, W]`` are accepted too: their flow is then
    computed on the spot from the (already cropped) frames.

    Args:
        config: see `benchmark.detector.Detector`, plus ``flow`` (`benchmark.flow.build_flow` keys,
            ``channel_order``, ``cache_dir``) and ``weights_files: {rgb: ..., flow: ...}``.
    """

    weight_parts: ClassVar[dict[str, KeyMap]] = {"rgb": part_map("rgb"), "flow": part_map("flow")}
    config_schema: ClassVar[type[DetectorConfig]] = AIGVDetConfig
    supports_augmentation: ClassVar[bool] = False  # frames and cached flow images must stay aligned

    def __init__(self, config: dict[str, Any]):
        _check_config(config)
        super().__init__(config)
        self.flow_cfg = dict(self.config.get("flow", {}))
        self._flow_reader: FlowClipReader | None = None

    @property
    def clip_shape(self) -> tuple[int, int, int, int]:
        """``(3, 2T-1, S, S)``: T RGB frames, then the T-1 flow images `FlowClipReader` adds."""
        return (3, 2 * self.spec.frames - 1, self.spec.size, self.spec.size)

    def clip_reader(self, spec=None, train: bool = False) -> FlowClipReader:
        """Reads T frames and the T-1 flow images after them (flow cached per video)."""
        return FlowClipReader(spec or self.spec, self.flow_cfg)

    def clip_logits(self, clips: torch.Tensor) -> torch.Tensor:
        """uint8 clips, with flow ``[N, 3, 2T-1, H, W]`` or without ``[N, 3, T, H, W]`` → ``[N, 1]``."""
        t = self.spec.frames
        if clips.dim() != 5 or clips.shape[1] != 3 or clips.shape[2] not in (t, 2 * t - 1):
            raise DataError(f"aigvdet: expected uint8 clips [N, 3, {t}, H, W] (RGB) or "
                            f"[N, 3, {2 * t - 1}, H, W] (RGB + flow), got {tuple(clips.shape)}")
        if clips.shape[2] == t:
            clips = self.with_flow(clips)
        return super().clip_logits(clips)

    def video_scores(self, clips: torch.Tensor, video_index: torch.Tensor, num_videos: int,
                     valid: torch.Tensor | None = None) -> torch.Tensor:
        """Upstream's video score: ``w * mean P_rgb + (1 - w) * mean P_flow`` over every counted
        frame and flow image of each video (``w`` = the head's ``rgb_weight``, 0.5).

        Args:
            clips: uint8 ``[N, 3, 2T-1, H, W]`` (or RGB-only ``[N, 3, T, H, W]``).
            video_index: ``[N]``, the video of each clip (0 .. num_videos-1).
            num_videos: videos in the batch.
            valid: bool ``[N, 2T-1]`` from `FlowClipReader` (frames shared by two clips and the
                last clip's padding are False); None counts every slot.

        Returns:
            ``[num_videos]`` scores in [0, 1].
        """
        t = self.spec.frames
        if clips.shape[2] == t:
            clips = self.with_flow(clips)
        self.model.eval()
        with torch.inference_mode():
            feats = self.model.extract_feat(self.normalize(clips)[:, None], test_mode=True)[0]
            rgb, flow = (x.sigmoid().float() for x in self.model.cls_head.frame_logits(feats))
        mask = torch.ones(rgb.shape[0], 2 * t - 1, dtype=torch.bool) if valid is None else valid
        mask = mask.to(rgb.device).float()
        index = video_index.to(rgb.device).long()
        means = [_masked_mean(p, m, index, num_videos) for p, m in
                 ((rgb, mask[:, :t]), (flow, mask[:, t:]))]
        weight = self.model.cls_head.rgb_weight
        return weight * means[0] + (1 - weight) * means[1]

    def with_flow(self, clips: torch.Tensor) -> torch.Tensor:
        """Appends the flow images of RGB clips: ``[N, 3, T, H, W]`` → ``[N, 3, 2T-1, H, W]``."""
        if self._flow_reader is None:
            self._flow_reader = self.clip_reader()
        reader = self._flow_reader
        frames = clips.permute(0, 2, 3, 4, 1).cpu().numpy()  # [N, T, H, W, 3]
        side = frames.shape[2]  # clips are square
        # RAFT may keep its multiple-of-8 padding (AIGVDet renders it): crop back to the clip
        flows = np.stack([center_crop_pad(flow_images(f, reader.estimator, reader.channel_order),
                                          side) for f in frames])
        flow = torch.from_numpy(flows).permute(0, 4, 1, 2, 3).to(clips.device)  # [N, 3, T-1, H, W]
        return torch.cat([clips, flow], dim=2)


def _masked_mean(values: torch.Tensor, mask: torch.Tensor, index: torch.Tensor,
                 num_videos: int) -> torch.Tensor:
    """Per-video mean of ``values [N, S]`` over the slots where ``mask [N, S]`` is 1."""
    total = torch.zeros(num_videos, device=values.device).index_add_(0, index, (values * mask).sum(1))
    count = torch.zeros(num_videos, device=values.device).index_add_(0, index, mask.sum(1))
    return total / count.clamp_min(1)


def _check_config(config: dict[str, Any]) -> None:
    """Refuses an input spec that the backbone cannot take, naming both values."""
    name = f"config {config.get('method', 'aigvdet')}/{config.get('name')}"
    frames = config.get("model", {}).get("backbone", {}).get("num_frames", 8)
    given = config.get("input", {}).get("frames")
    if given is not None and given != frames:
        raise RegistryError(f"{name}: input.frames is {given} but the AIGVDetBackbone was built "
                            f"for num_frames={frames}")
    if given is not None and given < 2:
        raise RegistryError(f"{name}: input.frames must be >= 2 (flow needs frame pairs), "
                            f"got {given}")
