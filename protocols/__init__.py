"""Evaluation protocols, one module each (the contract: `benchmark.protocol`), resolved lazily."""
from __future__ import annotations

from functools import lru_cache

from benchmark.registry import Registry

PROTOCOLS: Registry = Registry("protocol")
PROTOCOLS.register("cross_generator", "protocols.cross_generator",
                   "train on some generators, test against real videos on each generator")
PROTOCOLS.register("cross_dataset", "protocols.cross_dataset",
                   "train on one dataset, test on every dataset (in-domain and cross-domain)")
PROTOCOLS.register("source_tracing", "protocols.source_tracing",
                   "attribute each video to its generator (real is a class); closed and open set")
PROTOCOLS.register("robustness", "protocols.robustness",
                   "clean and perturbed test videos: AUC against severity per perturbation")
PROTOCOLS.register("protection_efficacy", "protocols.protection_efficacy",
                   "generation-time defences: MMVGM protection and the LVDM early-exit guard")


@lru_cache(maxsize=None)
def get_protocol(name: str):
    """The `benchmark.protocol.Protocol` registered as ``name`` (its module imported on first use)."""
    from benchmark.protocol import Protocol

    return Protocol(PROTOCOLS.get(name))


def describe() -> dict[str, str]:
    """Name → one-line description (imports each protocol module; they are light)."""
    return {name: get_protocol(name).description for name in PROTOCOLS}
