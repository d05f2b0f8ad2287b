"""The public API for plugin authors: everything a detector, protocol, metric, data layout,
perturbation or dataset plugin may import from vbench, in one place (docs/PLUGINS.md).

Importing this module is cheap: each name is imported from its module on first use, so a plugin's
``register(plugin)`` hook that only declares ``"module:attr"`` targets never pulls in torch.

The hook::

    def register(plugin: PluginContext) -> None:
        plugin.registry_file("registry.yaml")            # methods (and any other section)
        plugin.protocol("my_protocol", "my_pkg.my_protocol", "one line")
        plugin.metric("my_pkg.metrics:YOUDEN")             # a Metric declaration
        plugin.layout("my_layout", "my_pkg.layout:read", "one line", detect="my_pkg.layout:detect")
        plugin.frame_function("my_fn", "my_pkg.perturb:my_fn")
        plugin.perturbations("perturbations.yaml")         # named perturbations and their levels
        plugin.dataset("my-data", "my_pkg.data:build", "one line")

Anything else under ``benchmark`` is internal and may change without notice.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.registry import lazy_exports

EXPORTS: dict[str, str] = {
    # declaring plugins
    "PluginContext": ".plugins",
    # detectors: an mmaction2-style model behind the Detector interface
    "Detector": ".detector", "KeyMap": ".checkpoint", "mmaction_models": ".compat",
    "InputSpec": ".data.spec", "ClipReader": ".data.dataset",
    # defences (generation-time methods)
    "Defence": ".defence",
    # protocols
    "Option": ".protocol", "Unit": ".protocol", "Metric": ".metric_catalog",
    "CATALOG": ".metric_catalog",  # labels, directions and formats of every key
    "parse_bool": ".protocol", "parse_list": ".protocol", "RunContext": ".run_context",
    "Table": ".tables", "binary_summary": ".metrics", "choose_threshold": ".metrics",
    "binary_intervals": ".intervals", "with_interval": ".intervals", "run_checks": ".data.checks",
    "heatmap": ".report_views", "metric_table": ".report_views", "roc_plots": ".report_views",
    # metrics
    "MetricInputError": ".metrics", "UndefinedMetricError": ".metrics",
    # data layouts
    "DataOptions": ".data.options", "ReadLog": ".data.scan", "iter_videos": ".data.scan",
    "find_videos": ".data.scan", "video_id": ".data.scan", "is_real_name": ".data.scan",
    "subdirs": ".data.scan", "REAL": ".data.scan", "is_frames": ".data.video",
    # perturbations
    "frame_function": ".perturb.functions",
    # errors a plugin raises for its users
    "VBenchError": ".errors", "DataError": ".errors", "ConfigError": ".errors",
    "RegistryError": ".errors", "WeightsError": ".errors", "UnknownKeyError": ".errors",
    "VideoDecodeError": ".errors",  # one video unreadable: recorded as failed, the run goes on
}
__all__ = sorted(EXPORTS)
__getattr__ = lazy_exports("benchmark", EXPORTS)

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load lazily
    from benchmark.checkpoint import KeyMap
    from benchmark.compat import mmaction_models
    from benchmark.data.checks import run_checks
    from benchmark.data.dataset import ClipReader
    from benchmark.data.options import DataOptions
    from benchmark.data.scan import (REAL, ReadLog, find_videos, is_real_name, iter_videos, subdirs,
                                     video_id)
    from benchmark.data.spec import InputSpec
    from benchmark.data.video import is_frames
    from benchmark.detector import Detector
    from benchmark.errors import (ConfigError, DataError, RegistryError, UnknownKeyError,
                                  VBenchError, VideoDecodeError, WeightsError)
    from benchmark.intervals import binary_intervals, with_interval
    from benchmark.metric_catalog import CATALOG, Metric
    from benchmark.metrics import (MetricInputError, UndefinedMetricError, binary_summary,
                                   choose_threshold)
    from benchmark.perturb.functions import frame_function
    from benchmark.plugins import PluginContext
    from benchmark.protocol import Option, Unit, parse_bool, parse_list
    from benchmark.report_views import heatmap, metric_table, roc_plots
    from benchmark.run_context import RunContext
    from benchmark.tables import Table
