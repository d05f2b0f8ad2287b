"""The plugin's metric declaration: Youden's J in vbench's metric catalog.

Declared once here (key, label, direction, function, tasks); the catalog imports this module on
its first use (``plugin.metric("vbench_example.metrics:YOUDEN")`` in ``__init__.register``), and
every table, report and comparison that shows ``youden_j`` reads this declaration.
"""
from __future__ import annotations

from benchmark.api import Metric

from vbench_example.youden import youden_j

YOUDEN = Metric(key="youden_j", label="Youden's J", higher_is_better=True, fn=youden_j,
                tasks=("binary",))
