"""GenConViT: generative convolutional vision transformer for deepfake video detection
(arXiv 2307.07036).

`GenConViTDetector` is resolved lazily so that ``detectors.genconvit.reader`` (used by data-loading
workers) can be imported without pulling in mmaction2.
"""
from benchmark.registry import lazy_exports

__all__ = ["GenConViTDetector"]
__getattr__ = lazy_exports(__name__, {"GenConViTDetector": ".detector"})
