"""Statistics over the per-video score table: intervals, paired comparisons, multiple testing.

Pure functions of numpy arrays (one value per video), each checked against a reference in
tests/test_stats.py:

=============================  ====================================================================
function                       checked against
=============================  ====================================================================
`bootstrap_ci`                 scipy.stats.bootstrap (percentile and BCa endpoints on scipy's own
                               replicates; a full run on unstratified data); the metric called
                               on resampled index arrays (the vectorised AUC path) and with each
                               source left out (the closed-form AUC jackknife)
`paired_bootstrap`             the same resamples evaluated one column at a time; identical runs
`delong_ci`                    DeLong et al. (1988) structural components computed pair by pair
                               (O(N^2)) in the test; Stata's ``roctab`` on Hanley & McNeil's (1982)
                               CT ratings (area 0.8932, s.e. 0.0307, 95 % CI 0.83295-0.95339)
`delong_test`                  the same O(N^2) reference for the covariance of two AUCs
`mcnemar`                      scipy.stats.binomtest; exact and mid-p values worked by hand
                               (Fagerland, Lydersen & Laake 2013, b = 1, c = 7)
`holm`                         a hand-worked example (Holm 1979 step-down)
=============================  ====================================================================

`holm` returns adjusted p-values in the input's shape (array or dict); the others return a small
frozen dataclass with ``to_dict()`` (JSON-able) and say in ``note`` why a value is None (one class only, too few videos, zero variance) instead of raising:
reports show "undefined" and go on. Bad input (wrong shapes, labels that are not 0/1, scores outside
[0, 1]) raises :class:`~benchmark.metrics.MetricInputError`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

from benchmark import metrics as M
from benchmark.bootstrap import (BootstrapResult, MetricFn, PairedBootstrapResult, Resampler,
                                 bca_interval, call_metric, check_inputs, check_options, jackknife,
                                 percentile_interval, replicates)
from benchmark.metrics import ArrayLike, MetricInputError

__all__ = ["BootstrapResult", "PairedBootstrapResult", "DeLongResult", "DeLongTest",
           "McNemarResult", "bootstrap_ci", "paired_bootstrap", "delong_ci", "delong_test",
           "mcnemar", "holm"]


class _Result:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- bootstrap
def bootstrap_ci(metric_fn: MetricFn, labels: ArrayLike, scores: ArrayLike,
                 groups: ArrayLike | None = None, *, n_resamples: int = 2000, seed: int = 0,
                 level: float = 0.95, method: str = "percentile", stratify: bool = True
                 ) -> BootstrapResult:
    """Bootstrap confidence interval of ``metric_fn(labels, scores)``.

    Args:
        metric_fn: e.g. `benchmark.metrics.roc_auc`, ``functools.partial(tpr_at_fpr,
            max_fpr=0.01)`` or `benchmark.metrics.macro_f1` (then ``scores`` are predicted
            classes). `roc_auc` itself takes a vectorised path (2000 resamples of a few thousand
            videos in well under a second).
        labels: class per video (0 real, 1 fake for binary metrics); the strata.
        scores: one row per video, passed to ``metric_fn`` as resampled.
        groups: ``source_id`` per video: sources are resampled whole (see `benchmark.bootstrap`).
        n_resamples: bootstrap resamples.
        seed: seed of `numpy.random.default_rng`; the result is a function of it.
        level: confidence level.
        method: ``"percentile"`` or ``"bca"`` (bias-corrected and accelerated; the acceleration
            comes from a leave-one-source-out jackknife, one more metric evaluation per source:
            vectorised for AUC, a Python loop for other metrics).
        stratify: resample within classes (within class compositions of sources).
    """
    y, (s,), g = check_inputs(labels, [("scores", scores)], groups)
    check_options(n_resamples, level, method, seed)
    resampler = Resampler(y, g, stratify)
    meta = _meta(level, method, n_resamples, seed, resampler, stratify)
    estimate, why = call_metric(metric_fn, y, s)
    if math.isnan(estimate):
        return BootstrapResult(None, None, None, n_undefined=0, note=why, **meta)
    reps = replicates(metric_fn, y, [s], resampler, n_resamples, seed)[:, 0]
    jack = (jackknife(metric_fn, y, [s], resampler)[:, 0] if method == "bca" else None)
    low, high, note = _interval(reps, estimate, jack, level, method)
    return BootstrapResult(estimate, low, high, n_undefined=int(np.isnan(reps).sum()),
                           note=note, **meta)


def paired_bootstrap(metric_fn: MetricFn, labels: ArrayLike, scores_a: ArrayLike,
                     scores_b: ArrayLike, groups: ArrayLike | None = None, *,
                     n_resamples: int = 2000, seed: int = 0, level: float = 0.95,
                     method: str = "percentile", stratify: bool = True) -> PairedBootstrapResult:
    """Interval and two-sided p-value of metric(a) - metric(b) on the same videos.

    Both score columns are evaluated on the same resamples, so the interval is that of the paired
    difference. The p-value inverts the percentile interval: it is the smallest ``1 - level`` at
    which the equal-tailed interval of the differences excludes 0,
    ``p = min(1, 2 * min(1 + #{d* <= 0}, 1 + #{d* >= 0}) / (B + 1))`` over the B defined
    resamples (the +1 keeps a finite resample count from claiming p = 0). Identical columns give
    difference 0 and p = 1. Arguments as in `bootstrap_ci`.
    """
    y, (a, b), g = check_inputs(labels, [("scores_a", scores_a), ("scores_b", scores_b)], groups)
    check_options(n_resamples, level, method, seed)
    resampler = Resampler(y, g, stratify)
    meta = _meta(level, method, n_resamples, seed, resampler, stratify)
    (est_a, why_a), (est_b, why_b) = call_metric(metric_fn, y, a), call_metric(metric_fn, y, b)
    if math.isnan(est_a) or math.isnan(est_b):
        note = "; ".join(f"{k}: {w}" for k, w in (("scores_a", why_a), ("scores_b", why_b)) if w)
        return PairedBootstrapResult(None, None, None, n_undefined=0, note=note, **meta,
                                     estimate_a=_or_none(est_a), estimate_b=_or_none(est_b))
    pair = replicates(metric_fn, y, [a, b], resampler, n_resamples, seed)
    reps = pair[:, 0] - pair[:, 1]
    jack = None
    if method == "bca":
        jack_pair = jackknife(metric_fn, y, [a, b], resampler)
        jack = jack_pair[:, 0] - jack_pair[:, 1]
    diff = est_a - est_b
    low, high, note = _interval(reps, diff, jack, level, method)
    defined = reps[~np.isnan(reps)]
    p_value = None
    if len(defined):
        tail = min(np.sum(defined <= 0), np.sum(defined >= 0)) + 1
        p_value = min(1.0, 2.0 * tail / (len(defined) + 1))
    return PairedBootstrapResult(diff, low, high, n_undefined=int(np.isnan(reps).sum()),
                                 note=note, **meta, estimate_a=est_a, estimate_b=est_b,
                                 p_value=p_value)


def _meta(level: float, method: str, n_resamples: int, seed: int, resampler: Resampler,
          stratify: bool) -> dict[str, Any]:
    # clustered: some source holds several videos (with unique sources it is the plain bootstrap)
    return dict(level=float(level), method=method, n_resamples=int(n_resamples), seed=int(seed),
                n_units=resampler.n_clusters,
                clustered=resampler.n_clusters < len(resampler.cluster), stratified=stratify)


def _interval(reps: np.ndarray, estimate: float, jack: np.ndarray | None, level: float,
              method: str) -> tuple[float | None, float | None, str]:
    defined = reps[~np.isnan(reps)]
    notes = []
    if len(defined) < len(reps):
        notes.append(f"metric undefined on {len(reps) - len(defined)} of {len(reps)} resamples "
                     "(left out of the interval)")
    if not len(defined):
        return None, None, "; ".join(notes)
    if method == "percentile":
        low, high = percentile_interval(defined, level)
    else:
        undefined_jack = int(np.isnan(jack).sum())
        if undefined_jack:
            notes.append(f"metric undefined on {undefined_jack} of {len(jack)} jackknife samples "
                         "(left out of the acceleration)")
        low, high, why = bca_interval(defined, estimate, jack[~np.isnan(jack)], level)
        notes.append(why)
    return low, high, "; ".join(n for n in notes if n)


def _or_none(value: float) -> float | None:
    return None if math.isnan(value) else value


# ----------------------------------------------------------------------------- DeLong
@dataclass(frozen=True)
class DeLongResult(_Result):
    """One AUC with DeLong's variance and a normal (Wald) interval clipped to [0, 1]."""

    auc: float | None
    variance: float | None
    se: float | None
    low: float | None
    high: float | None
    level: float
    n_real: int
    n_fake: int
    method: str = "delong"
    note: str = ""


@dataclass(frozen=True)
class DeLongTest(_Result):
    """DeLong's paired test of AUC(a) - AUC(b) on the same videos (two-sided)."""

    auc_a: float | None
    auc_b: float | None
    difference: float | None
    variance: float | None
    se: float | None
    z: float | None
    p_value: float | None
    low: float | None
    high: float | None
    level: float
    n_real: int
    n_fake: int
    note: str = ""


def _midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x [n]``; tied values share the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(xs)) + 1]
    ends = np.r_[starts[1:], len(xs)]
    ranks = np.empty(len(x))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def _placements(y: np.ndarray, s: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components by midranks (Sun & Xu 2014), O(N log N).

    ``v10[i]``: share of real videos scored below fake video i (ties half), ``[n_fake]``;
    ``v01[j]``: share of fake videos scored above real video j (ties half), ``[n_real]``.
    """
    fake, real = s[y == 1], s[y == 0]
    m, n = len(fake), len(real)
    tz = _midranks(np.r_[fake, real])
    v10 = (tz[:m] - _midranks(fake)) / n
    v01 = 1.0 - (tz[m:] - _midranks(real)) / m
    return float(v10.mean()), v10, v01


def _normal_quantile(level: float) -> float:
    from scipy.special import ndtri

    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise MetricInputError(f"level: expected a confidence level in (0, 1), got {level!r}")
    return float(ndtri((1 + level) / 2))


def _class_note(y: np.ndarray) -> str:
    n_fake = int(y.sum())
    problem = M._class_problem(len(y) - n_fake, n_fake)
    if problem:
        return f"AUC undefined: the input {problem}"
    if min(n_fake, len(y) - n_fake) < 2:
        return (f"DeLong variance undefined: it needs at least 2 real and 2 fake videos, got "
                f"{len(y) - n_fake} real and {n_fake} fake")
    return ""


def delong_ci(labels: ArrayLike, scores: ArrayLike, level: float = 0.95) -> DeLongResult:
    """AUC with DeLong's nonparametric variance and ``auc ± z * se`` clipped to [0, 1].

    Args:
        labels: 0 real, 1 fake.
        scores: P(generated) in [0, 1].
        level: confidence level.
    """
    z = _normal_quantile(level)
    y, s = M._check_binary(labels, scores)
    n_fake = int(y.sum())
    counts = dict(level=float(level), n_real=len(y) - n_fake, n_fake=n_fake)
    note = _class_note(y)
    if note.startswith("AUC undefined"):
        return DeLongResult(None, None, None, None, None, note=note, **counts)
    auc, v10, v01 = _placements(y, s)
    if note:
        return DeLongResult(auc, None, None, None, None, note=note, **counts)
    variance = float(v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01))
    se = math.sqrt(variance)
    return DeLongResult(auc, variance, se, max(0.0, auc - z * se), min(1.0, auc + z * se),
                        **counts)


def delong_test(labels: ArrayLike, scores_a: ArrayLike, scores_b: ArrayLike,
                level: float = 0.95) -> DeLongTest:
    """DeLong, DeLong & Clarke-Pearson (1988) test of two correlated AUCs on the same videos.

    The variance of the difference is computed from the differences of the two columns'
    structural components, so identical columns give exactly 0: difference 0, z = 0, p = 1 (pROC's
    convention too). A nonzero difference with zero variance (e.g. a perfect detector against a
    constant one) gives z = ±inf, p = 0, and a note.

    Returns:
        `DeLongTest` with the difference AUC(a) - AUC(b), its normal interval (clipped to
        [-1, 1]), z and the two-sided p-value.
    """
    zq = _normal_quantile(level)
    y, a = M._check_binary(labels, scores_a)
    b = M._check_scores(scores_b, "scores_b")
    M._same_length(y, b, ("labels", "scores_b"))
    n_fake = int(y.sum())
    counts = dict(level=float(level), n_real=len(y) - n_fake, n_fake=n_fake)
    none = dict.fromkeys(("difference", "variance", "se", "z", "p_value", "low", "high"))
    note = _class_note(y)
    if note.startswith("AUC undefined"):
        return DeLongTest(None, None, note=note, **none, **counts)
    (auc_a, v10a, v01a), (auc_b, v10b, v01b) = _placements(y, a), _placements(y, b)
    if note:
        return DeLongTest(auc_a, auc_b, note=note, **{**none, "difference": auc_a - auc_b},
                          **counts)
    diff = auc_a - auc_b
    variance = float((v10a - v10b).var(ddof=1) / len(v10a) + (v01a - v01b).var(ddof=1) / len(v01a))
    se = math.sqrt(variance)
    if se > 0:
        z, note = diff / se, ""
    elif diff == 0:
        z, note = 0.0, ""
    else:
        z, note = math.copysign(math.inf, diff), "variance of the difference is 0"
    p = math.erfc(abs(z) / math.sqrt(2.0))
    return DeLongTest(auc_a, auc_b, diff, variance, se, z, p, max(-1.0, diff - zq * se),
                      min(1.0, diff + zq * se), note=note, **counts)


# ----------------------------------------------------------------------------- McNemar
@dataclass(frozen=True)
class McNemarResult(_Result):
    """McNemar's test of two paired accuracies; only discordant videos carry information."""

    n_videos: int
    a_only: int          # videos a classifies right and b wrong
    b_only: int          # videos b classifies right and a wrong
    accuracy_a: float | None
    accuracy_b: float | None
    difference: float | None
    p_value: float
    variant: str


MCNEMAR_VARIANTS = ("exact", "midp")


def correct_at(labels: ArrayLike, scores: ArrayLike, threshold: float = 0.5) -> np.ndarray:
    """Per video, whether the rule ``score >= threshold`` -> fake gets it right (bool ``[N]``)."""
    threshold = M._check_threshold(threshold, "threshold")
    y, s = M._check_binary(labels, scores)
    return (s >= threshold) == (y == 1)


def _check_correct(values: ArrayLike, name: str) -> np.ndarray:
    arr = M._as_1d(values, name)
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        raise MetricInputError(f"{name}: expected True/False (or 1/0) per video, got "
                               f"{M._first_bad(arr, bad)}")
    return arr.astype(bool)


def mcnemar(correct_a: ArrayLike, correct_b: ArrayLike, variant: str = "exact") -> McNemarResult:
    """McNemar's test for paired accuracies at a fixed threshold (see `correct_at`).

    Under the null, each of the ``a_only + b_only`` discordant videos goes either way with
    probability 1/2. ``"exact"``: ``min(1, 2 P(X <= k))`` with X ~ Binomial(a_only + b_only, 1/2)
    and k = min(a_only, b_only); ``"midp"``: the same minus ``P(X = k)`` (Fagerland et al. 2013),
    which is less conservative. No discordant videos: p = 1.
    """
    from scipy.stats import binom

    if variant not in MCNEMAR_VARIANTS:
        raise MetricInputError(f"variant: expected one of {', '.join(MCNEMAR_VARIANTS)}, "
                               f"got {variant!r}")
    a, b = _check_correct(correct_a, "correct_a"), _check_correct(correct_b, "correct_b")
    M._same_length(a, b, ("correct_a", "correct_b"))
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n, k = a_only + b_only, min(a_only, b_only)
    p = 1.0
    if n:
        p = 2.0 * float(binom.cdf(k, n, 0.5))
        p = min(1.0, p - float(binom.pmf(k, n, 0.5)) if variant == "midp" else p)
    acc_a, acc_b = (float(a.mean()), float(b.mean())) if len(a) else (None, None)
    return McNemarResult(len(a), a_only, b_only, acc_a, acc_b,
                         None if acc_a is None else acc_a - acc_b, p, variant)


# ----------------------------------------------------------------------------- multiple testing
def holm(pvalues: ArrayLike | Mapping[str, float]) -> np.ndarray | dict[str, float]:
    """Holm-Bonferroni adjusted p-values (reject hypothesis i at level alpha iff adjusted <= alpha).

    Step-down: sorted ascending, ``adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``; returned in
    the input order (a dict for a dict input, e.g. ``{comparison: p}``).
    """
    keys = list(pvalues) if isinstance(pvalues, Mapping) else None
    p = M._as_1d(list(pvalues.values()) if keys is not None else pvalues, "pvalues")
    p = M._check_unit_interval(p, "pvalues", "p-values")
    order = np.argsort(p, kind="mergesort")
    factors = len(p) - np.arange(len(p))  # m, m - 1, ..., 1
    adjusted = np.empty(len(p))
    adjusted[order] = np.maximum.accumulate(np.minimum(1.0, factors * p[order]))
    return dict(zip(keys, adjusted.tolist())) if keys is not None else adjusted
