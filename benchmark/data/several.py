"""``--data A,B,...``: several datasets prepared one by one and concatenated into one manifest.

Each part goes through `benchmark.data.prepare.prepare_data` on its own (its layout, sources and
splits are its own), and the ``dataset`` column tells the parts apart. Refused before anything is
read when a dataset is given twice; refused after reading when two parts hold the same ``dataset``
value (two folders of one name) or the same ``video_id`` (a video id names one video of a run). Source ids are
qualified by their dataset (``<dataset>:<source_id>``): names such as ``000`` in two independently
made datasets say nothing about shared content (identical files are still caught by their content
fingerprints).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.data.options import DataOptions
from benchmark.data.prepared import PreparedData
from benchmark.data.scan import ReadLog
from benchmark.datasets import DATASETS
from benchmark.errors import DataError

_SHOW = 5


def split_spec(spec: str) -> list[str]:
    """``"A,B"`` → ``["A", "B"]``; a spec that names a dataset or an existing path stays whole."""
    if "," not in spec or spec in DATASETS or Path(spec).exists():
        return [spec]
    parts = [part.strip() for part in spec.split(",")]
    if not all(parts):
        raise DataError(f"--data {spec!r}: an empty name between commas; expected names, "
                        f"manifests or folders separated by single commas")
    return parts


def check_names(specs: list[str], options: DataOptions) -> None:
    """Refuses a dataset given twice (the same name, or the same file or folder by another path),
    and the data option ``dataset=``, which would give every part the same name."""
    import os

    if options.dataset:
        raise DataError(f"--data {','.join(specs)}: the data option dataset={options.dataset} "
                        f"would name every part the same; the dataset column must tell them apart")
    seen: dict[str, str] = {}
    for spec in specs:
        key = spec if spec in DATASETS else os.path.realpath(spec)
        if key in seen:
            raise DataError(f"--data: dataset {spec!r} is named twice ({seen[key]!r} and {spec!r})")
        seen[key] = spec


def combine(spec: str, parts: list[PreparedData]) -> PreparedData:
    """One `PreparedData` over ``parts``: their manifests concatenated, logs merged.

    Raises:
        DataError: two parts hold the same ``dataset`` value or the same ``video_id``.
    """
    from benchmark.data.manifest import validate_manifest

    _check_disjoint(parts, "dataset", "dataset {value!r} comes from both {a!r} and {b!r}; each "
                    "part of --data must hold its own datasets")
    _check_disjoint(parts, "video_id", "{count} video_id(s) occur in both {a!r} and {b!r}, e.g. "
                    "{examples}; video ids must be unique across the parts of --data (give one "
                    "part a manifest whose ids carry a prefix: `vbench data inspect` writes one)")
    frames = []
    for part in parts:
        frame = part.manifest.copy()
        frame["source_id"] = frame["dataset"].astype(str) + ":" + frame["source_id"].astype(str)
        frames.append(frame)
    manifest = validate_manifest(pd.concat(frames, ignore_index=True), origin=f"--data {spec}")
    fingerprints = {key: sum(p.fingerprints.get(key, 0) for p in parts)
                    for key in ("computed", "cached", "seconds") if any(p.fingerprints for p in parts)}
    names = [name for p in parts for name in dict.fromkeys(p.manifest["dataset"].astype(str))]
    return PreparedData(spec, "+".join(names), "+".join(p.layout for p in parts),
                        manifest, _merged_log(parts), parts[0].options, fingerprints, list(parts))


def _check_disjoint(parts: list, column: str, message: str) -> None:
    owner: dict[str, str] = {}
    for part in parts:
        values = set(part.manifest[column].astype(str))
        for other_spec, other_values in _by_spec(owner).items():
            shared = sorted(values & other_values)
            if shared:
                examples = ", ".join(repr(v) for v in shared[:_SHOW])
                raise DataError("--data: " + message.format(value=shared[0], a=other_spec,
                                                            b=part.spec, count=len(shared),
                                                            examples=examples))
        owner.update(dict.fromkeys(values, part.spec))


def _by_spec(owner: dict[str, str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for value, spec in owner.items():
        out.setdefault(spec, set()).add(value)
    return out


def _merged_log(parts: list) -> ReadLog:
    """One read log: each part's skips, notes and merges, named by the part."""
    log = ReadLog()
    for part in parts:
        for reason, (count, examples) in part.log.skipped.items():
            log.skipped[f"{part.name}: {reason}"] = [count, list(examples)]
        for note in part.log.notes:
            log.note(f"{part.name}: {note}")
        log.merged += part.log.merged
    log.grouping = "; ".join(f"{p.name}: {p.log.grouping}" for p in parts if p.log.grouping)
    log.splitting = "; ".join(f"{p.name}: {p.log.splitting}" for p in parts if p.log.splitting)
    return log


def describe_parts(prepared) -> list[dict]:
    """What run.json records of each part of ``--data`` (one entry for a single dataset)."""
    from benchmark.data.manifest import manifest_hash

    parts = prepared.parts or [prepared]
    return [{"name": p.name, "spec": p.spec, "layout": p.layout, "n_videos": len(p.manifest),
             "datasets": sorted(set(p.manifest["dataset"].astype(str))),
             "manifest_hash": manifest_hash(p.manifest), "grouping": p.log.grouping,
             "splitting": p.log.splitting} for p in parts]
