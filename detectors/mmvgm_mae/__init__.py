"""MMVGM / VGMShield's VideoMAE fake-video detector and source tracer (arXiv 2402.13126).

`MMVGMVideoMAEDetector` is resolved lazily so that importing the package stays cheap.
"""
from __future__ import annotations

from typing import Any

__all__ = ["MMVGMVideoMAEDetector"]


def __getattr__(name: str) -> Any:
    if name == "MMVGMVideoMAEDetector":
        from detectors.mmvgm_mae.detector import MMVGMVideoMAEDetector

        return MMVGMVideoMAEDetector
    raise AttributeError(f"module 'detectors.mmvgm_mae' has no attribute '{name}'")
