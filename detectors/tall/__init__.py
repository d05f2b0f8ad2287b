"""TALL: thumbnail layout of a clip into a Swin Transformer (ICCV 2023; DeepfakeBench v2).

`TALLDetector` is resolved lazily so that importing the package stays cheap.
"""
from benchmark.registry import lazy_exports

__all__ = ["TALLDetector"]
__getattr__ = lazy_exports(__name__, {"TALLDetector": ".detector"})
