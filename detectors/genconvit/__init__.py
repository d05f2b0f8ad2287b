"""GenConViT: generative convolutional vision transformer for deepfake video detection
(arXiv 2307.07036).

`GenConViTDetector` is resolved lazily so that ``detectors.genconvit.reader`` (used by data-loading
workers) can be imported without pulling in mmaction2.
"""
from __future__ import annotations

from typing import Any

__all__ = ["GenConViTDetector"]


def __getattr__(name: str) -> Any:
    if name == "GenConViTDetector":
        from detectors.genconvit.detector import GenConViTDetector

        return GenConViTDetector
    raise AttributeError(f"module 'detectors.genconvit' has no attribute '{name}'")
