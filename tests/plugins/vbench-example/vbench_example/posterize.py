"""The frame function behind the ``example_posterize`` perturbation (``perturbations.yaml``)."""
from __future__ import annotations

import numpy as np
from benchmark.api import frame_function


@frame_function(bounds={"bits": (1, 8)})
def posterize(frames: np.ndarray, rng: np.random.Generator, bits: int) -> np.ndarray:
    """Keeps the ``bits`` most significant bits of every channel value (PIL's ``posterize``):
    2**bits levels per channel, flat bands where gradients were.

    Args:
        frames: uint8 RGB ``[T, H, W, 3]``.
        rng: unused (the function is deterministic).
        bits: bits kept, 1-8 (8 leaves the frames unchanged).

    Returns:
        uint8 ``[T, H, W, 3]``.
    """
    if int(bits) != bits:
        raise ValueError(f"posterize: bits must be a whole number, got {bits!r}")
    mask = np.uint8((0xFF << (8 - int(bits))) & 0xFF)
    return np.bitwise_and(frames, mask)
