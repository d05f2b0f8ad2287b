"""Generation-time defences (MMVGM misuse prevention, the LVDM unsafe-generation guard) and the
computations of the ``protection_efficacy`` protocol.

Nothing heavy is imported here: torch, diffusers and the models load inside the functions.
"""
from __future__ import annotations

from typing import Any


def build_defence(method: str, config: str | dict[str, Any] = "mini", registry_path: str | None = None):
    """Builds a registered defence (``kind: defence`` in registry.yaml) from a config name or dict.

    Raises:
        UnknownKeyError: no such method or config.
        RegistryError: the method is a detector, not a defence.
    """
    from benchmark.errors import RegistryError
    from benchmark.registry import registry

    entry = registry(registry_path).get(method)
    if entry.kind != "defence":
        raise RegistryError(f"{entry.origin}: method '{method}' is a {entry.kind}, not a defence; "
                            f"build it with benchmark.detector.build_detector('{method}')")
    return entry.load_class()(entry.config(config) if isinstance(config, str) else config)
