"""Named datasets (``--data vbench-mini``) and user data given as a manifest or a folder."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from benchmark.registry import Registry


def _vbench_mini(seed: int) -> Path:
    from benchmark.data.corpus import build_corpus

    return build_corpus(seed=seed)


# name -> builder(seed) -> manifest path
DATASETS: Registry[Callable[[int], Path]] = Registry("dataset")
DATASETS.register("vbench-mini", _vbench_mini,
                  "embedded corpus generated on first use: real camera-motion clips of bundled "
                  "photographs and six synthetic generator-artefact families (no download)")


def resolve_data(spec: str, seed: int = 0, options=None):
    """``--data`` → (dataset name, manifest DataFrame).

    The manifest has sources grouped, the split rule applied and (unless ``options.fingerprint``
    is False) a ``fingerprint`` column; its sources never span two splits. For the full account
    (what was skipped, how sources were grouped) call `benchmark.data.prepare.prepare_data`.

    Args:
        spec: a name from `DATASETS`, a manifest (``.csv``), a DeepfakeBench JSON index, or a folder
            in one of the layouts of `benchmark.data.readers`.
        seed: the seed of generated datasets and of drawn splits.
        options: a `benchmark.data.options.DataOptions`; None for the defaults.
    """
    from benchmark.data.manifest import check_no_leakage
    from benchmark.data.prepare import prepare_data

    prepared = prepare_data(spec, seed=seed, options=options)
    check_no_leakage(prepared.manifest)
    return prepared.name, prepared.manifest
