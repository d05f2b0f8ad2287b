"""How one process splits the machine between the model's torch threads and decoding workers.

`choose` picks both when ``--threads`` / ``--workers`` are not given, from the cores this process
may use (``os.sched_getaffinity``, shared out among torchrun's processes on the node) and the
device. Training and evaluation are split differently. The rule, measured with
``tools/bench_eval.py --grid`` (docs/MEASUREMENTS.md, "Default threads and workers"):

- CPU, one core: one torch thread, decoding in the main process (a worker would only add a copy).
- CPU, ``c >= 2`` cores, training: ``w = max(1, round(c * DECODE_SHARE))`` decoding workers and
  ``c - w`` torch threads, so that the cores are split between decoding and the forward instead of
  both competing for all of them (2 cores: 1 worker, 1 thread). ``tools/bench_train.py`` on 2
  cores: the best single rule over the eight trainable methods (0.96 of each method's best split
  on average; two threads and no worker 0.91), and only the worker count leaves the trained weights
  bit for bit as they are, so timings taken at run time never choose the threads. Training stays
  in one process: more would change its effective batch, and so the model.
- CPU, ``c >= 2`` cores, evaluation: one process per core doing both: ``min(c, MAX_FORWARD_WORKERS)``
  loader workers, each decoding a batch and running the forward on it with ``c // workers`` torch
  threads (`benchmark.worker_forward`). On 2 cores StA mini evaluated 1.22x faster that way than
  with the best split of one process (0.90-0.98 of two torchrun processes between runs); the batches and scores are
  those of the in-process forward.
- CUDA: the GPU computes, so the cores go to decoding: ``min(8, c - 1)`` workers (at least one) and
  the rest, at least one, as torch threads of the main process, which only feeds the GPU. Not
  measured in this repository yet (no GPU was lent): ``tools/gpu_check.sh`` measures it.

Given flags win (for training and evaluation alike, with the forward in the main process); a flag
given alone takes the rest of the cores for the other side.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

# The share of a CPU's cores that decode. StA mini on 2 cores (tools/bench_eval.py): one core
# decodes about 2x as many videos/s as one core forwards, so a third of the cores balances
# decode against forward; rounded on 2 cores that is 1 of 2 either way, and never less than 1.
DECODE_SHARE = 1 / 3
MAX_GPU_WORKERS = 8
# Forwarding workers each hold their activations (the weights are shared by fork): past this many,
# the cores are given to them as threads instead. Only 2 cores were measured.
MAX_FORWARD_WORKERS = 8


@dataclass(frozen=True)
class Parallelism:
    """Torch threads and decoding workers of one process, and why."""

    threads: int
    workers: int
    cores: int  # the cores this process counts as its own
    reason: str
    # evaluation: loader workers, and the torch threads of each when they run the forward too
    # (None: the forward runs in the main process, with ``threads``)
    eval_workers: int | None = None
    forward_threads: int | None = None
    eval_reason: str = ""

    def __post_init__(self):
        if self.eval_workers is None:
            object.__setattr__(self, "eval_workers", self.workers)
        if not self.eval_reason:
            object.__setattr__(self, "eval_reason", "as training: the forward in the main process")

    def apply(self) -> None:
        """Sets the model's torch threads (the workers are read by the loaders)."""
        import torch

        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

    def to_json(self) -> dict:
        return {"threads": self.threads, "workers": self.workers, "cores": self.cores,
                "reason": self.reason,
                "evaluation": {"workers": self.eval_workers,
                               "forward": ("main process" if self.forward_threads is None
                                           else "loader workers"),
                               "forward_threads": (self.threads if self.forward_threads is None
                                                   else self.forward_threads),
                               "reason": self.eval_reason}}


def process_cores() -> int:
    """The cores this process may use, divided among torchrun's processes on this node."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))
    return max(1, cores // local)


def choose(device: str, threads: int | None = None, workers: int | None = None,
           cores: int | None = None) -> Parallelism:
    """The threads and workers of a run on ``device``.

    Args:
        device: the resolved device (``cpu``, ``cuda`` or ``cuda:N``).
        threads: ``--threads``; None: chosen.
        workers: ``--workers``; None: chosen.
        cores: the cores to split; None: `process_cores`.
    """
    cores = process_cores() if cores is None else cores
    auto_threads, auto_workers, rule = _auto(device, cores, workers)
    if threads is None and workers is None:
        return Parallelism(auto_threads, auto_workers, cores, f"auto: {rule}",
                           **_auto_evaluation(device, cores))
    if workers is None:  # --threads alone: the cores left over decode
        chosen = _leftover_workers(device, cores, threads)
        return Parallelism(threads, chosen, cores, f"--threads {threads}; workers: "
                                                   f"{chosen} for the {cores} cores left")
    if threads is None:  # --workers alone
        chosen = auto_threads if device.startswith("cuda") else max(1, cores - workers)
        return Parallelism(chosen, workers, cores, f"--workers {workers}; threads: {chosen} "
                                                   f"of {cores} cores")
    return Parallelism(threads, workers, cores, f"--threads {threads} --workers {workers}")


def _auto(device: str, cores: int, workers: int | None) -> tuple[int, int, str]:
    if device.startswith("cuda"):
        chosen = min(MAX_GPU_WORKERS, max(cores - 1, 1))
        threads = max(1, cores - chosen)
        return threads, chosen, (f"{cores} cores, {device} → {chosen} decoding workers (GPU "
                                 f"computes; at most {MAX_GPU_WORKERS}), {threads} torch threads")
    if cores <= 1:
        return 1, 0, "1 core → 1 torch thread, decoding in the main process"
    chosen = max(1, round(cores * DECODE_SHARE))
    return cores - chosen, chosen, (f"{cores} cores → {chosen} decoding worker(s) and "
                                    f"{cores - chosen} torch thread(s) (a {DECODE_SHARE:.2f} "
                                    f"share of the cores decodes)")


def _leftover_workers(device: str, cores: int, threads: int) -> int:
    if device.startswith("cuda"):
        return min(MAX_GPU_WORKERS, max(cores - 1, 1))
    return max(0, cores - threads)


def _auto_evaluation(device: str, cores: int) -> dict:
    """Evaluation on a CPU of >= 2 cores: the forward in one loader worker per core."""
    if device.startswith("cuda") or cores <= 1:
        return {}
    workers = min(cores, MAX_FORWARD_WORKERS)
    threads = max(1, cores // workers)
    return {"eval_workers": workers, "forward_threads": threads,
            "eval_reason": (f"auto: {cores} cores → {workers} loader workers, each decoding a batch "
                            f"and running the forward on it with {threads} torch thread(s)")}


def forwards_in_workers(forward_threads: int | None, workers: int) -> bool:
    """Whether a pass runs the forward in its loader workers (`benchmark.worker_forward`)."""
    return forward_threads is not None and workers > 0
