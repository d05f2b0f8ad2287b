"""AIGVDet: two ResNet-50s, on RGB frames and on optical-flow images (arXiv 2403.16638).

`AIGVDetDetector` is resolved lazily so that ``detectors.aigvdet.reader`` (used by data-loading
workers) can be imported without pulling in mmaction2.
"""
from __future__ import annotations

from typing import Any

__all__ = ["AIGVDetDetector"]


def __getattr__(name: str) -> Any:
    if name == "AIGVDetDetector":
        from detectors.aigvdet.detector import AIGVDetDetector

        return AIGVDetDetector
    raise AttributeError(f"module 'detectors.aigvdet' has no attribute '{name}'")
