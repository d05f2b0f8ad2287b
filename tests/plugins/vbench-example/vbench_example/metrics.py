"""The plugin's metric declaration: Youden's J in vbench's metric catalog.

METRIC_CATALOG: `benchmark.api.Metric` (benchmark.metric_catalog) is not merged yet; this module
is imported only by the catalog (through ``plugin.metric("vbench_example.metrics:YOUDEN")`` in
``__init__.register``), so nothing imports it before then.
"""
from __future__ import annotations

from benchmark.api import Metric

from vbench_example.youden import youden_j

YOUDEN = Metric(key="youden_j", label="Youden's J", higher_is_better=True, fn=youden_j,
                tasks=("binary",))
