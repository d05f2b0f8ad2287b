"""StA: a CLIP ViT with spatiotemporal adapters for deepfake video detection (arXiv 2408.17065).

`StADetector` is resolved lazily so that ``detectors.sta.blending`` (used by data-loading workers)
can be imported without pulling in mmaction2.
"""
from __future__ import annotations

from typing import Any

__all__ = ["StADetector"]


def __getattr__(name: str) -> Any:
    if name == "StADetector":
        from detectors.sta.detector import StADetector

        return StADetector
    raise AttributeError(f"module 'detectors.sta' has no attribute '{name}'")
