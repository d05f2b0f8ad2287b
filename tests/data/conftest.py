"""Tiny synthetic videos and frame folders: frame i is filled with grey level 10 * i."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest


def _write_mp4(path: Path, n: int = 24, h: int = 48, w: int = 64, noise: bool = False,
               faststart: bool = False) -> Path:
    """H.264 mp4; ``noise`` fills the top half with noise so bytes spread over all frames."""
    import av

    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "10", "g": "4"}
        for i in range(n):
            image = np.full((h, w, 3), 10 * i, np.uint8)
            if noise:
                image[: h // 2] = rng.integers(0, 256, (h // 2, w, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _write_frames(folder: Path, n: int = 12, h: int = 40, w: int = 50, ext: str = ".png") -> Path:
    """Frames named 1..n (so text order differs from natural order)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i + 1}{ext}"), np.full((h, w, 3), 10 * i, np.uint8))
    return folder


@pytest.fixture
def write_mp4() -> Callable[..., Path]:
    """``write_mp4(path, n=24, h=48, w=64, noise=False, faststart=False)``."""
    return _write_mp4


@pytest.fixture
def write_frames() -> Callable[..., Path]:
    """``write_frames(folder, n=12, h=40, w=50, ext='.png')``."""
    return _write_frames


@pytest.fixture
def mp4(tmp_path: Path) -> Path:
    """A 24-frame 64x48 video."""
    return _write_mp4(tmp_path / "clip.mp4")


@pytest.fixture
def bad_videos(tmp_path: Path) -> dict[str, Path]:
    """One file per failure reason: missing, empty, random bytes, truncated, audio only."""
    import av

    good = _write_mp4(tmp_path / "full.mp4", noise=True, faststart=True).read_bytes()
    files = {"missing": tmp_path / "missing.mp4", "empty": tmp_path / "empty.mp4",
             "random": tmp_path / "random.mp4", "truncated": tmp_path / "truncated.mp4",
             "audio": tmp_path / "audio.m4a"}
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    files["truncated"].write_bytes(good[: len(good) // 2])
    with av.open(str(files["audio"]), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(4):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return files


def make_manifest(paths: dict[str, os.PathLike], labels: dict[str, int] | None = None) -> pd.DataFrame:
    """A valid manifest over ``{video_id: path}`` (all real unless ``labels`` says 1)."""
    labels = labels or {}
    rows = [dict(video_id=vid, path=str(p), label=labels.get(vid, 0),
                 generator="gen" if labels.get(vid, 0) else "real", split="test", source_id=vid,
                 dataset="tiny") for vid, p in paths.items()]
    return pd.DataFrame(rows)


@pytest.fixture
def manifest_of() -> Callable[..., pd.DataFrame]:
    """``manifest_of({video_id: path}, labels=None)``."""
    return make_manifest
