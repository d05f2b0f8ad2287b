"""Evaluation protocols, one module each, resolved lazily by name.

A protocol module provides ``DESCRIPTION``, ``OPTIONS`` (option name → allowed values, first is the
default), ``score(ctx) -> DataFrame`` (the per-video score table) and ``metrics(scores) -> dict``
(``rows``, ``summary``, ``auc_matrix``), computed from the score table alone.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from benchmark.errors import UnknownKeyError

PROTOCOLS: dict[str, str] = {
    "cross_generator": "protocols.cross_generator",
}


def get_protocol(name: str) -> ModuleType:
    if name not in PROTOCOLS:
        raise UnknownKeyError("protocol", name, PROTOCOLS)
    return importlib.import_module(PROTOCOLS[name])


def describe() -> dict[str, str]:
    """Name → one-line description (imports each protocol module; they are light)."""
    return {name: get_protocol(name).DESCRIPTION for name in PROTOCOLS}
