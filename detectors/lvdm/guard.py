"""LVDM's online guard: stops a diffusers generation as soon as the early-exit rule fires.

`LVDMGuard` is a ``callback_on_step_end`` (diffusers' per-step callback). The scheduler's x̂0 of the
step just taken comes from `benchmark.generation.x0.X0Recorder`; the guard decodes it to uint8
clips, scores them with that step's category detectors (flag = OR over categories of score > 0.5)
and keeps the running count. When the count reaches ``η · λ`` (within the first η steps) it raises
`GenerationStopped`, which ends the pipeline's loop at once: no later denoising step and no
decoding of an unsafe video run. `guarded_generate` turns that into a normal return with the
reason. With a batch of several videos the call stops when any of them fires (they share the call).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from detectors.lvdm.rule import check_rule


@dataclass
class GuardDecision:
    """What the guard decided about one call.

    Attributes:
        stopped: the rule fired and the generation was stopped.
        stop_step: 1-based number of denoising steps run when it stopped (None if not stopped).
        flags: per step run, per video, the OR-flag ``[steps_run][B]``.
        reason: a sentence for logs and reports.
    """

    stopped: bool
    stop_step: int | None
    flags: list[list[bool]] = field(default_factory=list)
    reason: str = ""


class GenerationStopped(Exception):
    """Raised inside the pipeline by the guard; carries the decision."""

    def __init__(self, decision: GuardDecision):
        super().__init__(decision.reason)
        self.decision = decision


class LVDMGuard:
    """Per-step callback applying LVDM's rule online.

    Args:
        flag_fn: ``(step, x0) -> bool [B]``: the OR-flag of each video at 0-based ``step`` from its
            recorded x̂0 (see `detector_flag_fn`).
        eta, lam: the rule (unsafe ⇔ at least ``η · λ`` of the first η steps flag).
        total_steps: denoising steps of the call (for checking η).
    """

    def __init__(self, flag_fn: Callable[[int, Any], np.ndarray], eta: int, lam: float,
                 total_steps: int):
        check_rule(eta, lam, total_steps)
        self.flag_fn, self.eta, self.lam = flag_fn, eta, lam
        self.recorder = None
        self.flags: list[list[bool]] = []

    def reset(self) -> None:
        self.flags = []

    def __call__(self, pipe, step: int, timestep, callback_kwargs: dict) -> dict:
        if step >= self.eta:  # past the inspected window: the rule can no longer fire
            return callback_kwargs
        flags = np.asarray(self.flag_fn(step, self.recorder.steps[-1]), bool)
        self.flags.append(flags.tolist())
        counts = np.sum(self.flags, axis=0)
        fired = np.flatnonzero(counts >= self.eta * self.lam)
        if fired.size:
            raise GenerationStopped(GuardDecision(
                True, step + 1, self.flags,
                f"LVDM: video(s) {fired.tolist()} flagged unsafe at {int(counts[fired[0]])} of the "
                f"first {step + 1} steps (rule: >= {self.eta * self.lam:g} of the first {self.eta}); "
                f"generation stopped after step {step + 1}"))
        return callback_kwargs


def guarded_generate(pipe, guard: LVDMGuard, **call_kwargs: Any) -> tuple[Any, GuardDecision]:
    """Calls ``pipe(**call_kwargs)`` under the guard.

    Returns:
        ``(output, decision)``: the pipeline's output and a not-stopped decision, or ``(None,
        decision)`` when the guard stopped the generation.
    """
    from benchmark.generation.x0 import X0Recorder

    guard.reset()
    with X0Recorder(pipe) as recorder:
        guard.recorder = recorder
        try:
            output = pipe(**call_kwargs, callback_on_step_end=guard)
        except GenerationStopped as stop:
            return None, stop.decision
    return output, GuardDecision(False, None, guard.flags,
                                 f"LVDM: not flagged within the first {guard.eta} steps")


def detector_flag_fn(detector, trained: dict, decode: Callable | None = None
                     ) -> Callable[[int, Any], np.ndarray]:
    """A guard's ``flag_fn`` from trained (category, step) detectors on one detector object.

    Args:
        detector: a built `benchmark.detector.Detector` of the LVDM detector config.
        trained: ``(category, step) -> StepDetector`` (state dict and flag threshold).
        decode: x̂0 → pixel-space x̂0 in [-1, 1] ``[B, 3, T, H, W]`` (identity for pixel-space
            pipelines; a VAE decode for latent ones).
    """
    from benchmark.defences.detect import clip_scores_of
    from benchmark.generation.x0 import to_clip_uint8

    categories = sorted({c for c, _ in trained})

    def flag_fn(step: int, x0) -> np.ndarray:
        clips = to_clip_uint8(decode(x0) if decode else x0)     # [B, 3, T, H, W]
        flags = np.zeros(len(clips), bool)
        for category in categories:
            one = trained[(category, step)]
            detector.model.load_state_dict(one.state_dict)
            flags |= clip_scores_of(detector, clips) >= one.threshold
        return flags

    return flag_fn
