"""``--data`` to the manifest a run uses: read, group sources, split, fingerprint.

`prepare_data` is the one path from a data spec to a manifest; `benchmark.datasets.resolve_data`
and ``vbench data inspect`` both go through it, so what inspection shows is what a run uses.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmark.data.options import DataOptions
from benchmark.data.scan import ReadLog


@dataclass
class PreparedData:
    """A manifest and how it was made.

    Attributes:
        spec: the ``--data`` value.
        name: the data's name (a named dataset, or the folder/file stem).
        layout: the layout read (``named`` for a named dataset).
        manifest: the validated manifest, with a ``fingerprint`` column when fingerprinted.
        log: what was skipped, merged and assumed; how sources and splits were made.
        options: the options used.
        fingerprints: {"computed": n, "cached": n, "seconds": t} (empty when not fingerprinted).
    """

    spec: str
    name: str
    layout: str
    manifest: pd.DataFrame
    log: ReadLog
    options: DataOptions
    fingerprints: dict = field(default_factory=dict)


def data_name(spec: str, options: DataOptions) -> str:
    """The name a run gives ``spec``: a named dataset's name, ``options.dataset``, or the file stem."""
    from benchmark.datasets import DATASETS

    if spec in DATASETS:
        return spec
    path = Path(os.path.abspath(spec))
    return options.dataset or (path.stem if path.is_file() else path.name) or "data"


def _named(spec: str, seed: int, options: DataOptions, log: ReadLog):
    from benchmark.data.manifest import load_manifest
    from benchmark.data.sources import finish_manifest
    from benchmark.datasets import DATASETS

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
    from benchmark.datasets import DATASETS
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
