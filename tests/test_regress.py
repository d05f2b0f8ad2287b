"""vbench regress: one-sided checks with bounds from the baseline's own intervals, and refusals."""
import json
from pathlib import Path

import pandas as pd
import pytest

from benchmark import report
from benchmark.cli import main
from benchmark.regress import bound, check, load_baseline, make_baseline
from benchmark.errors import DataError
from tests.test_report import make_run


def _write(tmp_path: Path, run_dir: Path) -> Path:
    base = tmp_path / "baselines"
    assert main(["regress", str(run_dir), "--baseline", str(base), "--write-baseline"]) == 0
    return base


def test_unchanged_run_passes_and_improvement_never_fails(tmp_path: Path, capsys) -> None:
    run = make_run(tmp_path, "a", "m", 2.0, 1)
    base = _write(tmp_path, run)
    file = base / "cross_generator" / "m-mini.json"
    data = json.loads(file.read_text())
    assert data["data"]["manifest_hash"] == "h1" and data["made_by"]["run_ids"] == ["a"]
    assert main(["regress", str(run), "--baseline", str(base), "--out", str(tmp_path / "v")]) == 0
    assert "passed" in (tmp_path / "v" / "verdict.md").read_text()
    better = make_run(tmp_path, "b", "m", 6.0, 1)  # same videos, clearly better scores
    assert main(["regress", str(better), "--baseline", str(base), "--out", str(tmp_path / "v")]) == 0


def test_regression_fails_naming_method_and_metric(tmp_path: Path, capsys) -> None:
    base = _write(tmp_path, make_run(tmp_path, "a", "m", 4.0, 1))
    worse = make_run(tmp_path, "b", "m", 0.0, 1)
    assert main(["regress", str(worse), "--baseline", str(base), "--out", str(tmp_path / "v")]) == 1
    verdict = json.loads((tmp_path / "v" / "verdict.json").read_text())
    assert not verdict["passed"] and "mean_auc_unseen" in verdict["verdicts"][0]["regressions"]
    md = (tmp_path / "v" / "verdict.md").read_text()
    assert "FAILED" in md and "**m/mini**" in md and "mean_auc_unseen" in md


def test_bounds_come_from_the_interval_or_the_file() -> None:
    entry = {"value": 0.9, "low": 0.86, "high": 0.94, "higher_is_better": True}
    limit, why = bound(entry, 1)
    assert limit == pytest.approx(0.9 - 1.6448536 * 0.04 / 1.959964, abs=1e-6)
    assert "Bonferroni over 1" in why
    assert bound({**entry, "tolerance": 0.01}, 10)[0] == pytest.approx(0.89)
    lower = bound({"value": 0.1, "low": 0.08, "high": 0.12, "higher_is_better": False}, 1)[0]
    assert lower > 0.1  # lower-is-better: the bound lies above
    assert bound({"value": 0.9}, 1) == (None, "no interval recorded: not checked")


def test_baselines_of_other_data_protocol_or_damaged_are_refused(tmp_path: Path, capsys) -> None:
    run = report.load_run(make_run(tmp_path, "a", "m", 2.0, 1))
    data = make_baseline([run])
    with pytest.raises(DataError, match=r"manifest other_hash\) is not the run's \(manifest h1\)"):
        check(run, {**data, "data": {"manifest_hash": "other_hash"}}, "b.json")
    with pytest.raises(DataError, match="a baseline for protocol 'robustness'"):
        check(run, {**data, "protocol": "robustness"}, "b.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="not a readable baseline"):
        load_baseline(bad)
    bad.write_text(json.dumps({"format": 1, "metrics": {"auc": {"value": "high"}}}))
    with pytest.raises(DataError, match="metric 'auc' has no numeric 'value'"):
        load_baseline(bad)
    run_dir = make_run(tmp_path, "c", "m", 2.0, 1)
    (run_dir / "scores.parquet").unlink()
    assert main(["regress", str(run_dir), "--baseline", str(bad)]) == 2
    assert "lacks scores.parquet" in capsys.readouterr().err


def test_fixed_weights_score_drift_is_caught(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "a", "m", 2.0, 1)
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**info, "weights": {"sha256": "abc", "kind": "file"}}))
    run = report.load_run(run_dir)
    data = make_baseline([run])
    assert data["video_scores"] and check(run, data, "b")["regressions"] == []
    scores = pd.read_parquet(run_dir / "scores.parquet")
    scores["score"] = (scores["score"] * 0.9).clip(0, 1)  # e.g. inputs no longer normalised
    scores.to_parquet(run_dir / "scores.parquet")
    from protocols import cross_generator  # a run's metrics are those of its own scores

    results = cross_generator.metrics(scores, {"mode": "one_vs_all"})
    (run_dir / "metrics.json").write_text(json.dumps(results))
    assert "score_drift" in check(report.load_run(run_dir), data, "b")["regressions"]


def test_a_trained_run_and_a_fixed_weights_run_never_share_a_baseline(tmp_path: Path) -> None:
    """The gate trains StA and also evaluates its stored reference model: one method, one config,
    two different checks. Written together they go to two files; made into one, refused."""
    trained = make_run(tmp_path, "a", "m", 2.0, 1)
    fixed = make_run(tmp_path, "b", "m", 2.0, 1)
    info = json.loads((fixed / "run.json").read_text())
    (fixed / "run.json").write_text(json.dumps({**info, "weights": {"sha256": "abc", "kind": "stored"}}))
    base = tmp_path / "baselines"
    assert main(["regress", str(trained), str(fixed), "--baseline", str(base), "--write-baseline"]) == 0
    plain = json.loads((base / "cross_generator" / "m-mini.json").read_text())
    reference = json.loads((base / "cross_generator" / "m-mini.reference.json").read_text())
    assert plain["made_by"]["run_ids"] == ["a"] and plain["video_scores"] is None
    assert reference["made_by"]["run_ids"] == ["b"] and reference["video_scores"]
    with pytest.raises(DataError, match="evaluated fixed weights"):
        make_baseline([report.load_run(trained), report.load_run(fixed)])
    assert main(["regress", str(trained), str(fixed), "--baseline", str(base),
                 "--out", str(tmp_path / "v")]) == 0
