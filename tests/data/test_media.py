"""probe_media: container and stream facts of video files and frame folders, without decoding."""
from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.data.media import FIELDS, probe_media
from benchmark.errors import VideoDecodeError
from benchmark.perturb import codec


def payload_bytes(path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(p.size for p in container.demux(container.streams.video[0]))


def test_mp4(tmp_path, write_mp4):
    path = write_mp4(tmp_path / "a.mp4", n=24, h=48, w=64, noise=True)
    info = probe_media(path)
    assert set(info) == set(FIELDS)
    assert (info["container"], info["codec"], info["pix_fmt"], info["encoder"]) == ("mp4", "h264", "yuv420p", "x264")
    assert (info["width"], info["height"], info["frames"], info["fps"]) == (64, 48, 24, 24.0)
    assert info["duration"] == pytest.approx(1.0) and info["crf"] == 10.0  # the fixture's settings
    assert info["bytes"] == path.stat().st_size
    assert info["bitrate"] == pytest.approx(payload_bytes(path) * 8 / 1.0)
    assert info["bpp"] == pytest.approx(payload_bytes(path) * 8 / (64 * 48 * 24))


@pytest.mark.parametrize("name, container, ext, stream", [
    ("libx264", "matroska", "mkv", "h264"), ("libvpx-vp9", "webm", "webm", "vp9"),
    ("libx265", "mp4", "mp4", "hevc")])
def test_other_codecs_and_containers(tmp_path, name, container, ext, stream):
    if not codec.has_encoder(name):
        pytest.skip(f"{name} not in this FFmpeg")
    frames = np.random.default_rng(0).integers(0, 256, (10, 64, 96, 3), dtype=np.uint8)
    path = tmp_path / f"v.{ext}"
    path.write_bytes(codec.encode_frames(frames, name, crf=30, fps=10, container=container))
    info = probe_media(path)
    assert (info["codec"], info["container"], info["frames"], info["width"], info["height"]) == \
        (stream, ext, 10, 96, 64)  # matroska headers hold no frame count: counted from packets
    assert info["fps"] == 10.0 and info["duration"] == pytest.approx(1.0, abs=0.11)
    assert (info["crf"] == 30.0) if stream != "vp9" else math.isnan(info["crf"])


def test_frame_folder(tmp_path, write_frames):
    folder = write_frames(tmp_path / "frames", n=5, h=40, w=50)
    info = probe_media(folder)
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert (info["container"], info["codec"], info["width"], info["height"], info["frames"]) == \
        ("frames", "png", 50, 40, 5)
    assert info["bytes"] == total and info["bpp"] == pytest.approx(total * 8 / (50 * 40 * 5))
    assert math.isnan(info["fps"]) and math.isnan(info["bitrate"])


@pytest.mark.parametrize("kind, reason", [
    ("missing", "file not found"), ("empty", "file is empty"), ("random", "undecodable"),
    ("audio", "no video stream")])
def test_bad_files(bad_videos, kind, reason):
    with pytest.raises(VideoDecodeError, match=reason):
        probe_media(bad_videos[kind])


def test_empty_folder(tmp_path):
    (tmp_path / "none").mkdir()
    with pytest.raises(VideoDecodeError, match="folder has no"):
        probe_media(tmp_path / "none")
