"""Evaluation protocols, one module each (the contract: `benchmark.protocol`), resolved lazily.

They reach vbench through the plugin loader, the same door as an outside package's protocols
(`register`); `benchmark.protocol.get_protocol` finds them by name.
"""
from __future__ import annotations

from benchmark.protocol import get_protocol  # noqa: F401  (kept for callers of protocols.get_protocol)
from benchmark.registry import PROTOCOLS  # noqa: F401

BUILTIN = {
    "cross_generator": "train on some generators, test against real videos on each generator",
    "cross_dataset": "train on one dataset, test on every dataset (in-domain and cross-domain)",
    "source_tracing": "attribute each video to its generator (real is a class); closed and open set",
    "robustness": "clean and perturbed test videos: AUC against severity per perturbation",
    "protection_efficacy": "generation-time defences: MMVGM protection and the LVDM early-exit guard",
    "chronological": "train on the generators released up to each cut date, test on the later ones",
}


def register(plugin) -> None:
    """vbench's built-in protocols (the plugin hook `benchmark.plugins` calls)."""
    for name, description in BUILTIN.items():
        plugin.protocol(name, f"protocols.{name}", description)
