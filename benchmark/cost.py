"""What a detector costs to run: parameters, GFLOPs per clip, milliseconds per clip, peak memory.

Everything is measured on the detector's own inference call, `Detector.clip_logits`, on seeded
uint8 clips of `Detector.clip_shape` already on the device (decoding, face crops and optical flow
are the data layer's cost, not counted here):

- ``gflops_per_clip``: floating-point operations of one clip's forward counted by
  ``torch.utils.flop_counter.FlopCounterMode`` (1 GFLOP = 1e9; a multiply-add counts 2). It counts
  the ops it has formulas for (matmul, convolution, attention) and not elementwise ops,
  normalisation or pooling, so it is a slight undercount, the same way for every method.
- ``ms_per_clip``: median over `repeats` timed batches (after `warmup` untimed ones) of the batch's
  wall time / batch size; on CUDA the device is synchronised around each batch.
- ``peak_memory_mb``: memory the forward needs on top of what is already allocated (weights,
  input): on CUDA ``torch.cuda.max_memory_allocated`` minus the allocation before the first
  forward (exact for tensors; the caching allocator's reserve is not counted); on CPU the increase
  of the process's resident set size, sampled every `RSS_INTERVAL_S` by a thread reading
  ``/proc/self/statm`` (Linux; it includes the allocator's retained pages and may miss a spike
  shorter than the interval; None where /proc is absent). ``model_memory_mb`` is the parameters and
  buffers.
"""
from __future__ import annotations

import os
import statistics
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from benchmark.errors import VBenchError

RSS_INTERVAL_S = 0.001
FLOP_COUNTER = "torch.utils.flop_counter.FlopCounterMode"
_MB = 2.0 ** 20


class CostInputError(VBenchError, ValueError):
    """An option of the cost measurement is out of range."""


def _check_count(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CostInputError(f"{name}: expected an integer >= {minimum}, got {value!r}")


def detector_cost(detector, device: str | None = None, batch_size: int = 1, warmup: int = 2,
                  repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Measures one detector (see the module docstring for each number's definition).

    Args:
        detector: a `benchmark.detector.Detector`, e.g. ``build_detector("sta", "mini")``.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...; the detector's current device if None.
            The detector is moved there.
        batch_size: clips per timed forward.
        warmup: untimed forwards first (allocator, cuDNN autotuning, lazy init).
        repeats: timed forwards.
        seed: seed of the random clips.

    Returns:
        A JSON-able dict: ``params``, ``model_memory_mb``, ``clip_shape``, ``gflops_per_clip``,
        ``flops_counted_by``, ``ms_per_clip``, ``ms_per_clip_runs``, ``peak_memory_mb``,
        ``memory_measured_by``, ``batch_size``, ``warmup``, ``repeats``, ``device``,
        ``device_name``, ``threads``, ``torch``.
    """
    import torch

    _check_count("batch_size", batch_size, 1)
    _check_count("warmup", warmup, 0)
    _check_count("repeats", repeats, 1)
    if device is not None:
        detector.to(torch.device(device))
    dev = detector.device
    shape = tuple(int(d) for d in detector.clip_shape)
    gen = torch.Generator().manual_seed(seed)
    clips = torch.randint(0, 256, (batch_size, *shape), dtype=torch.uint8, generator=gen)
    clips = clips.to(dev)  # [B, 3, T, H, W]: the transfer is not part of the forward's cost
    out: dict[str, Any] = {**model_size(detector.model), "clip_shape": list(shape),
                           "gflops_per_clip": count_gflops(detector, clips[:1]),
                           "flops_counted_by": FLOP_COUNTER}
    with _peak_memory(dev) as peak:
        runs = _timed_forwards(detector, clips, dev, warmup, repeats)
    out.update(ms_per_clip=statistics.median(runs), ms_per_clip_runs=runs,
               peak_memory_mb=peak["mb"], memory_measured_by=peak["how"], batch_size=batch_size,
               warmup=warmup, repeats=repeats, device=str(dev), device_name=_device_name(dev),
               threads=torch.get_num_threads(), torch=torch.__version__)
    return out


def model_size(model) -> dict[str, Any]:
    """Parameter count and the memory of parameters and buffers."""
    tensors = list(model.parameters()) + list(model.buffers())
    return {"params": int(sum(p.numel() for p in model.parameters())),
            "model_memory_mb": sum(t.numel() * t.element_size() for t in tensors) / _MB}


def count_gflops(detector, clips) -> float:
    """GFLOPs of ``detector.clip_logits(clips)`` per clip, by ``FlopCounterMode``."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        detector.clip_logits(clips)
    return counter.get_total_flops() / 1e9 / len(clips)


def _timed_forwards(detector, clips, dev, warmup: int, repeats: int) -> list[float]:
    """Milliseconds per clip of each timed batch."""
    import torch

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    for _ in range(warmup):
        detector.clip_logits(clips)
    runs = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        detector.clip_logits(clips)
        sync()
        runs.append((time.perf_counter() - start) * 1e3 / len(clips))
    return runs


@contextmanager
def _peak_memory(dev) -> Iterator[dict[str, Any]]:
    """Yields a dict that holds ``mb`` (peak increase) and ``how`` once the block has run."""
    import torch

    result: dict[str, Any] = {"mb": None, "how": None}
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
        yield result
        torch.cuda.synchronize(dev)
        result.update(mb=(torch.cuda.max_memory_allocated(dev) - base) / _MB,
                      how="torch.cuda.max_memory_allocated minus the allocation before")
        return
    sampler = _RssSampler()
    if not sampler.available:
        yield result
        result["how"] = "unavailable: /proc/self/statm is absent"
        return
    with sampler:
        yield result
    result.update(mb=sampler.peak_increase / _MB,
                  how=f"process RSS increase, sampled every {RSS_INTERVAL_S * 1e3:g} ms")


class _RssSampler:
    """Background thread that records the highest resident set size seen while active."""

    def __init__(self) -> None:
        self.available = os.path.exists("/proc/self/statm")
        self._page = os.sysconf("SC_PAGE_SIZE") if self.available else 0
        self._stop = threading.Event()
        self.base = self.peak = 0

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(RSS_INTERVAL_S)

    def __enter__(self) -> "_RssSampler":
        self.base = self.peak = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def peak_increase(self) -> int:
        return max(0, self.peak - self.base)


def _device_name(dev) -> str:
    import platform

    import torch

    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return platform.processor() or platform.machine()
