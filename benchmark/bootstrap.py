"""Bootstrap confidence intervals over the per-video score table (used through `benchmark.stats`).

The unit of resampling is the *video*, or the *source* when videos share a ``source_id``: a
resample draws whole sources with replacement and keeps every video of each drawn source, because
videos cut from the same source are not independent. Sources are drawn separately within each
stratum: with ``stratify=True`` a source's stratum is the set of classes among its videos (all-real,
all-fake, or mixed), so a resample keeps the class balance of the data and AUC is defined in every
resample of data that has both classes. Without groups every video is its own source, and this is
the ordinary class-stratified bootstrap.

A resample is held as counts per video (``[B, N]``: how often each video was drawn). Metrics that
have a vectorised form (AUC) are computed from the counts directly; any other metric is called on
``labels[idx], scores[idx]`` with ``idx = np.repeat(arange(N), counts)``, so ``metric_fn`` must not
depend on the order of the videos (none of `benchmark.metrics` does).

Resamples where the metric is undefined (:class:`~benchmark.metrics.UndefinedMetricError`, NaN or
None: e.g. one class left after resampling sources) are counted in ``n_undefined`` and left out of
the interval; they are never dropped silently. Results depend only on the data, the options and
``seed`` (`numpy.random.default_rng`), and resamples are drawn in blocks of `BLOCK`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from benchmark import deployment as D
from benchmark import metrics as M
from benchmark.metrics import ArrayLike, MetricInputError, UndefinedMetricError

MetricFn = Callable[[np.ndarray, np.ndarray], Any]
METHODS = ("percentile", "bca")
BLOCK = 256  # resamples drawn and evaluated at once; part of the random stream, so fixed


@dataclass(frozen=True)
class BootstrapResult:
    """A point estimate and its bootstrap interval; ``low``/``high`` are None when undefined."""

    estimate: float | None
    low: float | None
    high: float | None
    level: float
    method: str
    n_resamples: int
    seed: int
    n_undefined: int
    n_units: int          # videos, or sources when clustered: what was resampled
    clustered: bool
    stratified: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        if self.estimate is None:
            return "undefined"
        if self.low is None:
            return f"{self.estimate:.3f}"
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class PairedBootstrapResult(BootstrapResult):
    """``estimate`` is metric(a) - metric(b); ``p_value`` is two-sided (see `paired_bootstrap`)."""

    estimate_a: float | None = None
    estimate_b: float | None = None
    p_value: float | None = None


# ----------------------------------------------------------------------------- resampling
class Resampler:
    """Draws class-stratified, source-clustered bootstrap resamples as counts per video.

    Args:
        labels: class index per video ``[N]`` (the strata).
        groups: source id per video ``[N]``, or None (every video its own source).
        stratify: draw sources separately per stratum (see the module docstring).
    """

    def __init__(self, labels: np.ndarray, groups: np.ndarray | None, stratify: bool = True):
        n = len(labels)
        self.cluster = (np.arange(n) if groups is None
                        else np.unique(groups, return_inverse=True)[1].reshape(-1))  # [N]
        self.n_clusters = int(self.cluster.max()) + 1 if n else 0
        stratum = np.zeros(self.n_clusters, dtype=np.int64)
        if stratify and n:
            classes = np.unique(labels, return_inverse=True)[1].reshape(-1)
            present = np.zeros((self.n_clusters, int(classes.max()) + 1), dtype=bool)
            present[self.cluster, classes] = True  # [K, C]: which classes each source holds
            stratum = np.unique(present, axis=0, return_inverse=True)[1].reshape(-1)
        self.strata = [np.flatnonzero(stratum == s) for s in np.unique(stratum)]

    def counts(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``[size, N]`` int32: how often each video is drawn in each of `size` resamples."""
        per_cluster = np.zeros((size, self.n_clusters), dtype=np.int32)
        offsets = np.arange(size)[:, None]
        for members in self.strata:
            k = len(members)
            draws = rng.integers(0, k, size=(size, k)) + offsets * k  # [size, k], row-offset
            per_cluster[:, members] = np.bincount(draws.ravel(), minlength=size * k
                                                  ).reshape(size, k)
        return per_cluster[:, self.cluster]

    def jackknife(self) -> Iterator[np.ndarray]:
        """Blocks of ``[k, N]`` counts, each leaving one source (one video without groups) out."""
        for start in range(0, self.n_clusters, BLOCK):
            left_out = np.arange(start, min(start + BLOCK, self.n_clusters))
            yield (self.cluster[None, :] != left_out[:, None]).astype(np.int32)


# ----------------------------------------------------------------------------- metric evaluation
def _auc_from_counts(y: np.ndarray, s: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUC of each row of counts ``[B, N]`` (ties count half) → ``[B]``."""
    order = np.argsort(s, kind="mergesort")
    s_sorted, fake = s[order], y[order].astype(bool)
    starts = np.r_[0, np.flatnonzero(np.diff(s_sorted)) + 1]  # first index of each tied run
    c = counts[:, order].astype(np.float64)
    pos = np.add.reduceat(np.where(fake, c, 0.0), starts, axis=1)  # [B, G] per distinct score
    neg = np.add.reduceat(np.where(fake, 0.0, c), starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    wins = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, wins / np.where(pairs > 0, pairs, 1.0), np.nan)


def _roc_from_counts(y: np.ndarray, s: np.ndarray, counts: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted ROC of each resample: true and false positive counts at each distinct score,
    thresholds descending (``[B, G]`` each), and the totals of fakes and reals (``[B]``)."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, fake = s[order], y[order].astype(bool)
    starts = np.r_[0, np.flatnonzero(np.diff(s_sorted)) + 1]
    c = counts[:, order].astype(np.float64)
    tps = np.cumsum(np.add.reduceat(np.where(fake, c, 0.0), starts, axis=1), axis=1)
    fps = np.cumsum(np.add.reduceat(np.where(fake, 0.0, c), starts, axis=1), axis=1)
    return tps, fps, tps[:, -1], fps[:, -1]


def _rates(tps, fps, n_pos, n_neg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr) ``[B, G+1]`` with the (0, 0) point first, and which rows have both classes."""
    ok = (n_pos > 0) & (n_neg > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.c_[np.zeros(len(tps)), tps / n_pos[:, None]]
        fpr = np.c_[np.zeros(len(fps)), fps / n_neg[:, None]]
    return fpr, tpr, ok


def _ap_from_counts(y, s, counts) -> np.ndarray:
    """Average precision (no interpolation, as `benchmark.metrics.average_precision`)."""
    tps, fps, n_pos, n_neg = _roc_from_counts(y, s, counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tps + fps > 0, tps / np.where(tps + fps > 0, tps + fps, 1.0), 0.0)
        recall = tps / n_pos[:, None]
    steps = np.diff(np.c_[np.zeros(len(tps)), recall], axis=1)
    out = np.sum(steps * precision, axis=1)
    return np.where((n_pos > 0) & (n_neg > 0), out, np.nan)


def _eer_from_counts(y, s, counts) -> np.ndarray:
    """Equal error rate: where the ROC curve, linear between points, crosses FPR = 1 - TPR."""
    fpr, tpr, ok = _rates(*_roc_from_counts(y, s, counts))
    gap = fpr + tpr - 1.0  # -1 at (0, 0), +1 at (1, 1), never decreasing
    i = np.argmax(np.nan_to_num(gap, nan=-1.0) >= 0.0, axis=1)
    rows = np.arange(len(gap))
    prev = np.maximum(i - 1, 0)
    g0, g1 = gap[rows, prev], gap[rows, i]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(g1 > g0, -g0 / np.where(g1 > g0, g1 - g0, 1.0), 0.0)
    out = np.where(g1 == 0.0, fpr[rows, i], fpr[rows, prev] + t * (fpr[rows, i] - fpr[rows, prev]))
    return np.where(ok, out, np.nan)


def _tpr_at_fpr_from_counts(y, s, counts, max_fpr: float = 0.05) -> np.ndarray:
    """Highest TPR among ROC points with FPR <= ``max_fpr``."""
    fpr, tpr, ok = _rates(*_roc_from_counts(y, s, counts))
    out = np.where(fpr <= max_fpr, tpr, -np.inf).max(axis=1)
    return np.where(ok, out, np.nan)


def _accuracy_from_counts(y, s, counts, threshold: float = 0.5) -> np.ndarray:
    """Share of resampled videos classified right by ``score >= threshold`` → fake."""
    correct = ((s >= threshold) == (y == 1)).astype(np.float64)
    total = counts.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts @ correct / np.where(total > 0, total, 1.0), np.nan)


def _pauc_from_counts(y, s, counts, max_fpr: float = 0.1, standardized: bool = True) -> np.ndarray:
    """Area under the ROC curve for FPR <= ``max_fpr`` (linear between points), McClish-standardized."""
    fpr, tpr, ok = _rates(*_roc_from_counts(y, s, counts))
    fpr, tpr = np.nan_to_num(fpr), np.nan_to_num(tpr)
    inside = fpr <= max_fpr
    last = inside.shape[1] - 1 - np.argmax(inside[:, ::-1], axis=1)  # last point with fpr <= max
    rows = np.arange(len(fpr))
    nxt = np.minimum(last + 1, fpr.shape[1] - 1)
    x0, x1, t0, t1 = fpr[rows, last], fpr[rows, nxt], tpr[rows, last], tpr[rows, nxt]
    with np.errstate(invalid="ignore", divide="ignore"):
        cut = np.where(x1 > x0, t0 + (max_fpr - x0) * (t1 - t0) / np.where(x1 > x0, x1 - x0, 1.0), t0)
    segments = np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2.0
    keep = inside[:, 1:]  # segments that end inside the limit (their start is inside too)
    area = np.sum(np.where(keep, segments, 0.0), axis=1)
    area += np.where(last < fpr.shape[1] - 1, (max_fpr - x0) * (t0 + cut) / 2.0, 0.0)
    if standardized:
        chance = max_fpr ** 2 / 2.0
        area = 0.5 * (1.0 + (area - chance) / (max_fpr - chance))
    return np.where(ok, area, np.nan)


def _brier_from_counts(y, s, counts) -> np.ndarray:
    total = counts.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts @ ((s - y) ** 2) / np.where(total > 0, total, 1.0), np.nan)


def _ece_from_counts(y, s, counts, n_bins: int = D.DEFAULT_BINS, binning: str = "equal-width"
                     ) -> np.ndarray:
    """ECE with the bins of the full data (equal-mass edges are not re-drawn per resample)."""
    edges = D.bin_edges(s, n_bins, binning)
    which = np.searchsorted(edges[1:-1], s, side="left")
    onehot = np.eye(n_bins)[which]  # [N, K]
    c = counts.astype(np.float64)
    total, fakes, n = c @ (onehot * s[:, None]), c @ (onehot * y[:, None]), c.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.abs(total - fakes).sum(axis=1) / np.where(n > 0, n, 1.0), np.nan)


def _auc_jackknife(y: np.ndarray, s: np.ndarray, cluster: np.ndarray, n_clusters: int
                   ) -> np.ndarray:
    """AUC with each source left out, ``[n_clusters]``, in O(N log N).

    With W the (half-)won fake-real pairs, removing source k removes the pairs of its videos,
    counting the pairs inside k twice: ``AUC_-k = (W - c_k + w_k) / ((P - P_k)(N - N_k))`` with
    c_k the summed pair counts of k's videos and w_k the fake-real pairs within k. Keys
    ``cluster * N + rank`` make "same source, lower score" one sorted search; all counts are
    multiples of 1/2, so the sums are exact.
    """
    n, fake = len(y), y == 1
    rank = np.unique(s, return_inverse=True)[1].reshape(-1)  # dense ranks: ties share one

    def wins(keys: np.ndarray, against: np.ndarray, floor: np.ndarray) -> np.ndarray:
        """Per key: members of sorted ``against`` in [floor, key) plus half those equal to it."""
        left, right = np.searchsorted(against, keys), np.searchsorted(against, keys, "right")
        return left - np.searchsorted(against, floor) + 0.5 * (right - left)

    per_video = np.empty(n)
    zero = np.zeros(1, dtype=np.int64)
    per_video[fake] = wins(rank[fake], np.sort(rank[~fake]), zero)  # reals below each fake
    per_video[~fake] = wins(-rank[~fake], np.sort(-rank[fake]), -n)  # fakes above each real
    key = cluster.astype(np.int64) * n + rank
    within = np.bincount(cluster[fake], minlength=n_clusters, weights=wins(
        key[fake], np.sort(key[~fake]), cluster[fake].astype(np.int64) * n))
    n_fake = np.bincount(cluster, weights=fake, minlength=n_clusters)
    n_real = np.bincount(cluster, minlength=n_clusters) - n_fake
    pairs = (fake.sum() - n_fake) * ((~fake).sum() - n_real)
    kept = per_video[fake].sum() - np.bincount(cluster, weights=per_video, minlength=n_clusters) \
        + within
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, kept / np.where(pairs > 0, pairs, 1.0), np.nan)


# metric functions with a form vectorised over resamples, and over jackknife samples (validated
# inputs assumed); the tests compare both with the metric called on index arrays. A
# functools.partial of one of them passes its keywords on.
VECTORISED: dict[Callable, Callable[..., np.ndarray]] = {
    M.roc_auc: _auc_from_counts,
    M.average_precision: _ap_from_counts,
    M.eer: _eer_from_counts,
    M.tpr_at_fpr: _tpr_at_fpr_from_counts,
    M.accuracy: _accuracy_from_counts,
    D.partial_auc: _pauc_from_counts,
    D.brier_score: _brier_from_counts,
    D.expected_calibration_error: _ece_from_counts,
}
VECTORISED_JACKKNIFE: dict[Callable, Callable[..., np.ndarray]] = {M.roc_auc: _auc_jackknife}


def _fast(metric_fn: MetricFn):
    """The vectorised form of ``metric_fn`` (a known function or a partial of one), or None."""
    if metric_fn in VECTORISED:
        return VECTORISED[metric_fn]
    func = getattr(metric_fn, "func", None)
    if func in VECTORISED and not getattr(metric_fn, "args", ()):
        keywords = dict(metric_fn.keywords)
        return lambda y, s, counts: VECTORISED[func](y, s, counts, **keywords)
    return None


def call_metric(metric_fn: MetricFn, y: np.ndarray, s: np.ndarray) -> tuple[float, str]:
    """``(value, "")``, or ``(nan, why)`` when the metric is undefined on this data."""
    try:
        value = metric_fn(y, s)
    except UndefinedMetricError as err:
        return math.nan, str(err)
    if value is None or not np.isfinite(value):
        return math.nan, f"{_name(metric_fn)} returned {value!r}"
    return float(value), ""


def _evaluate(metric_fn: MetricFn, y: np.ndarray, columns: Sequence[np.ndarray],
              counts: np.ndarray) -> np.ndarray:
    """The metric of each score column on each resample ``[B, len(columns)]``; NaN: undefined."""
    fast = _fast(metric_fn)
    if fast is not None:
        return np.stack([fast(y, s, counts) for s in columns], axis=1)
    out = np.empty((len(counts), len(columns)))
    videos = np.arange(len(y))
    for b, row in enumerate(counts):
        idx = np.repeat(videos, row)
        for j, s in enumerate(columns):
            out[b, j] = call_metric(metric_fn, y[idx], s[idx])[0]
    return out


def replicates(metric_fn: MetricFn, y: np.ndarray, columns: Sequence[np.ndarray],
               resampler: Resampler, n_resamples: int, seed: int) -> np.ndarray:
    """Replicates ``[n_resamples, len(columns)]``; every column sees the same resamples."""
    rng = np.random.default_rng(seed)
    blocks = [_evaluate(metric_fn, y, columns, resampler.counts(rng, min(BLOCK, n_resamples - b)))
              for b in range(0, n_resamples, BLOCK)]
    return np.concatenate(blocks, axis=0)


def jackknife(metric_fn: MetricFn, y: np.ndarray, columns: Sequence[np.ndarray],
              resampler: Resampler) -> np.ndarray:
    """Leave-one-source-out values ``[n_sources, len(columns)]`` (BCa's acceleration)."""
    fast = VECTORISED_JACKKNIFE.get(metric_fn)
    if fast is not None:
        return np.stack([fast(y, s, resampler.cluster, resampler.n_clusters) for s in columns],
                        axis=1)
    return np.concatenate([_evaluate(metric_fn, y, columns, c) for c in resampler.jackknife()])


# ----------------------------------------------------------------------------- intervals
def percentile_interval(reps: np.ndarray, level: float) -> tuple[float, float]:
    """Equal-tailed percentile interval of the replicates (numpy's linear interpolation)."""
    low, high = np.percentile(reps, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)


def bca_interval(reps: np.ndarray, estimate: float, jack: np.ndarray, level: float
                 ) -> tuple[float, float, str]:
    """Efron's BCa interval (Efron & Tibshirani 1993, eq. 14.10 and 14.15), as scipy computes it.

    The bias correction uses the mid-rank of ``estimate`` among the replicates (ties within 1e-12
    relative); the acceleration comes from the jackknife values ``jack`` (undefined ones left
    out).

    Returns:
        ``(low, high, note)``; when the estimate lies outside the replicates (z0 infinite) the
        percentile interval is returned and the note says so.
    """
    from scipy.special import ndtr, ndtri

    # replicates equal to the estimate up to rounding count as ties: a resample that reproduces
    # the data's AUC must not flip sides with the summation order
    tied = np.isclose(reps, estimate, rtol=1e-12, atol=1e-12)
    below = np.sum((reps < estimate) & ~tied)
    rank = (2 * below + np.sum(tied)) / (2.0 * len(reps))
    if not 0.0 < rank < 1.0:
        low, high = percentile_interval(reps, level)
        return low, high, ("BCa bias correction infinite (the estimate lies outside every "
                           "resample); percentile interval given")
    z0 = float(ndtri(rank))
    d = np.mean(jack) - jack
    spread = float(np.sum(d ** 2))
    accel = float(np.sum(d ** 3)) / (6.0 * spread ** 1.5) if spread > 0 else 0.0
    z = ndtri(np.array([(1 - level) / 2, (1 + level) / 2]))
    alphas = ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    low, high = np.percentile(reps, 100 * alphas)
    return float(low), float(high), ""


# ----------------------------------------------------------------------------- validation
def check_inputs(labels: ArrayLike, columns: Sequence[tuple[str, ArrayLike]],
                 groups: ArrayLike | None
                 ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Labels as class indices ``[N]``, score columns with N rows each, groups ``[N]`` or None."""
    y = M._check_classes(labels, "labels")
    arrays = []
    for name, values in columns:
        arr = np.asarray(values)
        if arr.ndim == 0 or len(arr) != len(y):
            raise MetricInputError(f"{name}: expected one row per video ({len(y)} labels), "
                                   f"got shape {arr.shape}")
        arrays.append(arr)
    if groups is None:
        return y, arrays, None
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != len(y):
        raise MetricInputError(f"groups: expected one source id per video ({len(y)} labels), "
                               f"got shape {g.shape}")
    missing = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in g.tolist()],
                       dtype=bool)
    if missing.any():
        raise MetricInputError(f"groups: expected a source id for every video, got "
                               f"{g[missing][0]!r} at index {int(np.argmax(missing))}")
    return y, arrays, g.astype(str) if g.dtype == object else g


def check_options(n_resamples: int, level: float, method: str, seed: int) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) \
            or n_resamples < 1:
        raise MetricInputError(f"n_resamples: expected a positive integer, got {n_resamples!r}")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise MetricInputError(f"level: expected a confidence level in (0, 1), got {level!r}")
    if method not in METHODS:
        raise MetricInputError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise MetricInputError(f"seed: expected an integer, got {seed!r}")


def _name(metric_fn: Callable) -> str:
    return getattr(metric_fn, "__name__", None) or getattr(getattr(metric_fn, "func", None),
                                                           "__name__", repr(metric_fn))
