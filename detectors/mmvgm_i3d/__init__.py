"""MMVGM (VGMShield, arXiv 2402.13126): the Inception-I3D fake-video detector / source tracer.

`MMVGMI3DDetector` is resolved lazily so that importing the package stays cheap (no mmaction2).
"""
from __future__ import annotations

from typing import Any

__all__ = ["MMVGMI3DDetector"]


def __getattr__(name: str) -> Any:
    if name == "MMVGMI3DDetector":
        from detectors.mmvgm_i3d.detector import MMVGMI3DDetector

        return MMVGMI3DDetector
    raise AttributeError(f"module 'detectors.mmvgm_i3d' has no attribute '{name}'")
