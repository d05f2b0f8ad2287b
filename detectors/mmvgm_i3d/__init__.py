"""MMVGM (VGMShield, arXiv 2402.13126): the Inception-I3D fake-video detector / source tracer.

`MMVGMI3DDetector` is resolved lazily so that importing the package stays cheap (no mmaction2).
"""
from benchmark.registry import lazy_exports

__all__ = ["MMVGMI3DDetector"]
__getattr__ = lazy_exports(__name__, {"MMVGMI3DDetector": ".detector"})
