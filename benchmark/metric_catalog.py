"""The metric catalog: every key a table, interval, comparison, gate or template shows, once.

A `Metric` says what a key means (label, which direction is better, how it is printed) and, when
the key is computed from labels and scores, how (`Metric.fn` with its `Metric.params`, and the
bootstrap form over resample counts, `Metric.vectorised`). Declarations live beside the code that
computes the numbers: `benchmark.metrics`, `benchmark.deployment` and
`benchmark.metrics_multiclass` declare their metrics in a module-level ``METRICS`` tuple, a
protocol module declares its own summary keys in its ``METRICS``. The catalog is filled through the
plugin loader like every extension point: the core plugin declares the core modules' metrics
(`register_builtin_metrics`, `BUILTIN_MODULES`), an outside plugin its own (``plugin.metric``),
and a protocol adds its own when it is loaded (`benchmark.protocol.Protocol`). Everything that
shows a key reads `CATALOG`:

    >>> CATALOG.direction("ece")
    'low'

A key declared twice with different declarations is a `RegistryError` naming both sources; the
same declaration added again is a no-op. Importing this module is cheap (no numpy): the
declaring modules are imported on the catalog's first use.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping

from benchmark.errors import RegistryError, UnknownKeyError
from benchmark.registry import import_target, metric_declarations, on_refill

FORMATS = ("number", "count", "text")
PAIRED_TESTS = (None, "delong", "bootstrap", "mcnemar")
BUILTIN_MODULES = ("benchmark.metric_catalog", "benchmark.metrics", "benchmark.deployment",
                   "benchmark.metrics_multiclass", "benchmark.shortcuts")


@dataclass(frozen=True)
class Metric:
    """One key of the vocabulary: a metric, a summary number or a descriptive table column.

    Attributes:
        key: the key in metrics.json rows/summary (e.g. ``"auc"``).
        label: the column header and leaderboard label.
        higher_is_better: True or False for a number with a better direction; None for a column
            without one (names, notes, settings such as a perturbation level), sorted A-Z / low
            to high first.
        fn: the point function ``(labels, scores, **params) -> float``, or None for keys computed
            elsewhere (a protocol's means, counts, descriptive columns).
        vectorised: ``(labels, scores, counts[B, N], **params) -> [B]``, the same metric on every
            bootstrap resample at once (validated inputs assumed), or None.
        tasks: the tasks whose tables hold it (``"binary"``, ``"multiclass"``, ...); empty for
            columns any table may hold.
        params: keyword arguments of ``fn`` and ``vectorised`` (e.g. ``{"max_fpr": 0.05}``).
        row_params: keyword arguments read from the table row the metric belongs to (argument →
            row key, e.g. ``{"threshold": "val_threshold"}``); see `Metric.bind`.
        paired_test: how ``vbench compare`` tests two runs' difference on one test set:
            ``"delong"``, ``"bootstrap"`` (paired bootstrap), ``"mcnemar"`` (exact McNemar at
            ``params["threshold"]``, interval by paired bootstrap), or None (not compared).
        description: one line for readers of the catalog.
        format: ``"number"`` (3 decimals), ``"count"`` (an integer) or ``"text"``.
    """

    key: str
    label: str
    higher_is_better: bool | None = True
    fn: Callable[..., float] | None = None
    vectorised: Callable[..., Any] | None = None
    tasks: tuple[str, ...] = ("binary",)
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    row_params: Mapping[str, str] = field(default_factory=dict, hash=False)
    paired_test: str | None = None
    description: str = ""
    format: str = "number"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise RegistryError(f"metric {self.key!r}: format expected one of "
                                f"{', '.join(FORMATS)}, got {self.format!r}")
        if self.vectorised is not None and self.fn is None:
            raise RegistryError(f"metric {self.key!r}: a vectorised form needs a point function")
        if self.paired_test not in PAIRED_TESTS:
            raise RegistryError(f"metric {self.key!r}: paired_test expected one of "
                                f"{', '.join(map(str, PAIRED_TESTS))}, got {self.paired_test!r}")

    @property
    def direction(self) -> str:
        """``"high"``, ``"low"``, or ``"text"`` (no better direction)."""
        if self.higher_is_better is None:
            return "text"
        return "high" if self.higher_is_better else "low"

    def bind(self, row: Mapping[str, Any]) -> "Metric | None":
        """This metric with its ``row_params`` taken from ``row``; None when one is missing."""
        if not self.row_params:
            return self
        values = {name: row.get(key) for name, key in self.row_params.items()}
        if any(v is None for v in values.values()):
            return None
        return replace(self, params={**self.params, **values}, row_params={})

    def __call__(self, labels: Any, scores: Any) -> float:
        """The metric on one test set (``fn`` with ``params``)."""
        if self.fn is None:
            raise TypeError(f"metric {self.key!r} is a summary key without a point function")
        if self.row_params:
            raise TypeError(f"metric {self.key!r} reads {', '.join(self.row_params.values())} "
                            f"from its table row: call bind(row) first")
        return self.fn(labels, scores, **self.params)

    def on_counts(self, labels: Any, scores: Any, counts: Any) -> Any:
        """The metric on every resample held as counts ``[B, N]`` → ``[B]``."""
        if self.vectorised is None or self.row_params:
            raise TypeError(f"metric {self.key!r} has no vectorised form, or is not bound to "
                            f"its row (bind(row))")
        return self.vectorised(labels, scores, counts, **self.params)


class MetricCatalog:
    """Key → `Metric`, in the order of declaration, with where each came from.

    Args:
        builtins: called with the catalog on its first use (`register_builtin_metrics`), or None
            for an empty catalog (tests).
    """

    def __init__(self, builtins: Callable[["MetricCatalog"], None] | None = None):
        self._metrics: dict[str, Metric] = {}
        self._sources: dict[str, str] = {}
        self._builtins = builtins
        self._problems: dict[str, str] = {}  # key -> why it cannot be used (declared twice)
        self.notes: list[str] = []  # plugin declarations that could not be read

    def reset(self, builtins: Callable[["MetricCatalog"], None] | None) -> None:
        """Forgets every declaration; ``builtins`` fills the catalog again on next use."""
        self._metrics.clear()
        self._sources.clear()
        self._problems.clear()
        self.notes.clear()
        self._builtins = builtins

    def _ready(self) -> dict[str, Metric]:
        if self._builtins is not None:
            builtins, self._builtins = self._builtins, None  # first: add() below calls back here
            builtins(self)
        return self._metrics

    def add(self, metric: Metric, source: str = "built-in") -> Metric:
        """Declares ``metric``; the same declaration again is a no-op.

        Raises:
            RegistryError: the key is declared already, differently (names both sources).
        """
        if not isinstance(metric, Metric):
            raise RegistryError(f"{source}: expected a benchmark.metric_catalog.Metric, got "
                                f"{type(metric).__name__} {metric!r}")
        known = self._ready().get(metric.key)
        if known is not None and known != metric:
            raise RegistryError(f"metric {metric.key!r} is declared twice: by "
                                f"{self._sources[metric.key]} ({known}) and by {source} "
                                f"({metric}); a key has one declaration")
        if known is None:
            self._metrics[metric.key] = metric
            self._sources[metric.key] = source
        return metric

    def get(self, key: str) -> Metric:
        """The declaration of ``key``.

        Raises:
            UnknownKeyError: no such key (with the closest declared keys).
        """
        metrics = self._ready()
        if key in self._problems:
            raise RegistryError(self._problems[key])
        if key not in metrics:
            err = UnknownKeyError("metric", key, metrics)
            if self.notes:
                err.args = (err.args[0] + ". " + "; ".join(self.notes),)
            raise err
        return metrics[key]

    def source(self, key: str) -> str:
        """Where ``key`` was declared (a module name, or the plugin that added it)."""
        self.get(key)
        return self._sources[key]

    def __contains__(self, key: object) -> bool:
        return key in self._ready()

    def __iter__(self) -> Iterator[Metric]:
        return iter(list(self._ready().values()))

    def __len__(self) -> int:
        return len(self._ready())

    def label(self, key: str) -> str:
        """The declared label; an undeclared column shows its key with spaces for underscores."""
        metric = self._ready().get(key)
        return metric.label if metric is not None else key.replace("_", " ")

    def direction(self, key: str) -> str:
        """``"high"``, ``"low"`` or ``"text"`` for a declared key.

        Raises:
            UnknownKeyError: ``key`` is not declared (a table column must be).
        """
        return self.get(key).direction

    def for_task(self, task: str) -> tuple[Metric, ...]:
        """The metrics that declare ``task``, in order of declaration."""
        return tuple(m for m in self._ready().values() if task in m.tasks)

    def with_vectorised(self) -> tuple[Metric, ...]:
        """The metrics with a point function and a bootstrap form over resample counts."""
        return tuple(m for m in self._ready().values() if m.vectorised is not None)

    def vectorised_for(self, fn: Callable) -> Callable[..., Any] | None:
        """The vectorised form declared for point function ``fn`` (e.g. `benchmark.metrics.
        roc_auc`), or None; metrics sharing a function with other params share the form."""
        return next((m.vectorised for m in self.with_vectorised() if m.fn is fn), None)


def register_builtin_metrics(plugin) -> None:
    """Declares the ``METRICS`` of every core module (`BUILTIN_MODULES`) through ``plugin`` (a
    `benchmark.plugins.PluginContext`: the core's metrics go through the plugins' door)."""
    for name in BUILTIN_MODULES:
        plugin.metric(f"{name}:METRICS")


def fill_from_plugins(catalog: MetricCatalog) -> None:
    """Adds every metric the plugins declared (`benchmark.registry.METRIC_DECLARATIONS`).

    A declaration that cannot be imported, or that is not a `Metric`, becomes a note (shown when
    an unknown key is asked for); a key two sources declare differently becomes a problem of that
    key alone (raised, naming both, when the key is used). The other metrics keep working.
    """
    for target, source in metric_declarations():
        try:
            found = import_target(target, f"metrics from {source}") if isinstance(target, str) else target
        except RegistryError as err:
            catalog.notes.append(f"metrics of {source} could not be loaded: {err}")
            continue
        for metric in (found if isinstance(found, (tuple, list)) else (found,)):
            try:
                catalog.add(metric, source)
            except RegistryError as err:
                key = getattr(metric, "key", None)
                if key is None or key not in catalog._metrics:
                    catalog.notes.append(str(err))
                else:
                    catalog._problems[key] = str(err)


def register_module(catalog: MetricCatalog, module: Any) -> None:
    """Adds a module's ``METRICS`` (e.g. a protocol's own summary keys), if it declares any."""
    for metric in getattr(module, "METRICS", ()):
        catalog.add(metric, module.__name__)


def _column(key: str, label: str, fmt: str = "text", higher: bool | None = None,
            description: str = "") -> Metric:
    return Metric(key, label, higher, tasks=(), format=fmt, description=description)


# The descriptive columns of the tidy score table and of the tables built from it (any task).
METRICS: tuple[Metric, ...] = (
    _column("train_set", "train set"), _column("test_set", "test set"), _column("note", "note"),
    _column("unit", "unit"), _column("dataset", "dataset"), _column("generator", "generator"),
    _column("perturbation", "perturbation"), _column("severity", "level", "count",
                                                     description="perturbation level"),
    _column("n_failed", "failed", "count", False, "videos that could not be scored"),
    # the leaderboard's own columns (benchmark.report)
    _column("rank", "rank", "count", False, "1 + runs significantly better"),
    _column("seed", "seed", "count"), _column("method", "method"), _column("config", "config"),
    _column("weights", "weights"), _column("overrides", "config overrides"),
    _column("run_id", "run"),
    _column("wall_time_s", "wall time", "number", False, "seconds of the computing run"),
    # the run's cost (benchmark.cost_meter), beside accuracy on every leaderboard
    _column("decode_ms_per_video", "decode ms/video", "number", False,
            "data layer (decode, crops or flow, resize) per scored video, timed in the loader"),
    _column("forward_ms_per_video", "forward ms/video", "number", False,
            "the detector's inference call per scored video"),
    _column("params", "parameters", "count", False, "parameters of the evaluated model"),
    _column("gflops_per_clip", "GFLOPs/clip", "number", False,
            "torch.utils.flop_counter on the run's first clip"),
    _column("gflops_per_video", "GFLOPs/video", "number", False,
            "GFLOPs per clip x mean clips per scored video"),
    _column("peak_memory_mb", "peak memory MiB", "number", False,
            "during the evaluation passes: CUDA allocated, or the process's peak RSS"),
    _column("cost_device", "measured on", description="device, its name, torch threads"),
)
COST_COLUMNS = ("decode_ms_per_video", "forward_ms_per_video", "params", "gflops_per_clip",
                "gflops_per_video", "peak_memory_mb", "cost_device")

CATALOG = MetricCatalog(fill_from_plugins)
on_refill(lambda: CATALOG.reset(fill_from_plugins))
