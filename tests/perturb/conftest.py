"""Camera-like clips (the corpus renderer) and tiny frame arrays for the perturbation tests."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    """A natural-looking clip, uint8 ``[12, 96, 128, 3]`` (photograph, camera motion, sensor noise)."""
    from benchmark.perturb.cost import camera_clip

    return camera_clip(12, 96, 128, seed=3)


@pytest.fixture
def ramp() -> np.ndarray:
    """uint8 ``[6, 40, 50, 3]``: frame i is a horizontal ramp plus 10 * i (frames differ)."""
    x = np.linspace(20, 200, 50)[None, None, :, None]
    return (x + 10 * np.arange(6)[:, None, None, None] + np.zeros((6, 40, 50, 3))).astype(np.uint8)


@pytest.fixture
def write_mp4():
    """``write_mp4(path, n=24, h=48, w=64, noise=False, faststart=False)`` (tests/data's writer)."""
    from tests.data.conftest import _write_mp4

    return _write_mp4
