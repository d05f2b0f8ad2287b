"""Upstream's frame extraction: ffmpeg resamples a 3 s window to 8 fps and writes JPEG files.

``utils/video2frame.py`` runs ``ffmpeg -ss START -t 3 -i VIDEO -vf fps=8 DIR/%d.jpg`` once per
video (``START`` = 0 for videos of at most 3 s, otherwise a random whole second in
``[0, duration - 3)``) and the evaluation reads the JPEG files with ``cv2.imread``. The network
therefore sees ffmpeg's MJPEG re-encoding of frames resampled by its ``fps`` filter, not the
decoded frames; from the same mp4 that moves D3's statistic by a fifth (detectors/d3/README.md).
`extract_jpeg_frames` runs the same command into a temporary folder and reads the files back.

A perturbed view (robustness) has no file of its own: its decoded RGB frames go to ffmpeg as raw
video at the source frame rate through the same ``fps`` filter and JPEG encoder
(`encode_jpeg_frames`); the only difference from a file is that ffmpeg converts RGB to the JPEG's
YUV instead of copying the decoder's YUV planes.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
import zlib
from functools import lru_cache

import numpy as np

from benchmark.api import VideoDecodeError

FFMPEG_TIMEOUT_S = 120


def ffmpeg_program() -> str | None:
    """Path of the ``ffmpeg`` program, or None (then upstream's extraction cannot run)."""
    return shutil.which("ffmpeg")


@lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version`` (recorded with the run)."""
    program = ffmpeg_program()
    if program is None:
        return "absent"
    out = subprocess.run([program, "-version"], capture_output=True, text=True, timeout=30)
    return (out.stdout.splitlines() or ["unknown"])[0]


def start_second(duration: float, window: float, policy: str, key: str) -> int:
    """Where the window starts: 0 for videos of at most ``window`` seconds (as upstream); longer
    ones start at 0 (``first``) or at a whole second drawn in ``[0, duration - window)`` from a
    generator seeded by ``key`` (``seeded_random``: upstream draws from one process-wide seed, so
    its starts depend on the order a process pool meets the videos and cannot be reproduced)."""
    if duration <= window or policy == "first":
        return 0
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    return math.floor(rng.uniform(0, duration - window))


def _read_jpegs(folder: str, count: int, source: str) -> np.ndarray:
    """The first ``count`` files ``1.jpg, 2.jpg, ...`` as uint8 RGB ``[count, H, W, 3]``."""
    import cv2

    names = sorted((n for n in os.listdir(folder) if n.endswith(".jpg")), key=lambda n: int(n[:-4]))
    if len(names) < count:
        raise VideoDecodeError(source, f"too short: ffmpeg's 8 fps window gave {len(names)} frames, "
                                       f"the clip needs {count} (upstream scores 8 when 8-15 exist)")
    frames = [cv2.imread(os.path.join(folder, n), cv2.IMREAD_COLOR) for n in names[:count]]
    # cv2.imread gives BGR; frames travel as RGB like every reader's (d3.channel_order reverses
    # them again before normalisation, as upstream feeds BGR to the encoder)
    return np.stack([f[:, :, ::-1] for f in frames])


def _run(command: list[str], source: str, data: bytes | None = None) -> None:
    try:
        out = subprocess.run(command, input=data, capture_output=True, timeout=FFMPEG_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise VideoDecodeError(source, f"ffmpeg took over {FFMPEG_TIMEOUT_S} s") from None
    if out.returncode != 0:
        lines = out.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise VideoDecodeError(source, f"ffmpeg failed: {lines[-1]}")


def extract_jpeg_frames(path: str, count: int, fps: float, window: float, start: int) -> np.ndarray:
    """upstream's command on the file: ``-ss start -t window -i path -vf fps=fps %d.jpg``."""
    program = ffmpeg_program()
    if program is None:
        raise VideoDecodeError(path, "d3.frames_from=ffmpeg_jpeg needs the ffmpeg program")
    with tempfile.TemporaryDirectory(prefix="vbench-d3-") as folder:
        _run([program, "-loglevel", "error", "-nostdin", "-y", "-ss", str(start), "-t", str(window),
              "-i", path, "-vf", f"fps={fps:g}", os.path.join(folder, "%d.jpg")], path)
        return _read_jpegs(folder, count, path)


def encode_jpeg_frames(frames: np.ndarray, source_fps: float, count: int, fps: float,
                       source: str) -> np.ndarray:
    """Decoded uint8 RGB frames ``[F, H, W, 3]`` at ``source_fps`` through the same ``fps`` filter
    and JPEG encoder (for views that exist only as decoded frames)."""
    program = ffmpeg_program()
    if program is None:
        raise VideoDecodeError(source, "d3.frames_from=ffmpeg_jpeg needs the ffmpeg program")
    h, w = frames.shape[1:3]
    with tempfile.TemporaryDirectory(prefix="vbench-d3-") as folder:
        _run([program, "-loglevel", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
              "-s", f"{w}x{h}", "-r", f"{source_fps:g}", "-i", "-", "-vf", f"fps={fps:g}",
              os.path.join(folder, "%d.jpg")], source, np.ascontiguousarray(frames).tobytes())
        return _read_jpegs(folder, count, source)
