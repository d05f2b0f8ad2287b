"""Running the defences' small models on a CPU."""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def single_thread():
    """One intra-op torch thread while tiny models train or run: as fast at these sizes, the result
    does not depend on the machine's thread count, and OpenMP threads do not spin on a busy machine
    (measured: 2 threads burnt 12x the CPU time of 1 for the embedded target on a loaded 2-core
    host, and 13x for 200 PGD steps)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
