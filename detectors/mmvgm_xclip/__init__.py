"""MMVGM / VGMShield's X-CLIP fake-video detector and source tracer (arXiv 2402.13126).

`MMVGMXCLIPDetector` is resolved lazily so that importing the package stays cheap.
"""
from benchmark.registry import lazy_exports

__all__ = ["MMVGMXCLIPDetector"]
__getattr__ = lazy_exports(__name__, {"MMVGMXCLIPDetector": ".detector"})
