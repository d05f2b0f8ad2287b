"""``--data`` to the manifest a run uses: read, group sources, split, fingerprint.

`prepare_data` is the one path from a data spec to a manifest; `resolve_data`, runs and
``vbench data inspect`` all go through it, so what inspection shows is what a run uses.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from benchmark.data.options import DataOptions
from benchmark.data.prepared import PreparedData
from benchmark.data.scan import ReadLog
from benchmark.data.several import check_names, combine, split_spec
from benchmark.datasets import DATASETS

__all__ = ["PreparedData", "data_name", "prepare_data", "prepare_datasets", "resolve_data"]


def data_name(spec: str, options: DataOptions) -> str:
    """The name a run gives ``spec``: a named dataset's name, ``options.dataset``, or the file stem."""
    if spec in DATASETS:
        return spec
    path = Path(os.path.abspath(spec))
    return options.dataset or (path.stem if path.is_file() else path.name) or "data"


def _named(spec: str, seed: int, options: DataOptions, log: ReadLog):
    from benchmark.data.manifest import load_manifest
    from benchmark.data.sources import finish_manifest

    try:
        path = DATASETS.get(spec)(seed)
    except OSError as exc:  # a read-only or full cache folder
        from benchmark.errors import StoreError
        from benchmark.io import describe_os_error

        raise StoreError(f"building the embedded dataset {spec}: " + describe_os_error(
            exc, "write", exc.filename or "the cache folder ($VBENCH_CACHE)")) from None
    frame = load_manifest(path)
    return "named", finish_manifest(frame, options, seed, spec, log, layout="named")


def prepare_data(spec: str, seed: int = 0, options: DataOptions | None = None) -> PreparedData:
    """Reads ``spec`` into a manifest as a run would use it.

    Args:
        spec: a name from `benchmark.datasets.DATASETS`, a manifest (.csv), a DeepfakeBench JSON,
            or a dataset folder.
        seed: the seed of generated datasets and of drawn splits.
        options: how to read it; defaults otherwise.

    Raises:
        UnknownKeyError: an unknown dataset name (with did-you-mean).
        DataError: unreadable data (see the readers).
    """
    from benchmark.data.fingerprint import FingerprintCache, add_fingerprints
    from benchmark.data.readers import read_rows
    from benchmark.data.sources import finish_manifest
    from benchmark.errors import UnknownKeyError

    options = options or DataOptions()
    log = ReadLog()
    if spec in DATASETS:
        layout, manifest = _named(spec, seed, options, log)
    elif Path(spec).exists():
        layout, rows = read_rows(spec, options, log)
        manifest = finish_manifest(rows, options, seed, f"{spec} ({layout} layout)", log, layout=layout)
    else:
        raise UnknownKeyError("dataset", spec, list(DATASETS) + ["<manifest.csv>", "<folder>"])
    stats: dict = {}
    if options.fingerprint:
        cache, start = FingerprintCache(), time.perf_counter()
        try:
            manifest = add_fingerprints(manifest, cache)
        finally:
            cache.close()
        stats = {"computed": cache.misses, "cached": cache.hits,
                 "seconds": round(time.perf_counter() - start, 3)}
    return PreparedData(str(spec), data_name(spec, options), layout, manifest, log, options, stats)


def prepare_datasets(spec: str, seed: int = 0, options: DataOptions | None = None) -> PreparedData:
    """`prepare_data` for ``--data``, which may list several datasets (``A,B,...``).

    Each part is prepared on its own and the manifests are concatenated
    (`benchmark.data.several`); a single spec is `prepare_data` itself.

    Raises:
        DataError: a dataset named twice, or parts sharing a dataset name or video ids.
    """
    options = options or DataOptions()
    specs = split_spec(spec)
    if len(specs) == 1:
        return prepare_data(specs[0], seed=seed, options=options)
    check_names(specs, options)
    return combine(spec, [prepare_data(part, seed=seed, options=options) for part in specs])


def resolve_data(spec: str, seed: int = 0, options: DataOptions | None = None):
    """``--data`` → (dataset name, manifest DataFrame).

    The manifest has sources grouped, the split rule applied and (unless ``options.fingerprint``
    is False) a ``fingerprint`` column; its sources never span two splits. For the full account
    (what was skipped, how sources were grouped) call `prepare_data`.

    Args:
        spec: a name from `benchmark.datasets.DATASETS`, a manifest (``.csv``), a DeepfakeBench
            JSON index, or a folder in one of the layouts of `benchmark.data.readers`.
        seed: the seed of generated datasets and of drawn splits.
        options: a `benchmark.data.options.DataOptions`; None for the defaults.
    """
    from benchmark.data.manifest import check_no_leakage

    prepared = prepare_data(spec, seed=seed, options=options)
    check_no_leakage(prepared.manifest)
    return prepared.name, prepared.manifest
