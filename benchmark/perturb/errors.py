"""Errors of the perturbation engine: a bad grid or set (before any work) and one video that fails."""
from __future__ import annotations

from benchmark.errors import VBenchError, VideoDecodeError


class PerturbationSpecError(VBenchError):
    """A perturbation set, grid or step is unusable as written (bad level, parameter or codec)."""


class PerturbationError(VideoDecodeError):
    """A perturbation cannot apply to one video (e.g. a frame-rate change on a 1-frame video).

    A subclass of `VideoDecodeError`, so a clip reader that catches it marks that video's row failed
    with ``reason`` and the run goes on.

    Args:
        perturbation: the perturbation (or frame function) that failed, with its level if known.
        reason: what about the video made it fail.
        path: the video, where the caller knows it.
    """

    def __init__(self, perturbation: str, reason: str, path: str = "<frames>"):
        self.perturbation, self.detail = perturbation, reason
        super().__init__(path, f"perturbation {perturbation}: {reason}")
