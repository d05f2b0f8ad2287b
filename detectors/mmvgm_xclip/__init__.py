"""MMVGM / VGMShield's X-CLIP fake-video detector and source tracer (arXiv 2402.13126).

`MMVGMXCLIPDetector` is resolved lazily so that importing the package stays cheap.
"""
from __future__ import annotations

from typing import Any

__all__ = ["MMVGMXCLIPDetector"]


def __getattr__(name: str) -> Any:
    if name == "MMVGMXCLIPDetector":
        from detectors.mmvgm_xclip.detector import MMVGMXCLIPDetector

        return MMVGMXCLIPDetector
    raise AttributeError(f"module 'detectors.mmvgm_xclip' has no attribute '{name}'")
