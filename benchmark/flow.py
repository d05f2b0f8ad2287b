"""Optical flow between consecutive frames, and its Middlebury colour-wheel rendering.

Two estimators share one interface (`FlowEstimator.pairs`: uint8 frames ``[F, H, W, 3]`` → float32
flow ``[F-1, H, W, 2]``, (dx, dy) in pixels from frame i to frame i+1):

- `RaftFlow`: torchvision's ``raft_large`` (the architecture of RAFT's ``raft-things``), run for 20
  refinement iterations as RAFT's demo does. Its weights must be a local file (torchvision's
  ``Raft_Large_Weights.C_T_V1`` state dict, ported from the original ``raft-things.pth``);
  nothing is downloaded.
- `OpenCVFlow`: Farnebäck or DIS flow from OpenCV, the default where no RAFT weights are given.

`flow_to_color` renders a flow field with the Middlebury colour wheel (Baker et al., "A Database
and Evaluation Methodology for Optical Flow", IJCV 2011), normalised per image by its largest
magnitude. `build_flow` picks the estimator from a plain config dict.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from benchmark.errors import DataError, WeightsError

# Middlebury wheel: (hue segment, steps). Each segment ramps one channel between 0 and 255 while the
# other two stay put: red → yellow → green → cyan → blue → magenta → back towards red.
WHEEL_SEGMENTS = (("RY", 15), ("YG", 6), ("GC", 4), ("CB", 11), ("BM", 13), ("MR", 6))
# (colour at the segment start, channel that ramps, +1 ramps up / -1 ramps down)
_SEGMENT_RAMPS = (((255, 0, 0), 1, 1), ((255, 255, 0), 0, -1), ((0, 255, 0), 2, 1),
                  ((0, 255, 255), 1, -1), ((0, 0, 255), 0, 1), ((255, 0, 255), 2, -1))
NORM_EPS = 1e-5           # added to the per-image peak magnitude before dividing (RAFT's flow_viz)
OUT_OF_RANGE_DIM = 0.75   # colours of vectors longer than the normalising magnitude are darkened
CHANNEL_ORDERS = ("rgb", "upstream_bgr")
OPENCV_METHODS = ("farneback", "dis")
FARNEBACK_DEFAULTS = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5,
                      "poly_sigma": 1.2}
DIS_PRESETS = ("ultrafast", "fast", "medium")
RAFT_MIN_SIDE = 128  # torchvision's RAFT needs feature maps of at least 16 x 16 at 1/8 resolution


def color_wheel() -> np.ndarray:
    """The Middlebury colour wheel, float ``[55, 3]`` RGB on the 0-255 scale.

    Entry 0 is pure red (flow pointing along +x); entries follow the flow direction clockwise on
    screen (towards +y, i.e. downwards) through yellow, green, cyan, blue and magenta.
    """
    blocks = []
    for (_, steps), (start, channel, sign) in zip(WHEEL_SEGMENTS, _SEGMENT_RAMPS):
        ramp = np.floor(255.0 * np.arange(steps) / steps)  # [steps]
        block = np.tile(np.asarray(start, np.float64), (steps, 1))  # [steps, 3]
        block[:, channel] = ramp if sign > 0 else 255.0 - ramp
        blocks.append(block)
    return np.concatenate(blocks)


def flow_to_color(flow: np.ndarray, channel_order: str = "rgb",
                  max_magnitude: float | None = None) -> np.ndarray:
    """Renders flow fields as colour-wheel images.

    Hue is the flow direction, saturation its length relative to the normalising magnitude
    (white = no motion). Vectors are divided by ``max_magnitude`` or, when None, by each image's own
    largest magnitude (+1e-5), as RAFT's visualisation does.

    Args:
        flow: float ``[..., H, W, 2]`` (dx, dy) in pixels, y pointing down.
        channel_order: ``rgb``, or ``upstream_bgr`` for the channels reversed: AIGVDet wrote RGB
            renderings with ``cv2.imwrite`` (which expects BGR) and read them back as RGB, so its
            released flow network saw (B, G, R).
        max_magnitude: fixed normalising magnitude; per image when None.

    Returns:
        uint8 ``[..., H, W, 3]``.
    """
    if channel_order not in CHANNEL_ORDERS:
        raise DataError(f"flow channel_order must be one of {CHANNEL_ORDERS}, "
                        f"got {channel_order!r}")
    flow = np.asarray(flow, np.float64)
    if flow.ndim < 3 or flow.shape[-1] != 2:
        raise DataError(f"flow_to_color: expected flow [..., H, W, 2], got shape {flow.shape}")
    u, v = flow[..., 0], flow[..., 1]  # [..., H, W]
    magnitude = np.hypot(u, v)
    if max_magnitude is None:
        peak = magnitude.max(axis=(-2, -1), keepdims=True) if magnitude.size else 0.0
        scale = 1.0 / (peak + NORM_EPS)
    else:
        scale = 1.0 / float(max_magnitude)
    rgb = _wheel_colors(np.arctan2(v, u), magnitude * scale)  # [..., H, W, 3] in [0, 1]
    image = np.floor(255.0 * rgb).astype(np.uint8)
    return np.ascontiguousarray(image[..., ::-1]) if channel_order == "upstream_bgr" else image


def _wheel_colors(angle: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Direction (radians, 0 = +x) and normalised length ``[...]`` → RGB in [0, 1], ``[..., 3]``."""
    wheel = color_wheel() / 255.0
    n = len(wheel)
    # the wheel spans a full turn over its entries 0 .. n-1
    position = np.mod(angle, 2 * math.pi) / (2 * math.pi) * (n - 1)
    k0 = np.floor(position).astype(np.int64)
    k1 = (k0 + 1) % n
    frac = (position - k0)[..., None]
    hue = (1 - frac) * wheel[k0 % n] + frac * wheel[k1]  # [..., 3]
    r = radius[..., None]
    inside = 1 - r * (1 - hue)  # towards white as the vector shrinks
    return np.where(r <= 1, inside, hue * OUT_OF_RANGE_DIM)


class FlowEstimator:
    """Dense flow between consecutive frames; subclasses implement `pairs` and `params`."""

    name = "base"

    def pairs(self, frames: np.ndarray) -> np.ndarray:
        """uint8 RGB ``[F, H, W, 3]`` → float32 ``[F-1, H, W, 2]`` flow from frame i to i+1."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """Everything that changes the output (part of cache keys)."""
        raise NotImplementedError

    def identity(self) -> str:
        """A stable string naming the method and its parameters."""
        return json.dumps({"method": self.name, **self.params()}, sort_keys=True)


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 2:
        raise DataError(f"optical flow: expected at least 2 uint8 RGB frames [F, H, W, 3], got "
                        f"{frames.dtype} {frames.shape}")
    return frames


class OpenCVFlow(FlowEstimator):
    """OpenCV's Farnebäck or DIS flow on grey frames (no weights, CPU).

    Args:
        method: ``farneback`` or ``dis``.
        params: Farnebäck arguments (`FARNEBACK_DEFAULTS` overridden), or ``{"preset": ...}`` for
            DIS (one of `DIS_PRESETS`, default ``medium``).
    """

    def __init__(self, method: str = "farneback", params: Mapping[str, Any] | None = None):
        if method not in OPENCV_METHODS:
            raise DataError(f"flow.opencv must be one of {OPENCV_METHODS}, got {method!r}")
        self.name = method
        given = dict(params or {})
        if method == "farneback":
            unknown = sorted(set(given) - set(FARNEBACK_DEFAULTS))
            if unknown:
                raise DataError(f"flow.opencv_params: unknown Farnebäck parameters {unknown}; "
                                f"known: {sorted(FARNEBACK_DEFAULTS)}")
            self._params = {**FARNEBACK_DEFAULTS, **given}
        else:
            preset = given.get("preset", "medium")
            if preset not in DIS_PRESETS or set(given) - {"preset"}:
                raise DataError(f"flow.opencv_params for DIS: expected {{preset: one of "
                                f"{DIS_PRESETS}}}, got {given}")
            self._params = {"preset": preset}

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def pairs(self, frames: np.ndarray) -> np.ndarray:
        import cv2

        frames = _check_frames(frames)
        grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]  # F x [H, W]
        if self.name == "dis":
            preset = getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{self._params['preset'].upper()}")
            dis = cv2.DISOpticalFlow_create(preset)
            flows = [dis.calc(a, b, None) for a, b in zip(grey[:-1], grey[1:])]
        else:
            p = self._params
            flows = [cv2.calcOpticalFlowFarneback(a, b, None, p["pyr_scale"], p["levels"],
                                                  p["winsize"], p["iterations"], p["poly_n"],
                                                  p["poly_sigma"], 0)
                     for a, b in zip(grey[:-1], grey[1:])]
        return np.stack(flows).astype(np.float32)  # [F-1, H, W, 2]


class RaftFlow(FlowEstimator):
    """torchvision's RAFT-large from a local weights file, loaded with ``weights_only=True``.

    Frames are scaled to [-1, 1] (what RAFT expects), replicate-padded so height and width are
    multiples of 8 (RAFT's 1/8 feature grid) and at least `RAFT_MIN_SIDE` (torchvision refuses
    smaller inputs: its 4-level correlation pyramid needs a 16x16 feature grid), and the flow is
    cropped back to the frame size. The model is built lazily, so an estimator pickles cheaply into
    DataLoader workers.

    Args:
        weights: path to a torchvision ``raft_large`` state dict.
        iterations: refinement iterations (20, as RAFT's demo and AIGVDet use).
        batch_size: frame pairs per forward pass.
        device: where RAFT runs (``cpu`` inside DataLoader workers).
    """

    name = "raft_large"

    def __init__(self, weights: str | Path, iterations: int = 20, batch_size: int = 4,
                 device: str = "cpu"):
        self.weights = Path(weights).expanduser()
        if not self.weights.is_file():
            raise WeightsError(f"flow.raft_weights: file not found: {self.weights} (give a local "
                               f"torchvision raft_large state dict; nothing is downloaded)")
        self.iterations, self.batch_size, self.device = int(iterations), int(batch_size), device
        self._model = None
        self._digest: str | None = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_model"] = None  # rebuilt in each worker
        return state

    def params(self) -> dict[str, Any]:
        if self._digest is None:
            from benchmark.checkpoint import sha256_file

            self._digest = sha256_file(self.weights)
        return {"weights_sha256": self._digest, "iterations": self.iterations}

    def model(self):
        """The RAFT network, built and loaded strictly on first use."""
        if self._model is None:
            from torchvision.models.optical_flow import raft_large

            from benchmark.checkpoint import load_strict, read_state_dict

            model = raft_large(weights=None, progress=False)
            load_strict(model, read_state_dict(self.weights), self.weights)
            self._model = model.eval().to(self.device)
        return self._model

    def pairs(self, frames: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        frames = _check_frames(frames)
        _, h, w, _ = frames.shape
        pad_h, pad_w = _raft_padding(h), _raft_padding(w)
        # split the padding evenly between the two sides, as RAFT's InputPadder does
        pad = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)  # [F, 3, H, W]
        x = F.pad(x, pad, mode="replicate") if any(pad) else x
        model, out = self.model(), []
        with torch.inference_mode():
            for start in range(0, len(frames) - 1, self.batch_size):
                stop = min(start + self.batch_size, len(frames) - 1)
                first = x[start:stop].to(self.device)
                second = x[start + 1:stop + 1].to(self.device)
                flow = model(first, second, num_flow_updates=self.iterations)[-1]  # [B, 2, H', W']
                out.append(flow[:, :, pad[2]: pad[2] + h, pad[0]: pad[0] + w].float().cpu())
        return torch.cat(out).permute(0, 2, 3, 1).numpy()  # [F-1, H, W, 2]


def _raft_padding(side: int) -> int:
    """Pixels to add to ``side`` for RAFT: up to a multiple of 8, and to `RAFT_MIN_SIDE` at least."""
    return max(side + (-side % 8), RAFT_MIN_SIDE) - side


def build_flow(cfg: Mapping[str, Any] | None) -> FlowEstimator:
    """The estimator a config asks for: RAFT when ``raft_weights`` is set, OpenCV otherwise.

    Args:
        cfg: ``{raft_weights: path | null, raft_iterations: 20, raft_batch_size: 4, device: cpu,
            opencv: farneback | dis, opencv_params: {...}}``; other keys (e.g. ``channel_order``)
            belong to the caller and are ignored here.
    """
    cfg = dict(cfg or {})
    if cfg.get("raft_weights"):
        return RaftFlow(cfg["raft_weights"], iterations=cfg.get("raft_iterations", 20),
                        batch_size=cfg.get("raft_batch_size", 4), device=cfg.get("device", "cpu"))
    return OpenCVFlow(cfg.get("opencv", "farneback"), cfg.get("opencv_params"))


def flow_images(frames: np.ndarray, estimator: FlowEstimator, channel_order: str = "rgb"
                ) -> np.ndarray:
    """uint8 RGB frames ``[F, H, W, 3]`` → rendered flow images uint8 ``[F-1, H, W, 3]``."""
    return flow_to_color(estimator.pairs(frames), channel_order)
