"""Imported by mmaction2's ``MODELS`` registry on its first lookup (see `benchmark.compat`).

Importing it imports every method in registry.yaml, whose modules register their backbones and
heads, so building a config by type name never depends on what happened to be imported before.
"""
from benchmark.registry import registry

for _key in registry().keys(kind="detector"):  # defences register no mmaction2 models
    registry().get(_key).load_class()
