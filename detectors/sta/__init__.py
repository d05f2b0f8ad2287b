"""StA: a CLIP ViT with spatiotemporal adapters for deepfake video detection (arXiv 2408.17065).

`StADetector` is resolved lazily so that ``detectors.sta.blending`` (used by data-loading workers)
can be imported without pulling in mmaction2.
"""
from benchmark.registry import lazy_exports

__all__ = ["StADetector"]
__getattr__ = lazy_exports(__name__, {"StADetector": ".detector"})
