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
magnitude, bit for bit as RAFT's ``flow_viz`` (which AIGVDet uses). `build_flow` picks the estimator
from a plain config dict.
"""
from __future__ import annotations

import json
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
    """Renders flow fields as colour-wheel images, exactly as RAFT's ``flow_viz.flow_to_image``.

    Hue is the flow direction, saturation its length relative to the normalising magnitude
    (white = no motion). Vectors are divided by ``max_magnitude`` or, when None, by each image's own
    largest magnitude + 1e-5. The arithmetic follows RAFT's code step by step, dtypes included
    (float32 flow, the divisor rounded as NumPy 1.x rounds it, float64 colours), so renderings are
    bit-identical to AIGVDet's; in particular the wheel position is taken from
    ``atan2(-dy, -dx)``, whose seam at +x depends on the sign of a zero ``dy`` (``-0.0`` renders as
    the last wheel entry, (255, 0, 43), ``+0.0`` as the first, pure red).

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
    flow = np.asarray(flow)
    if flow.ndim < 3 or flow.shape[-1] != 2:
        raise DataError(f"flow_to_color: expected flow [..., H, W, 2], got shape {flow.shape}")
    flow = flow if flow.dtype in (np.float32, np.float64) else flow.astype(np.float32)
    u, v = flow[..., 0], flow[..., 1]  # [..., H, W]
    if max_magnitude is None:
        radius = np.sqrt(np.square(u) + np.square(v))
        peak = radius.max(axis=(-2, -1), keepdims=True) if radius.size else np.zeros_like(radius)
        # NumPy 1.x added the float32 peak and the Python 1e-5 in float64, then divided in float32
        divisor = (peak.astype(np.float64) + NORM_EPS).astype(flow.dtype)
    else:
        divisor = np.asarray(max_magnitude, np.float64).astype(flow.dtype)
    image = _wheel_colors(u / divisor, v / divisor)
    return np.ascontiguousarray(image[..., ::-1]) if channel_order == "upstream_bgr" else image


def _wheel_colors(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Normalised flow components ``[...]`` → uint8 RGB ``[..., 3]`` (RAFT's ``flow_uv_to_colors``)."""
    wheel = color_wheel()
    n = len(wheel)
    radius = np.sqrt(np.square(u) + np.square(v))
    position = (np.arctan2(-v, -u) / np.pi + 1) / 2 * (n - 1)  # 0 .. n-1 over a full turn
    k0 = np.floor(position).astype(np.int32)
    k1 = np.where(k0 + 1 == n, 0, k0 + 1)
    frac = (position - k0)[..., None]  # float64, as NumPy promotes float32 - int32
    hue = (1 - frac) * (wheel[k0] / 255.0) + frac * (wheel[k1] / 255.0)  # [..., 3]
    r = radius[..., None]
    colour = np.where(r <= 1, 1 - r * (1 - hue), hue * OUT_OF_RANGE_DIM)  # white as r shrinks
    return np.floor(255 * colour).astype(np.uint8)


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

    Frames are scaled to [-1, 1] (what RAFT expects) and replicate-padded as RAFT's ``InputPadder``
    does (height and width up to multiples of 8, split evenly between the sides, the odd pixel at
    the end), plus more where torchvision needs at least `RAFT_MIN_SIDE` (its 4-level correlation
    pyramid needs a 16x16 feature grid). With ``keep_padding`` (AIGVDet) the flow keeps
    ``InputPadder``'s padding, because AIGVDet renders and centre-crops the padded field; otherwise
    it is cropped back to the frame. The model is built lazily, so an estimator pickles cheaply
    into DataLoader workers.

    Args:
        weights: path to a torchvision ``raft_large`` state dict.
        iterations: refinement iterations (20, as RAFT's demo and AIGVDet use).
        batch_size: frame pairs per forward pass.
        device: where RAFT runs (``cpu`` inside DataLoader workers).
        keep_padding: return the flow on the padded grid (``[F-1, H + ph, W + pw, 2]``, ``ph``,
            ``pw`` < 8) instead of the frame's.
    """

    name = "raft_large"

    def __init__(self, weights: str | Path, iterations: int = 20, batch_size: int = 4,
                 device: str = "cpu", keep_padding: bool = False):
        self.weights = Path(weights).expanduser()
        if not self.weights.is_file():
            raise WeightsError(f"flow.raft_weights: file not found: {self.weights} (give a local "
                               f"torchvision raft_large state dict; nothing is downloaded)")
        self.iterations, self.batch_size, self.device = int(iterations), int(batch_size), device
        self.keep_padding = bool(keep_padding)
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
        return {"weights_sha256": self._digest, "iterations": self.iterations,
                "keep_padding": self.keep_padding}

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
        (top, bottom, out_h), (left, right, out_w) = (_raft_padding(h, self.keep_padding),
                                                      _raft_padding(w, self.keep_padding))
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)  # [F, 3, H, W]
        pads = (left, right, top, bottom)
        x = F.pad(x, pads, mode="replicate") if any(pads) else x
        # where the returned field starts inside the padded input
        row, col = top - (out_h - h) // 2, left - (out_w - w) // 2
        model, out = self.model(), []
        with torch.inference_mode():
            for start in range(0, len(frames) - 1, self.batch_size):
                stop = min(start + self.batch_size, len(frames) - 1)
                first = x[start:stop].to(self.device)
                second = x[start + 1:stop + 1].to(self.device)
                flow = model(first, second, num_flow_updates=self.iterations)[-1]  # [B, 2, H', W']
                out.append(flow[:, :, row: row + out_h, col: col + out_w].float().cpu())
        return torch.cat(out).permute(0, 2, 3, 1).numpy()  # [F-1, out_h, out_w, 2]


def _raft_padding(side: int, keep_padding: bool) -> tuple[int, int, int]:
    """(pad before, pad after, side of the returned flow) for one axis.

    RAFT's ``InputPadder`` pads ``-side % 8`` pixels, half before (rounded down), the rest after;
    torchvision needs `RAFT_MIN_SIDE` at least, which adds padding around that, split alike.
    """
    upstream = -side % 8
    extra = max(side + upstream, RAFT_MIN_SIDE) - side - upstream
    before = upstream // 2 + extra // 2
    after = upstream - upstream // 2 + extra - extra // 2
    return before, after, side + upstream if keep_padding else side


def build_flow(cfg: Mapping[str, Any] | None) -> FlowEstimator:
    """The estimator a config asks for: RAFT when ``raft_weights`` is set, OpenCV otherwise.

    Args:
        cfg: ``{raft_weights: path | null, raft_iterations: 20, raft_batch_size: 4, device: cpu,
            raft_keep_padding: false, opencv: farneback | dis, opencv_params: {...}}``; other keys
            (e.g. ``channel_order``) belong to the caller and are ignored here.
    """
    cfg = dict(cfg or {})
    if cfg.get("raft_weights"):
        return RaftFlow(cfg["raft_weights"], iterations=cfg.get("raft_iterations", 20),
                        batch_size=cfg.get("raft_batch_size", 4), device=cfg.get("device", "cpu"),
                        keep_padding=cfg.get("raft_keep_padding", False))
    return OpenCVFlow(cfg.get("opencv", "farneback"), cfg.get("opencv_params"))


def flow_images(frames: np.ndarray, estimator: FlowEstimator, channel_order: str = "rgb"
                ) -> np.ndarray:
    """uint8 RGB frames ``[F, H, W, 3]`` → rendered flow images uint8 ``[F-1, H, W, 3]``."""
    return flow_to_color(estimator.pairs(frames), channel_order)
