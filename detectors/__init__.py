"""Detector implementations, one package per method (model code, configs, README card).

Each method is listed in ``registry.yaml`` beside this file with a lazy ``"module:Class"`` entry
point, so nothing here is imported until a method is built. The list reaches vbench through the
plugin loader, the same door as an outside package's (`register`).
"""


def register(plugin) -> None:
    """vbench's built-in methods (the plugin hook `benchmark.plugins` calls)."""
    plugin.registry_file("registry.yaml")
