"""LVDM, the Latent Variable Defence Mechanism of "Towards Understanding Unsafe Video Generation"
(arXiv 2407.12581): detect unsafe generations from early x̂0 and stop them.

Resolved lazily so that importing the package stays cheap.
"""
from benchmark.registry import lazy_exports

__all__ = ["LVDM"]
__getattr__ = lazy_exports(__name__, {"LVDM": ".method"})
