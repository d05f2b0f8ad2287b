"""Evaluation protocols, one module each, registered in the core's protocol registry (the contract
and the registry: `benchmark.protocol`), resolved lazily."""
from __future__ import annotations

from benchmark.protocol import PROTOCOLS, describe, get_protocol

__all__ = ["PROTOCOLS", "describe", "get_protocol"]

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
