"""Real re-encoding through PyAV/FFmpeg: frames -> H.264 / H.265 / VP9 stream in memory -> frames.

Encoders run with one thread and fixed options so the same frames give the same bytes on any
host; x264 also runs without macroblock-tree rate control (``mbtree=0``), which made about one
encode in fifty of identical input differ at one thread (seen while building the corpus, see
`benchmark.data.corpus_render.encode_mp4`). Everything else is the encoder's default.

Quality is set either by a constant rate factor (``crf``) or by a bit budget in bits per pixel per
frame (``bpp``; bit rate = bpp * width * height * fps), which scales with resolution the way
platforms' bit-rate ladders do and does not depend on the nominal frame rate.
"""
from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from benchmark.perturb.errors import PerturbationError, PerturbationSpecError
from benchmark.perturb.functions import frame_function


@dataclass(frozen=True)
class Encoder:
    """An encoder the engine drives: the stream's codec name once decoded and its CRF range."""

    stream_codec: str
    crf_max: int
    default_preset: str


ENCODERS: dict[str, Encoder] = {
    "libx264": Encoder("h264", 51, "medium"),
    "libx265": Encoder("hevc", 51, "medium"),
    "libvpx-vp9": Encoder("vp9", 63, "4"),  # the preset of VP9 is libvpx's cpu-used (0 = slowest)
}
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                "veryslow", "placebo")
DEFAULT_FPS = 30
# libx265 4.2 (PyAV 18.1.0's build) corrupts the heap on some frames under 64 px a side, e.g. 48x32
# and 48x40 (glibc aborts a later encode: "corrupted size vs. prev_size"; cf. x265 issue #774).
# None seen at 64 px and above; `reencode` pads smaller frames up to this and crops the result.
X265_MIN_SIDE = 64


@lru_cache(maxsize=None)
def has_encoder(name: str) -> bool:
    """Whether the FFmpeg that PyAV links has encoder ``name``."""
    import av

    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:  # PyAV raises UnknownCodecError or ValueError depending on version
        return False


def check_encoder(name: str, where: str) -> None:
    """Raises `PerturbationSpecError` naming ``name`` if this FFmpeg build cannot encode it."""
    if name not in ENCODERS:
        raise PerturbationSpecError(f"{where}: codec '{name}' is not one the engine drives; "
                                    f"use one of {', '.join(ENCODERS)}")
    if not has_encoder(name):
        import av

        present = [c for c in ENCODERS if has_encoder(c)]
        raise PerturbationSpecError(
            f"{where}: codec '{name}' is not in this FFmpeg build (PyAV {av.__version__}); "
            f"encoders available here: {', '.join(present) or '(none)'}")


def _check_encode(params: Mapping[str, Any], where: str, local: bool = True) -> None:
    """The rules of `encode_frames`' settings that depend on the codec (``local``: the codec must
    be in this FFmpeg build)."""
    codec = params.get("codec", "libx264")
    if local or codec not in ENCODERS:
        check_encoder(codec, where)
    crf, bpp = params.get("crf"), params.get("bpp")
    if (crf is None) == (bpp is None):
        raise PerturbationSpecError(f"{where}: give exactly one of crf and bpp for '{codec}', "
                                    f"got crf={crf!r}, bpp={bpp!r}")
    limit = ENCODERS[codec].crf_max
    if crf is not None and not (isinstance(crf, (int, float)) and 0 <= crf <= limit):
        raise PerturbationSpecError(f"{where}: crf of '{codec}' must be in [0, {limit}], got {crf!r}")
    if bpp is not None and not (isinstance(bpp, (int, float)) and bpp > 0):
        raise PerturbationSpecError(f"{where}: bpp must be a number > 0, got {bpp!r}")
    preset = params.get("preset")
    valid = X26X_PRESETS if codec != "libvpx-vp9" else tuple(str(i) for i in range(9))
    if preset is not None and str(preset) not in valid:
        raise PerturbationSpecError(f"{where}: preset of '{codec}' must be one of "
                                    f"{', '.join(valid)}, got {preset!r}")


def _options(codec: str, crf: float | None, preset: str | None) -> dict[str, str]:
    preset = str(preset or ENCODERS[codec].default_preset)
    if codec == "libx264":
        options = {"preset": preset, "threads": "1", "x264-params": "mbtree=0"}
    elif codec == "libx265":
        options = {"preset": preset, "x265-params": "log-level=error:pools=1:frame-threads=1"}
    else:  # VP9: crf with b=0 is constant quality; "good" deadline at cpu-used = preset
        options = {"deadline": "good", "cpu-used": preset, "threads": "1", "row-mt": "0"}
        if crf is not None:
            options["b"] = "0"
    if crf is not None:
        options["crf"] = f"{crf:g}"
    return options


def _pad(frames: np.ndarray, min_side: int = 2) -> np.ndarray:
    """Replicates the last rows/columns up to even sizes (yuv420p) of at least ``min_side``."""
    _, h, w, _ = frames.shape
    new_h, new_w = max(h + h % 2, min_side), max(w + w % 2, min_side)
    if (new_h, new_w) == (h, w):
        return frames
    return np.pad(frames, ((0, 0), (0, new_h - h), (0, new_w - w), (0, 0)), mode="edge")


@contextlib.contextmanager
def frame_writer(target: str | Path | io.BytesIO, width: int, height: int, codec: str = "libx264",
                 crf: float | None = None, bpp: float | None = None, preset: str | None = None,
                 fps: float = DEFAULT_FPS, container: str = "matroska"
                 ) -> Iterator[Callable[[np.ndarray], None]]:
    """Opens an encoder and yields ``write(frames)`` for uint8 RGB chunks ``[t, height, width, 3]``
    (even sizes, yuv420p); the stream is flushed and the file closed on exit.

    Args:
        target: a file path or a seekable buffer.
        width, height: the frame size (even).
        codec: a key of `ENCODERS`.
        crf: constant rate factor (x264/x265: 0-51, VP9: 0-63); or
        bpp: target bits per pixel per frame (average bit rate mode).
        preset: x264/x265 preset name, or VP9 cpu-used ``"0"``-``"8"``; None = `ENCODERS` default.
        fps: the frame rate written to the stream.
        container: the FFmpeg muxer (``matroska``, ``mp4``, ``webm``, ...).
    """
    import av

    _check_encode(dict(codec=codec, crf=crf, bpp=bpp, preset=preset), "frame_writer")
    if codec == "libx265" and min(width, height) < X265_MIN_SIDE:
        raise PerturbationSpecError(f"frame_writer: libx265 frames must be at least {X265_MIN_SIDE} px "
                                    f"a side in this build (it corrupts memory on smaller ones), "
                                    f"got {width}x{height}")
    # bitexact: no muxer version string, date or random segment id, so equal frames give equal bytes
    with av.open(target if isinstance(target, io.BytesIO) else str(target), "w", format=container,
                 container_options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        if bpp is not None:
            stream.bit_rate = max(1, int(round(bpp * width * height * fps)))
        stream.options = _options(codec, crf, preset)
        count = 0

        def write(frames: np.ndarray) -> None:
            nonlocal count
            for rgb in frames:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                frame.pts = count
                count += 1
                out.mux(stream.encode(frame))

        yield write
        out.mux(stream.encode())


def encode_frames(frames: np.ndarray, codec: str = "libx264", crf: float | None = None,
                  bpp: float | None = None, preset: str | None = None, fps: float = DEFAULT_FPS,
                  container: str = "matroska") -> bytes:
    """Encodes uint8 RGB frames ``[T, H, W, 3]`` into a stream in memory (see `frame_writer`);
    odd sizes are padded by one replicated row/column (and libx265's to `X265_MIN_SIDE`).

    Returns:
        The bytes of a ``container`` file with one video stream.
    """
    pixels = _pad(frames, X265_MIN_SIDE if codec == "libx265" else 2)
    buffer = io.BytesIO()
    with frame_writer(buffer, pixels.shape[2], pixels.shape[1], codec, crf, bpp, preset, fps,
                      container) as write:
        write(pixels)
    return buffer.getvalue()


def decode_frames(data: bytes) -> np.ndarray:
    """Decodes every frame of an in-memory stream to uint8 RGB ``[T, H, W, 3]``."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    return np.stack(frames)


def encoder_info(data: bytes) -> dict[str, str] | None:
    """The settings x264/x265 write into their stream (an SEI message: ``crf=28.0 ...``), parsed
    into ``{"encoder": "x264 - core 164 ...", "crf": "28.0", ...}``; None when absent (VP9)."""
    match = re.search(rb"(x26[45] [ -~]{0,400}?)options: ([ -~]{10,4000})", data)
    if match is None:
        return None
    info = {"encoder": match.group(1).decode("ascii", "replace").strip(" -")}
    for token in match.group(2).decode("ascii", "replace").split(" "):
        key, eq, value = token.partition("=")
        if eq:
            info[key] = value
    return info


@frame_function(scope="video", check=_check_encode)
def reencode(frames: np.ndarray, rng: np.random.Generator, codec: str = "libx264",
             crf: float | None = None, bpp: float | None = None, preset: str | None = None,
             fps: int = DEFAULT_FPS) -> np.ndarray:
    """Encodes the whole video with ``codec`` (see `encode_frames`) and decodes it back."""
    _, h, w, _ = frames.shape
    out = decode_frames(encode_frames(frames, codec, crf, bpp, preset, fps))
    if len(out) != len(frames):
        raise PerturbationError(f"reencode ({codec})", f"the decoder returned {len(out)} of "
                                f"{len(frames)} frames")
    return np.ascontiguousarray(out[:, :h, :w])


@frame_function(scope="video", bounds={"scale": (0.0, 1.0)}, check=_check_encode)
def downscale_encode(frames: np.ndarray, rng: np.random.Generator, scale: float,
                     codec: str = "libx264", crf: float | None = 23, bpp: float | None = None,
                     preset: str | None = None, restore: bool = True) -> np.ndarray:
    """Area downscale by ``scale`` (even sizes), re-encode, decode and, with ``restore``, bilinear
    upscale back to the original size (a low-resolution rendition played full size)."""
    from benchmark.perturb.geometry import resize_frames, scaled_size

    _, h, w, _ = frames.shape
    small = resize_frames(frames, *scaled_size(w, h, scale, "downscale_encode", even=True), "area")
    coded = reencode(small, rng, codec=codec, crf=crf, bpp=bpp, preset=preset)
    return resize_frames(coded, w, h, "linear") if restore else coded
