"""Decoding: decord, the PyAV fallback, frame folders and every failure reason."""
from __future__ import annotations

import re

import numpy as np
import pytest

from benchmark.data import video as video_io
from benchmark.data.video import VideoInfo, natural_key, probe, read_frames
from benchmark.errors import VideoDecodeError


def grey_levels(frames: np.ndarray) -> list[int]:
    """Mean level of each frame, rounded to the nearest 10 (frames are filled with 10 * i)."""
    return [int(round(float(f.mean()) / 10.0)) * 10 for f in frames]


@pytest.fixture(params=["decord", "pyav"])
def backend(request, monkeypatch):
    """Runs a test with decord, and with PyAV alone (decord not importable)."""
    if request.param == "pyav":
        monkeypatch.setattr(video_io, "_decord", lambda: None)
    return request.param


def test_probe_video_file(mp4, backend):
    assert probe(mp4) == VideoInfo(num_frames=24, height=48, width=64, fps=24.0)


def test_read_frames_any_order_with_repeats(mp4, backend):
    frames = read_frames(mp4, [5, 0, 23, 5])
    assert frames.dtype == np.uint8 and frames.shape == (4, 48, 64, 3)
    assert grey_levels(frames) == [50, 0, 230, 50]


def test_decord_failure_while_reading_falls_back_to_pyav(mp4, monkeypatch):
    class Broken:
        def __init__(self, *args, **kwargs):
            pass

        def __len__(self):
            return 24

        def get_avg_fps(self):
            return 24.0

        def get_batch(self, indices):
            raise RuntimeError("decoder exploded")

    class FakeDecord:
        VideoReader = Broken

    monkeypatch.setattr(video_io, "_decord", lambda: FakeDecord)
    assert grey_levels(read_frames(mp4, [3, 7])) == [30, 70]
    assert probe(mp4) == VideoInfo(num_frames=24, height=48, width=64, fps=24.0)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".jpeg", ".bmp"])
def test_frame_folder_natural_order(tmp_path, write_frames, ext, capfd):
    video_io._decord()  # decord loaded first must not break PNG decoding (it bundles an old zlib)
    folder = write_frames(tmp_path / "v", n=12, ext=ext)
    assert probe(folder) == VideoInfo(num_frames=12, height=40, width=50, fps=0.0)
    frames = read_frames(folder, [1, 9, 10, 11])  # "10.png" sorts after "9.png"
    assert frames.shape == (4, 40, 50, 3)
    assert grey_levels(frames) == [10, 90, 100, 110]
    assert capfd.readouterr().err == ""


def test_natural_key():
    assert sorted(["f10.png", "f2.png", "F1.png"], key=natural_key) == ["F1.png", "f2.png", "f10.png"]


@pytest.mark.parametrize("name, reason", [
    ("missing", "file not found"),
    ("empty", re.escape("file is empty (0 bytes)")),
    ("audio", "no video stream"),
    ("random", r"undecodable: \S.*"),
    ("truncated", r"truncated: expected 24 frames, decoded \d+"),
])
def test_bad_video_reasons(bad_videos, backend, name, reason):
    with pytest.raises(VideoDecodeError) as info:
        read_frames(bad_videos[name], list(range(24)))
    assert re.fullmatch(reason, info.value.reason), info.value.reason
    assert info.value.path == str(bad_videos[name])


def test_truncated_video_serves_the_frames_it_has(bad_videos):
    assert grey_levels(read_frames(bad_videos["truncated"], [0, 1])[:, 24:]) == [0, 10]


def test_bad_files_print_nothing(bad_videos, capfd):
    for name in ("random", "truncated", "audio"):
        with pytest.raises(VideoDecodeError):
            read_frames(bad_videos[name], list(range(24)))
    assert capfd.readouterr().err == ""


def test_frame_index_out_of_range(mp4, tmp_path, write_frames):
    with pytest.raises(VideoDecodeError, match="requested frame 24 but the video has 24 frames"):
        read_frames(mp4, [0, 24])
    with pytest.raises(VideoDecodeError, match="requested frame -1 but the video has 12 frames"):
        read_frames(write_frames(tmp_path / "v"), [-1])


def test_frame_folder_failures(tmp_path, write_frames):
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoDecodeError, match="no video stream"):
        probe(tmp_path / "empty")
    folder = write_frames(tmp_path / "v", n=3)
    (folder / "4.png").write_bytes(b"not a png")
    with pytest.raises(VideoDecodeError, match="undecodable: cannot read image 4.png"):
        read_frames(folder, [0, 3])
    write_frames(tmp_path / "w", n=2)
    write_frames(tmp_path / "w2", n=3, h=20)
    (tmp_path / "w2" / "3.png").rename(tmp_path / "w" / "3.png")
    with pytest.raises(VideoDecodeError, match="undecodable: 3.png is 50x20"):
        read_frames(tmp_path / "w", [0, 2])
