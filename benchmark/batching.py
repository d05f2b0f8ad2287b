"""``--batch-size auto``: the largest evaluation batch whose forward fits in memory."""
from __future__ import annotations

import logging

log = logging.getLogger("vbench.run")
OOM_MESSAGES = ("out of memory", "can't allocate memory", "not enough memory")


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in OOM_MESSAGES))


def find_batch_size(detector, limit: int = 64) -> int:
    """Videos per evaluation batch: the largest power of two up to ``limit`` clips whose forward
    runs without running out of memory, divided by the clips each video gives.

    The probe runs the real forward (at the detector's precision) on blank clips of the reader's
    shape, doubling the batch until memory runs out or ``limit`` is reached. On a CPU memory
    rarely runs out first, so ``limit`` (64 clips) is the usual answer there.

    Raises:
        VBenchError: not even one clip fits.
    """
    import torch

    from benchmark.errors import VBenchError

    shape = detector.clip_shape
    fits, batch = 0, 1
    while batch <= limit:
        try:
            detector.clip_logits(torch.zeros((batch, *shape), dtype=torch.uint8))
        except Exception as exc:  # noqa: BLE001 — only out-of-memory errors are an answer
            if not _is_oom(exc):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            break
        fits, batch = batch, batch * 2
    if not fits:
        raise VBenchError(f"--batch-size auto: not even one clip of shape {tuple(shape)} fits in "
                          f"memory on {detector.device}")
    videos = max(1, fits // max(1, detector.spec.num_clips))
    log.info("--batch-size auto: %d clips fit; %d videos per batch (%d clips each)", fits, videos,
             detector.spec.num_clips)
    return videos
