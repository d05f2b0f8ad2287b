"""Running one `vbench run` over several processes with torch.distributed (launched by torchrun).

``torchrun --nproc_per_node N -m benchmark run ...`` starts N copies of the run. Each process
evaluates a strided shard of the videos and the shards are gathered, so every process holds the same
complete score table; training wraps the model in mmengine's ``MMDistributedDataParallel`` and gives
each process its share of every epoch's videos, cut from a seeded order that changes each epoch. Only rank 0 writes the run store, the log and the
report. Without torchrun's environment (``WORLD_SIZE`` unset or 1) nothing here does anything.
"""
from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("vbench.distributed")


def _dist():
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def world() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when not distributed."""
    dist = _dist()
    return (dist.get_rank(), dist.get_world_size()) if dist else (0, 1)


def is_main() -> bool:
    """Whether this process writes results (rank 0, or the only process)."""
    return world()[0] == 0


def init_from_env(device: str) -> str:
    """Joins the process group torchrun describes in the environment; returns this rank's device.

    Args:
        device: the resolved device (``cpu``, ``cuda`` or ``cuda:N``). With CUDA each process takes
            the GPU of its ``LOCAL_RANK`` and uses NCCL; on CPU, gloo.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or _dist() is not None:
        return device
    import torch
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    log.info("rank %d of %d on %s", dist.get_rank(), dist.get_world_size(), device)
    return device


def shutdown(barrier: bool = True) -> None:
    """Leaves the process group (end of a distributed run); waits for the others unless failing."""
    dist = _dist()
    if dist is not None:
        if barrier:
            dist.barrier()
        dist.destroy_process_group()


def gather(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` when not distributed)."""
    dist = _dist()
    if dist is None:
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    dist = _dist()
    if dist is None:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_ranks(flag: bool) -> bool:
    """True when ``flag`` holds on every rank (a collective decision, e.g. to skip a batch)."""
    return all(gather(bool(flag)))


def shard(n: int, equal: bool = False) -> list[int]:
    """The positions ``0..n-1`` this rank handles: every ``world_size``-th, from its rank.

    Args:
        equal: cut every shard to the shortest length, so that all ranks run the same number of
            steps (DDP training needs this; evaluation does not).
    """
    rank, size = world()
    positions = list(range(rank, n, size))
    return positions[: n // size] if equal and size > 1 else positions


def epoch_permutation(n: int, seed: int, epoch: int):
    """A seeded order of ``0..n-1`` for one training epoch, to cut shards from: it depends on
    ``seed`` and ``epoch`` alone, so every rank computes the same one without communicating, and it
    changes each epoch (as torch's ``DistributedSampler`` after ``set_epoch``)."""
    import numpy as np

    return np.random.default_rng([seed % 2**32, epoch]).permutation(n)  # [n] int64


class main_first:
    """Context manager: rank 0 runs the block first (e.g. builds a shared cache), then the others."""

    def __enter__(self):
        dist = _dist()
        if dist is not None and not is_main():
            dist.barrier()
        return self

    def __exit__(self, *exc):
        dist = _dist()
        if dist is not None and is_main():
            dist.barrier()
        return False
