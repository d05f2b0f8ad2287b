"""D3: training-free AI-generated video detection with second-order features (ICCV 2025).

`D3Detector` is resolved lazily so that importing the package stays cheap.
"""
from benchmark.registry import lazy_exports

__all__ = ["D3Detector"]
__getattr__ = lazy_exports(__name__, {"D3Detector": ".detector"})
