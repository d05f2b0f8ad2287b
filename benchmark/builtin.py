"""vbench's own core plugin: the built-in data layouts, embedded datasets, frame functions,
perturbation set and metrics, declared through the same `benchmark.plugins.PluginContext` an
outside package gets. Every target is a ``"module:attr"`` string, so nothing heavy is imported
until an entry is used.
"""
from __future__ import annotations

from benchmark.data.options import DATASET_LAYOUTS
from benchmark.datasets import BUILTIN as BUILTIN_DATASETS
from benchmark.metric_catalog import register_builtin_metrics
from benchmark.perturb.config import DEFAULT_SET
from benchmark.perturb.functions import BUILTIN_FUNCTIONS

READERS = "benchmark.data.readers"
LAYOUTS = {  # name -> (reader, detection rule, priority: lower is tried first)
    "manifest": ("read_manifest_rows", "detects_manifest", 0),
    "deepfakebench": ("read_deepfakebench", "detects_deepfakebench", 0),
    "genconvit": ("read_genconvit", "detects_genconvit", 10),
    "aigvdet": ("read_aigvdet", "detects_aigvdet", 20),
    "generator_folders": ("read_generator_folders", "detects_generator_folders", 90),  # catch-all
}


def register(plugin) -> None:
    """Declares the core's entries (the hook `benchmark.plugins` calls for the built-ins)."""
    for name, (reader, detect, priority) in LAYOUTS.items():
        plugin.layout(name, f"{READERS}:{reader}", DATASET_LAYOUTS[name],
                      detect=f"{READERS}:{detect}", priority=priority)
    for name, (builder, description) in BUILTIN_DATASETS.items():
        plugin.dataset(name, builder, description)
    for name, target in BUILTIN_FUNCTIONS.items():
        plugin.frame_function(name, target)
    plugin.perturbations(DEFAULT_SET)
    register_builtin_metrics(plugin)
