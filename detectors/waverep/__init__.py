"""WaveRep: DINOv2 ViT-B/14 frame detector trained with wavelet band replacement (NeurIPS 2025).

`WaveRepDetector` is resolved lazily so that importing the package stays cheap.
"""
from benchmark.registry import lazy_exports

__all__ = ["WaveRepDetector"]
__getattr__ = lazy_exports(__name__, {"WaveRepDetector": ".detector"})
