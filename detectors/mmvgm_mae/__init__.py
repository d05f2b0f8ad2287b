"""MMVGM / VGMShield's VideoMAE fake-video detector and source tracer (arXiv 2402.13126).

`MMVGMVideoMAEDetector` is resolved lazily so that importing the package stays cheap.
"""
from benchmark.registry import lazy_exports

__all__ = ["MMVGMVideoMAEDetector"]
__getattr__ = lazy_exports(__name__, {"MMVGMVideoMAEDetector": ".detector"})
