"""benchmark.seed_stats on synthetic cases whose answer is known in closed form."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from benchmark import seed_stats as SS
from benchmark.intervals import SETTINGS, binary_intervals
from benchmark.metric_catalog import CATALOG

B = SETTINGS["n_resamples"]
Z = float(sps.norm.ppf(0.975))


def _width(reps: np.ndarray) -> float:
    band = SS.over_seeds(list(reps[:, 0]), reps)["interval"]
    return band["high"] - band["low"]


def test_seed_variance_alone_gives_the_normal_theory_width_of_the_seed_mean() -> None:
    """Zero test noise (every replicate of a seed equals its value), seed effects N(0, 0.05²):
    the interval of the mean of S = 400 seeds is 2·z·sd/√S wide (t ≈ z at 399 degrees of freedom),
    with sd the plug-in sd the bootstrap sees (ddof 0)."""
    rng = np.random.default_rng(3)
    effects = 0.8 + rng.normal(0, 0.05, 400)
    reps = np.repeat(effects[:, None], B, axis=1)  # [S, B]
    expected = 2 * float(sps.t.ppf(0.975, 399)) * effects.std(ddof=0) / np.sqrt(400)
    assert _width(reps) == pytest.approx(expected, rel=0.08)


def test_few_seeds_give_a_narrower_interval_than_t_theory() -> None:
    """With 5 seeds the percentile bootstrap sees the plug-in variance and normal-like quantiles:
    its width is about sqrt(4/5)·1.96/2.776 ≈ 0.63 of Student's t interval (documented)."""
    rng = np.random.default_rng(4)
    ratios = []
    for _ in range(30):
        effects = rng.normal(0, 0.05, 5)
        reps = np.repeat(effects[:, None], B, axis=1)
        t_width = 2 * float(sps.t.ppf(0.975, 4)) * effects.std(ddof=1) / np.sqrt(5)
        ratios.append(_width(reps) / t_width)
    assert 0.45 < float(np.median(ratios)) < 0.75


def test_shared_test_noise_adds_to_the_seed_variance() -> None:
    """Seed effects N(0, σ²) and test noise u_b N(0, τ²) shared by every seed in replicate b (the
    same resampled videos): the interval is 2·z·sqrt(σ̂²/S + τ²) wide."""
    rng = np.random.default_rng(5)
    effects, noise = rng.normal(0, 0.1, 100), rng.normal(0, 0.02, B)
    reps = effects[:, None] + noise[None, :]
    expected = 2 * Z * np.sqrt(effects.var(ddof=0) / 100 + noise.var())
    assert _width(reps) == pytest.approx(expected, rel=0.1)


def _cell(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], 40)
    return pd.DataFrame({"video_id": [f"v{i}" for i in range(80)], "label": y,
                         "score": np.clip(0.4 + 0.2 * y + rng.normal(0, 0.2, 80), 0, 1),
                         "source_id": [f"s{i // 2}" for i in range(80)]})


def test_zero_seed_variance_collapses_to_the_single_run_interval() -> None:
    """Three seeds with the same scores: the combined AUC interval is the single run's."""
    cell, auc = _cell(), CATALOG.get("auc")
    per_seed = [SS.cell_replicates(cell, auc) for _ in range(3)]
    values, reps = [v for v, _ in per_seed], np.stack([r for _, r in per_seed])
    result = SS.over_seeds(values, reps)
    y, s = cell["label"].to_numpy(), cell["score"].to_numpy()
    single = binary_intervals(y, s, cell["source_id"].to_numpy(), {"auc": 1.0})["auc"]
    assert result["interval"] == pytest.approx(single, abs=1e-12)
    assert result["sd"] == 0.0 and result["min"] == result["max"] == result["mean"]


def test_spread_is_numpy_mean_sd_min_max_and_refuses_a_missing_seed() -> None:
    values = [0.61, 0.7, 0.93]
    got = SS.spread(values)
    assert got["mean"] == pytest.approx(np.mean(values))
    assert got["sd"] == pytest.approx(np.std(values, ddof=1))
    assert (got["min"], got["max"]) == (0.61, 0.93)
    assert SS.spread([0.6, None])["mean"] is None


def test_a_group_paired_with_itself_differs_by_zero() -> None:
    auc = CATALOG.get("auc")
    cells = [_cell(seed) for seed in range(3)]
    parts = [SS.paired_cell_replicates(c, c, auc) for c in cells]
    result = SS.paired_over_seeds([p[0] for p in parts], [p[1] for p in parts],
                                  np.stack([p[2] for p in parts]))
    assert result["difference"] == 0.0 and result["low"] == result["high"] == 0.0
    assert result["p_value"] == 1.0


def test_a_shift_on_every_seed_is_significant() -> None:
    """Run b's scores are a's pushed towards chance on each of 4 seeds: a - b > 0, p small."""
    auc = CATALOG.get("auc")
    parts = []
    for seed in range(4):
        a = _cell(seed)
        b = a.assign(score=0.5 * a["score"] + 0.5 * np.random.default_rng(seed + 9).random(len(a)))
        parts.append(SS.paired_cell_replicates(a, b, auc))
    result = SS.paired_over_seeds([p[0] for p in parts], [p[1] for p in parts],
                                  np.stack([p[2] for p in parts]))
    assert result["low"] > 0 and result["p_value"] < 0.05
    assert result["difference"] == pytest.approx(np.mean(result["per_seed"]))
