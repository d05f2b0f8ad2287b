"""AIGVDet: two ResNet-50s, on RGB frames and on optical-flow images (arXiv 2403.16638).

`AIGVDetDetector` is resolved lazily so that ``detectors.aigvdet.reader`` (used by data-loading
workers) can be imported without pulling in mmaction2.
"""
from benchmark.registry import lazy_exports

__all__ = ["AIGVDetDetector"]
__getattr__ = lazy_exports(__name__, {"AIGVDetDetector": ".detector"})
