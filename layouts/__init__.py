"""Readers of the field's published dataset layouts, one module each, added the way an outside
author adds a layout: each module has a ``register(plugin)`` hook, found by listing this package
(so adding a dataset is one new file). The modules must stay light at import: readers import
pandas and friends inside the functions the hooks name as ``"module:attr"`` targets.
"""
from __future__ import annotations

import importlib
import pkgutil


def register(plugin) -> None:
    """Calls the ``register`` hook of every module of this package, in name order."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        hook = getattr(module, "register", None)
        if callable(hook):
            hook(plugin)
