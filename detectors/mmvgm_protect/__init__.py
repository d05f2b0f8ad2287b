"""MMVGM (VGMShield, arXiv 2402.13126) misuse prevention: imperceptible PGD protection of images
against image-to-video models. Resolved lazily so that importing the package stays cheap.
"""
from benchmark.registry import lazy_exports

__all__ = ["MMVGMProtect"]
__getattr__ = lazy_exports(__name__, {"MMVGMProtect": ".method"})
