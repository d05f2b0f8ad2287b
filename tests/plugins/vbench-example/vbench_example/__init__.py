"""vbench-example: an outside vbench plugin (see ../README.md).

`register` is the hook vbench calls (entry point ``example`` in group ``vbench.plugins``, or
``--include`` of this folder). It only declares names and ``"module:attr"`` targets, so listing
plugins never imports torch; relative paths resolve against this folder.
"""
from __future__ import annotations

LAYOUT = "vbench_example.layout"


def register(plugin) -> None:
    """Declares the plugin's detector, protocol, metric, data layout, frame function and
    perturbation set.

    Args:
        plugin: the `benchmark.api.PluginContext` of this plugin.
    """
    plugin.registry_file("registry.yaml")  # the detector example_diff
    plugin.layout("example_tsv", f"{LAYOUT}:read_example_tsv",
                  "a folder holding labels.tsv (path, label real|fake, generator, split) next to "
                  "the videos (vbench-example)",
                  detect=f"{LAYOUT}:detects_example_tsv", priority=5)
    plugin.frame_function("example_posterize", "vbench_example.posterize:posterize")
    plugin.perturbations("perturbations.yaml")  # example_posterize, levels 1-3
    plugin.metric("vbench_example.metrics:YOUDEN")  # Youden's J joins the metric catalog
    plugin.protocol("pooled", "vbench_example.pooled",
                    "one model trained on every generator, tested on each (vbench-example)")
