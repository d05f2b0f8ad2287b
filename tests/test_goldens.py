"""Numerical goldens: every registered detector's clip scores on fixed clips with seeded weights.

A failure means a detector's numbers moved (see benchmark/goldens.py). If the change is
deliberate, ``python tools/update_goldens.py`` rewrites the goldens and prints what moved.
"""
from __future__ import annotations

import json

import pytest
import torch

from benchmark import goldens as G
from benchmark.registry import registry

CASES = [pytest.param(m, c, marks=[pytest.mark.slow] if c == "paper" else [], id=f"{m}-{c}")
         for m, c in G.golden_cases()]


@pytest.mark.parametrize("method, config", CASES)
def test_scores_match_the_golden(method, config):
    golden = G.load(method, config)
    assert golden is not None, (f"no golden for {method}/{config}: run "
                                f"python tools/update_goldens.py --method {method}")
    detector = G.golden_detector(method, config)
    fresh = G.compute(method, config, detector)
    diff = G.max_difference(golden, fresh)
    assert max(diff.values()) <= G.ATOL, (
        f"{method}/{config}: scores moved by {diff} (tolerance {G.ATOL}): golden "
        f"{golden['clip_scores']}, now {fresh['clip_scores']}. If the change is deliberate, "
        f"python tools/update_goldens.py --method {method} rewrites the golden")
    if config == "mini":  # the golden can see a config normalisation change of one grey level
        _assert_sees_a_mean_shift(detector, torch.tensor(fresh["clip_scores"]))


def _assert_sees_a_mean_shift(detector, base: torch.Tensor) -> None:
    clips = G.golden_clips(tuple(detector.clip_shape))
    mean = detector.model.data_preprocessor.mean
    mean += 1.0  # [3, 1, 1, 1] on the 0-255 scale
    try:
        moved = float((detector.clip_scores(clips) - base).abs().max())
    finally:
        mean -= 1.0
    assert moved > 10 * G.ATOL, f"scores moved only {moved:.2g} when the mean moved one level"


def test_every_registered_config_has_a_golden_file():
    expected = {f"{m}-{c}.json" for m in registry().keys(kind="detector") for c in ("mini", "paper")
                if (m, c) not in G.SKIPPED}
    present = {p.name for p in G.GOLDEN_DIR.glob("*.json")}
    assert expected <= present, f"missing goldens: {sorted(expected - present)}"
    assert present <= expected, f"goldens of no registered config: {sorted(present - expected)}"
    for name in present:
        record = json.loads((G.GOLDEN_DIR / name).read_text())
        scores = torch.tensor(record["clip_scores"])
        # saturated scores would hide changes: the seeded weights keep them away from 0 and 1
        assert ((scores > 0.01) & (scores < 0.99)).all(), f"{name}: saturated scores {scores}"


def test_seeded_weights_ignore_the_build_order_rng_and_fill_every_tensor():
    from benchmark.detector import build_detector

    states = []
    for seed in (0, 1):
        torch.manual_seed(seed)  # a different default initialisation
        detector = build_detector("sta", "mini")
        G.seeded_weights(detector.model)
        states.append(detector.model.state_dict())
    for key, value in states[0].items():
        assert torch.equal(value, states[1][key]), key
        if value.dtype.is_floating_point and value.numel() > 1:
            # StA's adapters start at zero; after seeding every tensor varies
            assert float(value.std()) > 0, f"{key} is constant"


def test_goldens_do_not_depend_on_the_thread_count():
    method = "mmvgm_xclip"  # the cheapest; it has a BatchNorm to calibrate too
    before = torch.get_num_threads()
    try:
        records = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            records.append(G.compute(method, "mini"))
    finally:
        torch.set_num_threads(before)
    assert max(G.max_difference(*records).values()) <= G.ATOL / 10


def test_update_tool_reports_and_rewrites_moved_goldens(tmp_path, monkeypatch, capsys):
    from tools import update_goldens

    monkeypatch.setattr(G, "GOLDEN_DIR", tmp_path)
    src = G.REPO / "tests" / "goldens" / "mmvgm_xclip-mini.json"
    record = json.loads(src.read_text())
    record["clip_scores"][0] += 1e-3  # a moved score
    (tmp_path / "mmvgm_xclip-mini.json").write_text(json.dumps(record))
    args = ["--method", "mmvgm_xclip", "--config", "mini"]
    assert update_goldens.main([*args, "--check"]) == 1
    out = capsys.readouterr().out
    assert "MOVED (clip_scores max |diff| 0.001" in out and "tolerance 1e-05" in out
    assert json.loads((tmp_path / "mmvgm_xclip-mini.json").read_text()) == record  # --check
    assert update_goldens.main(args) == 0
    rewritten = json.loads((tmp_path / "mmvgm_xclip-mini.json").read_text())
    assert rewritten["clip_scores"] == pytest.approx(json.loads(src.read_text())["clip_scores"],
                                                     abs=G.ATOL)
    assert update_goldens.main([*args, "--check"]) == 0
    assert "same" in capsys.readouterr().out
