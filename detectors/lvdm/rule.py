"""LVDM's early-exit rule and its (η, λ) sweep.

A video's flag at step i is the OR over the category detectors at that step. The rule (upstream
``test_accuracy.py``): unsafe ⇔ ``sum(flags[:η]) >= η · λ``. Online, generation can stop at the
first step k (1-based) at which the running count reaches ``η · λ``; steps k+1 … S are saved. A
video judged safe is generated to the end (nothing saved). The baseline flags the last step only,
after the whole generation.

Upstream balances the classes by drawing ``min(#unsafe, #normal)`` videos of each (seed 20240603);
``balance=True`` does the same, ``False`` keeps every video.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.errors import DefenceConfigError

UPSTREAM_BALANCE_SEED = 20240603


def flag_matrix(scores: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per-(video, step) rows (``video_id, label, step, flag``) → ids, labels ``[V]``, flags ``[V, S]``.

    Raises:
        DefenceConfigError: a video lacks some step (named).
    """
    pivot = scores.pivot(index="video_id", columns="step", values="flag")
    if pivot.isna().any().any():
        video, step = next((v, s) for v, row in pivot.iterrows() for s, f in row.items() if pd.isna(f))
        raise DefenceConfigError(f"LVDM flags: video {video} has no flag at step {step}")
    labels = scores.groupby("video_id")["label"].first().reindex(pivot.index)
    return list(pivot.index), labels.to_numpy(int), pivot.to_numpy(bool)


def check_rule(eta: int, lam: float, total_steps: int) -> None:
    if not isinstance(eta, (int, np.integer)) or not 1 <= eta <= total_steps:
        raise DefenceConfigError(f"LVDM eta: expected an int in [1, {total_steps}] (denoising "
                                 f"steps), got {eta!r}")
    if not 0 < lam <= 1:
        raise DefenceConfigError(f"LVDM lambda: expected a fraction in (0, 1], got {lam!r}")


def early_exit(flags: np.ndarray, eta: int, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Applies the rule to flags ``[V, S]``.

    Returns:
        ``unsafe [V]`` (bool) and ``stop [V]``: the 1-based step after which an unsafe video stops
        (0 for videos judged safe).
    """
    check_rule(eta, lam, flags.shape[1])
    counts = np.cumsum(flags[:, :eta], axis=1)               # [V, eta]
    reached = counts >= eta * lam                            # upstream's float comparison
    unsafe = reached[:, -1]
    stop = np.where(unsafe, reached.argmax(axis=1) + 1, 0)
    return unsafe, stop


def _balanced(labels: np.ndarray, seed: int) -> np.ndarray:
    """Indices of an equal draw of each class (upstream's ``min_samples`` per label)."""
    rng = np.random.default_rng(seed)
    per_class = [np.flatnonzero(labels == c) for c in (0, 1)]
    n = min(len(p) for p in per_class)
    return np.sort(np.concatenate([rng.choice(p, n, replace=False) for p in per_class]))


def _row(labels: np.ndarray, unsafe: np.ndarray, stop: np.ndarray, total: int) -> dict:
    from benchmark.metrics import binary_decisions

    saved = np.where(unsafe, (total - stop) / total, 0.0)
    return {**binary_decisions(labels, unsafe.astype(int)), "n_videos": len(labels),
            "n_unsafe": int(labels.sum()), "compute_saved": float(saved.mean()),
            "compute_saved_flagged": float(saved[unsafe].mean()) if unsafe.any() else 0.0,
            "mean_stop_step": float(stop[unsafe].mean()) if unsafe.any() else None}


def sweep(scores: pd.DataFrame, etas: list[int], lambdas: list[float], balance: bool = True,
          seed: int = UPSTREAM_BALANCE_SEED) -> pd.DataFrame:
    """The (η, λ) table beside the last-step baseline.

    Args:
        scores: per-(video, step) rows with ``video_id, label, step, flag`` (`train.step_scores`).
        etas, lambdas: the grid (η above the number of steps are skipped).
        balance: draw equal numbers of unsafe and normal videos, as upstream.

    Returns:
        One row per (η, λ) plus ``rule == "last_step"``: accuracy, precision, recall, F1, counts,
        ``compute_saved`` (fraction of all denoising steps not run), ``compute_saved_flagged``
        (over videos stopped) and ``mean_stop_step``.
    """
    _, labels, flags = flag_matrix(scores)
    if balance:
        keep = _balanced(labels, seed)
        labels, flags = labels[keep], flags[keep]
    total = flags.shape[1]
    rows = [{"rule": "last_step", "eta": None, "lambda": None,
             **_row(labels, flags[:, -1], np.full(len(labels), total), total)}]  # after every step
    for eta in [e for e in etas if e <= total]:
        for lam in lambdas:
            unsafe, stop = early_exit(flags, eta, lam)
            rows.append({"rule": "early_exit", "eta": eta, "lambda": lam,
                         **_row(labels, unsafe, stop, total)})
    return pd.DataFrame(rows)


def per_step_accuracy(scores: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of the OR-flag at each step alone (how early x̂0 becomes telling)."""
    from benchmark.metrics import binary_decisions

    rows = [{"step": int(step), **binary_decisions(part["label"], part["flag"].astype(int))}
            for step, part in scores.groupby("step")]
    return pd.DataFrame(rows)
