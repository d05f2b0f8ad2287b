"""Decode frames from video files (decord, PyAV for deeper than 8 bits and as fallback) and from
frame folders.

Every failure is a `VideoDecodeError(path, reason)` with one of these reasons, so runs can record
the video as failed and go on:

- ``file not found``, ``file is empty (0 bytes)``, ``no video stream``,
- ``undecodable: <decoder message>``, ``truncated: expected N frames, decoded M``,
- ``requested frame i but the video has n frames``.

Every file becomes 8-bit RGB one way, the reference: FFmpeg's swscale through PyAV,
``frame.to_ndarray(format="rgb24")``. decord gives the same pixels on 8-bit files and seeks, so it
decodes them; a file deeper than 8 bits (yuv420p10le, ...), where decord differs from the reference
by several grey levels, is decoded by PyAV itself. The bit depth comes from the MP4/MOV sample
entry (`benchmark.data.pixfmt`, microseconds), else from PyAV's header probe. When decord cannot be
imported, cannot open a file or fails while reading, PyAV decodes the file from the start and has
the final word on why a file is bad (its error messages are the readable ones). decord's own log lines are silenced: ffmpeg's through
``decord.logging``, its C++ ``ERROR opening`` line by pointing fd 2 at /dev/null while it opens a file.

A truncated file is only reported when a requested frame lies beyond the decodable part: reading
the first 8 frames of a file cut after frame 10 succeeds, as it does upstream.
"""
from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import threading
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from benchmark.data.pixfmt import bit_depth
from benchmark.errors import VideoDecodeError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".gif")

# One decoder thread per open video (0 would let ffmpeg choose). The model's forward or other
# workers already use the cores, and ffmpeg's own threads cost more than they gain on short clips:
# two torchrun processes on two cores decoded vbench-mini at 256 videos/s with 1 thread, 199 with
# ffmpeg's choice (tools/bench_eval.py).
_decode_threads = 1
_decord_module = None
_decord_tried = False
_stderr_lock = threading.Lock()


def _new_lock_after_fork() -> None:
    global _stderr_lock
    _stderr_lock = threading.Lock()  # a fork while another thread held it would leave it locked


os.register_at_fork(after_in_child=_new_lock_after_fork)


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds. ``fps`` is 0.0 where unknown (frame folders)."""

    num_frames: int
    height: int
    width: int
    fps: float


def set_decode_threads(num_threads: int) -> None:
    """Sets the decoder threads per open video (0 lets ffmpeg choose)."""
    global _decode_threads
    _decode_threads = int(num_threads)


def natural_key(name: str) -> tuple:
    """Sort key that orders ``frame2.png`` before ``frame10.png``."""
    return tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name))


def list_frames(folder: str) -> list[str]:
    """Image files directly in ``folder``, in natural order (names only)."""
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTS)]
    return sorted(names, key=natural_key)


def _check_indices(path: str, indices: Sequence[int], num_frames: int) -> list[int]:
    wanted = [int(i) for i in indices]
    for i in wanted:
        if i < 0 or i >= num_frames:
            raise VideoDecodeError(path, f"requested frame {i} but the video has {num_frames} frames")
    return wanted


def _read_image(path: str) -> np.ndarray | None:
    """uint8 RGB ``[H, W, 3]``, or None if unreadable. PIL steps in where OpenCV fails, e.g. PNGs
    after something imported decord before cv2 (decord's old zlib shadows the one cv2 needs)."""
    import cv2

    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is not None:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    try:
        from PIL import Image

        with Image.open(path) as pil:
            return np.asarray(pil.convert("RGB"))
    except Exception:  # PIL raises several types for broken files
        return None


def frame_files(path: str) -> tuple[str, list[str]]:
    """(folder, image names in natural order) of a frame folder, frame set or single image.

    A frame set is a path whose last part is a glob pattern (``faces/clip7_*``): the images in its
    folder that match it, as written by `benchmark.data.scan.group_images`.
    """
    if os.path.isdir(path):
        return path, list_frames(path)
    folder, name = os.path.split(path)
    if "*" in name:
        names = list_frames(folder) if os.path.isdir(folder) else []
        return folder, [n for n in names if fnmatch.fnmatchcase(n, name)]
    return folder, [name] if os.path.isfile(path) else []


def is_frames(path: str) -> bool:
    """Whether ``path`` names frames (a folder, a frame set or an image), not a video file."""
    return os.path.isdir(path) or "*" in os.path.basename(path) or path.lower().endswith(IMAGE_EXTS)


class FrameFolder:
    """A folder of image files, one per frame (or a frame set or one image), read with OpenCV."""

    def __init__(self, path: str):
        self.path = path
        self.folder, self.files = frame_files(path)
        if not self.files:
            if not os.path.exists(self.folder or "."):
                raise VideoDecodeError(path, "file not found")
            raise VideoDecodeError(path, f"no video stream: no {'/'.join(IMAGE_EXTS)} images")
        self.num_frames = len(self.files)

    @property
    def info(self) -> VideoInfo:
        height, width = self.read([0]).shape[1:3]
        return VideoInfo(self.num_frames, height, width, 0.0)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 RGB ``[T, H, W, 3]``."""
        frames = []
        for i in _check_indices(self.path, indices, self.num_frames):
            image = _read_image(os.path.join(self.folder, self.files[i]))
            if image is None:
                raise VideoDecodeError(self.path, f"undecodable: cannot read image {self.files[i]}")
            if frames and image.shape != frames[0].shape:
                (h, w), (h0, w0) = image.shape[:2], frames[0].shape[:2]
                raise VideoDecodeError(self.path, f"undecodable: {self.files[i]} is {w}x{h}, "
                                                  f"earlier frames {w0}x{h0}")
            frames.append(image)
        return np.stack(frames)

    def close(self) -> None:
        """Nothing to release."""


def _decord():
    """The decord module, or None where it cannot be imported."""
    global _decord_module, _decord_tried
    if not _decord_tried:
        _decord_tried = True
        try:
            import cv2  # noqa: F401  before decord: its bundled zlib breaks cv2's PNG decoder otherwise
            import decord

            decord.logging.set_level(decord.logging.QUIET)
            _decord_module = decord
        except Exception:  # a broken decord build must not stop PyAV from working
            _decord_module = None
    return _decord_module


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Points fd 2 at /dev/null: decord's C++ logger writes there directly."""
    with _stderr_lock:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


def _av_message(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _pyav_probe(path: str) -> VideoInfo:
    import av

    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "no video stream")
            stream = container.streams.video[0]
            num_frames = stream.frames or sum(1 for p in container.demux(stream) if p.size)
            fps = float(stream.average_rate or stream.guessed_rate or 0.0)
            return VideoInfo(num_frames, stream.codec_context.height, stream.codec_context.width, fps)
    except VideoDecodeError:
        raise
    except Exception as error:
        raise VideoDecodeError(path, f"undecodable: {_av_message(error)}") from None


def _pyav_read(path: str, indices: list[int], num_frames: int) -> np.ndarray:
    """Decodes from the start up to the last wanted frame (PyAV seeking is not frame-exact)."""
    import av

    wanted, last, found, decoded = set(indices), max(indices), {}, 0
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                decoded = i + 1
                if i in wanted:
                    found[i] = frame.to_ndarray(format="rgb24")
                if i >= last:
                    break
    except Exception as error:
        if decoded == 0:
            raise VideoDecodeError(path, f"undecodable: {_av_message(error)}") from None
    if len(found) < len(wanted):
        raise VideoDecodeError(path, f"truncated: expected {num_frames} frames, decoded {decoded}")
    return np.stack([found[i] for i in indices])


def source_bit_depth(path: str) -> int | None:
    """Bits per luma sample of a video file: from its MP4/MOV header, else PyAV's probe; None
    where neither can tell (the decoders then say what is wrong with the file)."""
    depth = bit_depth(path)
    if depth is not None:
        return depth
    import av

    try:
        with av.open(path) as container:
            fmt = container.streams.video[0].codec_context.format
            return max(c.bits for c in fmt.components) if fmt is not None else None
    except Exception:  # no video stream, undecodable: not this function's to report
        return None


def decoding_record() -> dict:
    """How video files become RGB frames, for run.json."""
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    decord = f"decord {version('decord')}" if _decord() is not None else "decord (not importable)"
    reference = f"PyAV {version('av')}: FFmpeg swscale, frame.to_ndarray(format='rgb24')"
    return {"8-bit": decord + (", pixel-identical to the reference on 8-bit files"
                               if _decord() is not None else "; PyAV decodes instead"),
            "deeper than 8 bits": reference + " (the reference)",
            "fallback": "PyAV where decord cannot open or read a file",
            "bit depth from": "the MP4/MOV sample entry (avcC SPS, hvcC, vpcC, av1C), else PyAV's probe",
            "frame folders": "OpenCV imread (IMREAD_COLOR: 8-bit), PIL where OpenCV fails"}


class VideoFile:
    """A video file: decord when it can and the file is 8-bit, PyAV otherwise (`decoder` says
    which)."""

    def __init__(self, path: str):
        self.path = path
        self.depth = source_bit_depth(path)
        self._reader = self._open_decord() if self.depth in (None, 8) else None
        if self._reader is not None and len(self._reader) > 0:
            self.num_frames = len(self._reader)
            self._info = None
        else:
            self._reader = None
            self._info = _pyav_probe(path)
            self.num_frames = self._info.num_frames

    @property
    def decoder(self) -> str:
        """``decord`` or ``pyav``: which decoder reads this file now."""
        return "decord" if self._reader is not None else "pyav"

    def _open_decord(self):
        decord = _decord()
        if decord is None:
            return None
        try:
            with _quiet_stderr():
                return decord.VideoReader(self.path, num_threads=_decode_threads)
        except Exception:  # PyAV reopens the file and says what is wrong with it
            return None

    @property
    def info(self) -> VideoInfo:
        if self._info is None and self._reader is None:  # read() dropped decord: ask PyAV
            self._info = _pyav_probe(self.path)
        if self._info is None:
            fps = float(self._reader.get_avg_fps())  # before read(), which may drop decord
            height, width = self.read([0]).shape[1:3]
            self._info = VideoInfo(self.num_frames, height, width, fps)
        return self._info

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 RGB ``[T, H, W, 3]``."""
        wanted = _check_indices(self.path, indices, self.num_frames)
        if self._reader is not None:
            try:
                return self._reader.get_batch(wanted).asnumpy()
            except Exception:  # e.g. a file whose index promises more frames than it holds
                self._reader = None
        return _pyav_read(self.path, wanted, self.num_frames)

    def close(self) -> None:
        """Releases the decoder."""
        self._reader = None


def open_video(path: str) -> FrameFolder | VideoFile:
    """Opens a video file or frame folder for reading.

    Args:
        path: a video file, a folder of frame images, a frame set (``folder/clip7_*``) or an image.

    Returns:
        An object with ``num_frames``, ``info`` (a `VideoInfo`), ``read(indices)`` and ``close()``.

    Raises:
        VideoDecodeError: the path is missing, empty, or holds no decodable video.
    """
    path = str(path)
    if is_frames(path):
        return FrameFolder(path)
    try:
        size = os.path.getsize(path)
    except OSError:
        raise VideoDecodeError(path, "file not found") from None
    if size == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")
    return VideoFile(path)


def probe(path: str) -> VideoInfo:
    """Frame count, size and frame rate of a video file or frame folder."""
    video = open_video(path)
    try:
        return video.info
    finally:
        video.close()


def read_frames(path: str, indices: Sequence[int]) -> np.ndarray:
    """Decodes the frames at ``indices`` (any order, repeats allowed).

    Returns:
        uint8 RGB frames ``[T, H, W, 3]``, in the order of ``indices``.
    """
    video = open_video(path)
    try:
        return video.read(indices)
    finally:
        video.close()
