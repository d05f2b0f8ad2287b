"""Named datasets (``--data vbench-mini``) and user data given as a manifest or a folder."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from benchmark.errors import UnknownKeyError


def _vbench_mini(seed: int) -> Path:
    from benchmark.data.corpus import build_corpus

    return build_corpus(seed=seed)


# name -> (description, builder(seed) -> manifest path)
DATASETS: dict[str, tuple[str, Callable[[int], Path]]] = {
    "vbench-mini": ("embedded corpus generated on first use: real camera-motion clips of bundled "
                    "photographs and six synthetic generator-artefact families (no download)",
                    _vbench_mini),
}


def resolve_data(spec: str, seed: int = 0):
    """``--data`` → (dataset name, manifest DataFrame).

    Args:
        spec: a name from `DATASETS`, a manifest (``.csv``), a DeepfakeBench JSON index, or a folder
            in one of the layouts of `benchmark.data.readers`.
        seed: the seed of generated datasets.
    """
    from benchmark.data.manifest import check_no_leakage, load_manifest
    from benchmark.data.readers import read_dataset

    if spec in DATASETS:
        try:
            manifest_path = DATASETS[spec][1](seed)
        except OSError as exc:  # a read-only or full cache folder
            from benchmark.errors import StoreError
            from benchmark.io import describe_os_error

            raise StoreError(f"building the embedded dataset {spec}: " + describe_os_error(
                exc, "write", exc.filename or "the cache folder ($VBENCH_CACHE)")) from None
        frame, name = load_manifest(manifest_path), spec
    elif Path(spec).exists():
        frame, name = read_dataset(spec), Path(spec).stem or Path(spec).name
    else:
        raise UnknownKeyError("dataset", spec, list(DATASETS) + ["<manifest.csv>", "<folder>"])
    check_no_leakage(frame)
    return name, frame
