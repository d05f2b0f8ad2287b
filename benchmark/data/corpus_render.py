"""Camera-like clips for the embedded corpus: photographs, camera motion, sensor noise, H.264.

Frames are float32 arrays in [0, 1] shaped [T, H, W, 3] (RGB) until :func:`encode_mp4` quantises
them. Real and generated clips both start from :func:`render_shot`, so content and motion carry no
label information; only what happens after the render does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

# Natural photographs that scikit-image ships inside its wheel (no download). Gray ones become RGB.
PHOTOS = (
    "astronaut", "brick", "camera", "cat", "chelsea", "clock", "coffee", "coins", "grass",
    "gravel", "immunohistochemistry", "moon", "rocket", "motorcycle_left", "motorcycle_right",
)
# Photographs from other installed packages (name -> (package, file inside it)), read as files.
PACKAGE_PHOTOS = {"grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg")}
SUPERSAMPLE = 2  # render at 2x and area-average, as a sensor integrates light over each pixel


@dataclass(frozen=True)
class Shot:
    """One source: a photograph, its colour grade and a camera path over it.

    Attributes:
        photo: name in :data:`PHOTOS`.
        flip: mirror the photograph left-right.
        grade: (gamma, saturation, gain_r, gain_g, gain_b) applied to the photograph.
        center: camera centre at t=0 in photograph pixels (x, y).
        scale: photograph pixels per output pixel at t=0 (the crop window is ``scale * size`` wide).
        pan: camera velocity in output pixels per frame (x, y).
        zoom: log-scale change per frame (> 0 zooms out).
        spin: rotation in radians per frame.
        shake: [K, 3] hand-shake key offsets (dx px, dy px, radians), one key every 2 frames.
        shutter: exposure as a fraction of the frame interval; 0 renders without motion blur.
    """

    photo: str
    flip: bool
    grade: tuple[float, float, float, float, float]
    center: tuple[float, float]
    scale: float
    pan: tuple[float, float]
    zoom: float
    spin: float
    shake: np.ndarray
    shutter: float

    def pose(self, t: float) -> tuple[float, float, float, float]:
        """Camera (cx, cy, scale, angle) at time ``t`` frames; cx, cy in photograph pixels."""
        keys = np.arange(len(self.shake)) * 2.0
        jitter = [np.interp(t, keys, self.shake[:, i]) for i in range(3)]
        scale = self.scale * math.exp(self.zoom * t)
        cx = self.center[0] + (self.pan[0] * t + jitter[0]) * self.scale
        cy = self.center[1] + (self.pan[1] * t + jitter[1]) * self.scale
        return cx, cy, scale, self.spin * t + jitter[2]


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        from benchmark.errors import DataError

        raise DataError(f"the embedded corpus needs the installed package {package!r} (for "
                        f"{relative}); it is not installed (pip install -r requirements.lock)")
    return Path(list(spec.submodule_search_locations)[0]) / relative


@lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """A photograph from ``skimage.data`` (or `PACKAGE_PHOTOS`) as float32 RGB in [0, 1], [H, W, 3]."""
    from skimage import data

    if name in PACKAGE_PHOTOS:
        import cv2

        image = cv2.imread(str(package_file(*PACKAGE_PHOTOS[name])), cv2.IMREAD_COLOR)
        image = image[..., ::-1]  # BGR -> RGB
    elif name.startswith("motorcycle_"):
        left, right, _ = data.stereo_motorcycle()
        image = left if name.endswith("left") else right
    else:
        image = getattr(data, name)()
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3], dtype=np.float32) / 255.0


def sample_shot(rng: np.random.Generator, frames: int, size: int,
                photos: tuple[str, ...] = PHOTOS) -> Shot:
    """Draws a source: photograph (one of ``photos``), crop window, flip, colour grade and a
    camera path."""
    photo = photos[rng.integers(len(photos))]
    height, width = load_photo(photo).shape[:2]
    pan, zoom, spin, shake = _sample_motion(rng, frames)
    # Largest distance from the centre the window reaches, in output pixels (zoomed-out corner +
    # travel + shake); the crop scale is capped so the whole path stays inside the photograph.
    travel = math.hypot(*pan) * frames + 2 * float(np.abs(shake[:, :2]).max())
    reach = 0.75 * size * math.exp(abs(zoom) * frames) + travel
    top = max(1.0, min(0.6 * min(height, width) / size, min(height, width) / (2 * reach)))
    scale = math.exp(rng.uniform(0.0, math.log(top)))
    margin = scale * reach
    cx = rng.uniform(min(margin, width / 2), max(width - margin, width / 2))
    cy = rng.uniform(min(margin, height / 2), max(height - margin, height / 2))
    grade = sample_grade(rng)
    shutter = rng.uniform(0.3, 0.9) if rng.random() < 0.5 else 0.0
    return Shot(photo, bool(rng.random() < 0.5), tuple(float(g) for g in grade), (cx, cy), scale,
                pan, zoom, spin, shake, shutter)


def sample_grade(rng: np.random.Generator) -> tuple[float, float, float, float, float]:
    """A colour grade: (gamma 0.8-1.25, saturation 0.75-1.25, per-channel gains 0.92-1.08)."""
    return (rng.uniform(0.8, 1.25), rng.uniform(0.75, 1.25), *rng.uniform(0.92, 1.08, 3))


def apply_grade(image: np.ndarray, grade: tuple[float, float, float, float, float]) -> np.ndarray:
    """Applies a `sample_grade` grade to float RGB in [0, 1] (``[..., 3]``); clipped to [0, 1]."""
    gamma, saturation, *gains = grade
    image = np.clip(image, 0.0, 1.0) ** gamma * np.asarray(gains, dtype=np.float32)
    gray = image.mean(axis=-1, keepdims=True)
    image = gray + saturation * (image - gray)
    return np.ascontiguousarray(np.clip(image, 0.0, 1.0), dtype=np.float32)


def _sample_motion(rng: np.random.Generator,
                   frames: int) -> tuple[tuple[float, float], float, float, np.ndarray]:
    """A camera move: pan, zoom, hand shake or a combination. Returns (pan, zoom, spin, shake)."""
    kind = str(rng.choice(["pan", "zoom", "shake", "pan+zoom", "pan+shake", "zoom+shake", "all"]))
    speed, heading = rng.uniform(0.3, 2.5), rng.uniform(0, 2 * math.pi)
    moves = set(kind.split("+")) if kind != "all" else {"pan", "zoom", "shake"}
    pan = (speed * math.cos(heading), speed * math.sin(heading)) if "pan" in moves else (0.0, 0.0)
    zoom = float(rng.uniform(0.005, 0.03) * rng.choice([-1, 1])) if "zoom" in moves else 0.0
    spin = float(rng.uniform(-0.004, 0.004)) if kind == "all" else 0.0
    shake_px = rng.uniform(0.3, 1.5) if "shake" in moves else rng.uniform(0.0, 0.2)
    shake = rng.normal(0.0, 1.0, (frames // 2 + 2, 3)) * [shake_px, shake_px, shake_px * 0.002]
    return pan, zoom, spin, shake


def render_shot(shot: Shot, frames: int, size: int) -> np.ndarray:
    """Renders the camera path over the photograph, noise-free.

    Returns:
        float32 [T, size, size, 3] in [0, 1].
    """
    offsets = [0.0] if shot.shutter == 0 else list(np.linspace(-0.5, 0.5, 3) * shot.shutter)
    poses = [[shot.pose(t + dt) for dt in offsets] for t in range(frames)]
    image, (x0, y0), shrink = graded_region(shot, [p for sub in poses for p in sub], size)
    out = np.empty((frames, size, size, 3), np.float32)
    for t, sub_poses in enumerate(poses):
        # Motion blur: average sub-exposures along the path within the shutter interval.
        views = [_render_pose(image, (cx - x0, cy - y0, scale, angle), shrink, size)
                 for cx, cy, scale, angle in sub_poses]
        out[t] = np.mean(views, axis=0)
    return out


def graded_region(shot: Shot, poses: list[tuple[float, float, float, float]],
                  size: int) -> tuple[np.ndarray, tuple[int, int], float]:
    """The part of the photograph the camera sees: flipped, cropped, pre-shrunk, colour-graded.

    Cropping to the path first keeps the per-video cost independent of the photograph's size.

    Returns:
        The image [H', W', 3], its origin (x0, y0) in photograph pixels, and the factor by which
        photograph distances shrank.
    """
    import cv2

    image = load_photo(shot.photo)
    if shot.flip:
        image = image[:, ::-1]
    shrink = max(1.0, shot.scale / SUPERSAMPLE)
    # Half-diagonal of the largest window plus room for the interpolation kernel.
    reach = 0.75 * size * max(p[2] for p in poses) + 4 * shrink
    xs, ys = [p[0] for p in poses], [p[1] for p in poses]
    height, width = image.shape[:2]
    x0, x1 = max(0, int(min(xs) - reach)), min(width, int(max(xs) + reach) + 1)
    y0, y1 = max(0, int(min(ys) - reach)), min(height, int(max(ys) + reach) + 1)
    image = image[y0:y1, x0:x1]
    if shrink > 1.0:  # area-average first so the warp never aliases
        out_size = (max(1, round(image.shape[1] / shrink)), max(1, round(image.shape[0] / shrink)))
        image = cv2.resize(image, out_size, interpolation=cv2.INTER_AREA)
    return apply_grade(image, shot.grade), (x0, y0), shrink


def _render_pose(image: np.ndarray, pose: tuple[float, float, float, float], shrink: float,
                 size: int) -> np.ndarray:
    """One view [size, size, 3]: a rotated, scaled window centred on the pose, area-sampled."""
    import cv2

    cx, cy, scale, angle = pose
    cx, cy = cx / shrink, cy / shrink
    big = size * SUPERSAMPLE
    step = scale / SUPERSAMPLE / shrink  # image pixels per supersampled output pixel
    cos, sin = math.cos(angle) * step, math.sin(angle) * step
    half = (big - 1) / 2.0
    # Maps output pixel (u, v) to image pixel: centre + R(angle) * step * (u - half, v - half).
    matrix = np.array([[cos, -sin, cx - cos * half + sin * half],
                       [sin, cos, cy - sin * half - cos * half]], dtype=np.float64)
    view = cv2.warpAffine(image, matrix, (big, big), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT_101)
    return cv2.resize(view, (size, size), interpolation=cv2.INTER_AREA)


def add_sensor_noise(frames: np.ndarray, rng: np.random.Generator,
                     level: tuple[float, float] = (0.25, 1.0)) -> np.ndarray:
    """Adds shot + read noise whose strength varies from frame to frame.

    Args:
        frames: float32 [T, H, W, 3] in [0, 1].
        rng: random generator of this video.
        level: range of the overall noise level (log-uniform); 1.0 is a noisy phone camera in dim
            light (about 5/255 at mid-gray), 0.25 a clean daylight shot.

    Returns:
        Noisy float32 frames [T, H, W, 3], not clipped.
    """
    low, high = level
    overall = math.exp(rng.uniform(math.log(max(low, 1e-6)), math.log(max(high, 1e-6))))
    shot_var, read_std = 8e-4 * overall, 0.008 * overall * rng.uniform(0.5, 1.0)
    per_frame = np.exp(rng.normal(0.0, rng.uniform(0.1, 0.4), len(frames)))  # variance factor
    var = (shot_var * np.clip(frames, 0.0, 1.0) + read_std ** 2) * per_frame[:, None, None, None]
    noise = rng.standard_normal(frames.shape, dtype=np.float32)
    return (frames + noise * np.sqrt(var)).astype(np.float32)


def encode_mp4(frames: np.ndarray, path: Path, fps: int, crf: int, preset: str = "medium",
               x264_params: str = "") -> None:
    """Writes H.264 (libx264, yuv420p) mp4 with byte-reproducible settings.

    Args:
        frames: float32 [T, H, W, 3] in [0, 1]; clipped and rounded to uint8 here.
        path: output file.
        fps: frame rate.
        crf: x264 constant rate factor.
        preset: x264 preset.
        x264_params: more ``key=value`` x264 options, ``:``-separated (e.g. ``keyint=8:bframes=0``);
            macroblock-tree rate control stays off.
    """
    import av

    pixels = np.clip(frames * 255.0 + 0.5, 0, 255).astype(np.uint8)  # [T, H, W, 3]
    # bitexact keeps version strings and wall-clock times out of the file.
    with av.open(str(path), "w", format="mp4", container_options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = pixels.shape[2], pixels.shape[1], "yuv420p"
        stream.codec_context.thread_count = 1  # one thread: x264 output must not depend on the host
        # mbtree off: with clips shorter than x264's lookahead, macroblock-tree rate control made
        # ~1 encode in 50 of identical input differ in its bytes (seen with libx264 core 165).
        stream.options = {"crf": str(crf), "preset": preset, "threads": "1",
                          "x264-params": ":".join(p for p in ("mbtree=0", x264_params) if p)}
        for index, rgb in enumerate(pixels):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
