"""What a video file or frame folder is, as a container/codec sees it (not what it shows).

`probe_media` reads headers, the packet index and the first packet, never decodes a frame, so it
can run over a whole dataset before a run; shortcut checks compare these fields between real and
generated videos (`benchmark.shortcuts`).
"""
from __future__ import annotations

import math
import os
from collections import Counter
from typing import Any

from benchmark.data.video import IMAGE_EXTS, list_frames
from benchmark.errors import VideoDecodeError

FIELDS = ("container", "format", "codec", "profile", "pix_fmt", "width", "height", "fps", "frames",
          "duration", "bitrate", "bytes", "bpp", "crf", "encoder")
NAN = float("nan")


def probe_media(path: str | os.PathLike) -> dict[str, Any]:
    """Container and stream facts of a video file or a folder of frame images.

    Returns:
        A dict with every key of `FIELDS`:
        ``container`` (file extension, or ``frames`` for a folder), ``format`` (FFmpeg's demuxer, or
        the folder's image format), ``codec`` (``h264``, ``hevc``, ``vp9``, ``png``, ``jpeg``...),
        ``profile``, ``pix_fmt`` (or the image mode), ``width``, ``height``, ``fps`` (NaN for
        folders), ``frames``, ``duration`` in seconds (NaN for folders), ``bitrate`` in bits/s of the
        video stream (NaN for folders), ``bytes`` (file or folder size), ``bpp`` (video payload bits
        per pixel per frame: compression strength independent of size and length), ``crf`` (the
        rate factor x264/x265 wrote into the stream, else NaN) and ``encoder`` (the writer's tag:
        the x264/x265 version, or the container's ``encoder`` metadata, else "").

    Raises:
        VideoDecodeError: missing, empty or unreadable files, folders without images.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return _probe_folder(path)
    if not os.path.exists(path):
        raise VideoDecodeError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")
    try:
        return _probe_file(path)
    except VideoDecodeError:
        raise
    except Exception as error:  # PyAV raises many types for broken files
        raise VideoDecodeError(path, f"undecodable: {getattr(error, 'strerror', None) or error}") from None


def _probe_file(path: str) -> dict[str, Any]:
    import av

    from benchmark.perturb.codec import encoder_info

    with av.open(path) as container:
        if not container.streams.video:
            raise VideoDecodeError(path, "no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        fps = float(stream.average_rate or stream.guessed_rate or 0.0) or NAN
        frames, payload, first = _packets(container, stream)
        duration = _duration(container, stream, frames, fps)
        bitrate = payload * 8 / duration if duration and not math.isnan(duration) else NAN
        # x264 writes its settings into the first frame; x265 into the headers (extradata in mp4)
        info = encoder_info(first) or encoder_info(bytes(ctx.extradata or b"")) or {}
        tag = container.metadata.get("encoder") or stream.metadata.get("encoder") or ""
        return dict(
            container=os.path.splitext(path)[1].lower().lstrip("."), format=container.format.name,
            codec=ctx.name, profile=stream.profile or "", pix_fmt=ctx.pix_fmt or "",
            width=ctx.width, height=ctx.height, fps=fps, frames=frames, duration=duration,
            bitrate=bitrate, bytes=os.path.getsize(path),
            bpp=payload * 8 / (ctx.width * ctx.height * frames) if frames else NAN,
            crf=float(info["crf"]) if "crf" in info else NAN,
            encoder=info.get("encoder", "").split(" - ")[0] or tag)


def _packets(container, stream) -> tuple[int, int, bytes]:
    """(frames, payload bytes, first packet) from the packet index: exact for any container."""
    frames, payload, first = 0, 0, b""
    for packet in container.demux(stream):
        if packet.size:
            frames += 1
            payload += packet.size
            if not first:
                first = bytes(packet)
    return frames, payload, first


def _duration(container, stream, frames: int, fps: float) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return frames / fps if frames and not math.isnan(fps) else NAN


def _probe_folder(path: str) -> dict[str, Any]:
    from PIL import Image

    names = list_frames(path)
    if not names:
        raise VideoDecodeError(path, f"no video stream: folder has no {'/'.join(IMAGE_EXTS)} images")
    total = sum(os.path.getsize(os.path.join(path, n)) for n in names)
    try:
        with Image.open(os.path.join(path, names[0])) as image:  # reads the header only
            width, height, mode, kind = image.width, image.height, image.mode, image.format or ""
    except Exception as error:  # PIL raises several types for broken images
        raise VideoDecodeError(path, f"undecodable: cannot read image {names[0]} ({error})") from None
    ext = Counter(os.path.splitext(n)[1].lower().lstrip(".") for n in names).most_common(1)[0][0]
    return dict(container="frames", format=kind.lower() or ext, codec={"jpg": "jpeg"}.get(ext, ext),
                profile="", pix_fmt=mode, width=width, height=height, fps=NAN, frames=len(names),
                duration=NAN, bitrate=NAN, bytes=total, bpp=total * 8 / (width * height * len(names)),
                crf=NAN, encoder="")
