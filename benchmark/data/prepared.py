"""`PreparedData`: a manifest and how it was made, what `benchmark.data.prepare` returns.

Its own module because `benchmark.data.prepare` (one dataset) and `benchmark.data.several`
(``--data A,B``, which prepares each part and combines them) both make one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

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
        parts: for ``--data A,B``, each part as prepared on its own (`benchmark.data.several`);
            empty for one dataset.
    """

    spec: str
    name: str
    layout: str
    manifest: pd.DataFrame
    log: ReadLog
    options: DataOptions
    fingerprints: dict = field(default_factory=dict)
    parts: list = field(default_factory=list)
