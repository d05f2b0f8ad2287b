"""Bootstrap confidence intervals over the per-video score table (used through `benchmark.stats`).

The unit of resampling is the *video*, or the *source* when videos share a ``source_id``: a
resample draws whole sources with replacement and keeps every video of each drawn source, because
videos cut from the same source are not independent. Sources are drawn separately within each
stratum: with ``stratify=True`` a source's stratum is the set of classes among its videos (all-real,
all-fake, or mixed), so a resample keeps the class balance of the data and AUC is defined in every
resample of data that has both classes. Without groups every video is its own source, and this is
the ordinary class-stratified bootstrap.

A resample is held as counts per video (``[B, N]``: how often each video was drawn). Metrics that
have a vectorised form (declared in `benchmark.metric_catalog`, e.g. AUC's in
`benchmark.resampled`) are computed from the counts directly; any other metric is called on
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
from functools import partial
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from benchmark import metrics as M
from benchmark.metric_catalog import CATALOG, Metric
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


# the closed-form AUC jackknife (BCa's acceleration); the resample forms are declared with each
# metric (`benchmark.metric_catalog.Metric.vectorised`)
VECTORISED_JACKKNIFE: dict[Callable, Callable[..., np.ndarray]] = {M.roc_auc: _auc_jackknife}


def _fast(metric_fn: MetricFn | Metric):
    """The vectorised form of ``metric_fn``, or None: a catalog `Metric`'s own, else the form
    declared for the function (or for the function of a keywords-only partial, which passes its
    keywords on)."""
    if isinstance(metric_fn, Metric):
        return None if metric_fn.vectorised is None else metric_fn.on_counts
    func, keywords = metric_fn, {}
    if isinstance(metric_fn, partial) and not metric_fn.args:
        func, keywords = metric_fn.func, dict(metric_fn.keywords)
    form = CATALOG.vectorised_for(func)
    if form is None:
        return None
    return lambda y, s, counts: form(y, s, counts, **keywords)


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
    if isinstance(metric_fn, Metric):
        metric_fn = metric_fn.fn
    return getattr(metric_fn, "__name__", None) or getattr(getattr(metric_fn, "func", None),
                                                           "__name__", repr(metric_fn))
