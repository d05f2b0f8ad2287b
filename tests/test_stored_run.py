"""The reader of stored runs: report, compare and regress refuse a damaged run before writing."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.errors import DataError
from benchmark.recompute import first_difference
from benchmark.runner import RunRequest, execute
from benchmark.score_table import check_table
from benchmark.stored_run import load_run
from tests.run_helpers import install_fake_model, placeholder_manifest
from tests.test_report import make_run


def _edit_scores(run_dir: Path, edit) -> None:
    scores = pd.read_parquet(run_dir / "scores.parquet")
    edit(scores).to_parquet(run_dir / "scores.parquet", index=False)


def _edit_json(run_dir: Path, name: str, edit) -> None:
    data = json.loads((run_dir / name).read_text())
    edit(data)
    (run_dir / name).write_text(json.dumps(data))


def _text_scores(s):
    return s.assign(score=[f"{v:.4f}x" for v in s["score"]])


def _scores_out_of_range(s):
    return s.assign(score=s["score"] * 7 - 3)


def _text_labels(s):
    return s.assign(label=s["label"].astype(str))


def _ragged(results):
    results["auc_matrix"]["values"][0].pop()


def _edited_summary(results):
    results["summary"]["mean_auc_unseen"] += 0.01


DAMAGES = {  # name -> (damage, what the one error line must say)
    "score holds text": (lambda d: _edit_scores(d, _text_scores),
                         ["scores.parquet: column 'score' holds text", "expected numbers"]),
    "score outside [0, 1]": (lambda d: _edit_scores(d, _scores_out_of_range),
                             ["scores.parquet: column 'score' holds", "outside [0, 1]",
                              "expected P(generated)"]),
    "labels as text": (lambda d: _edit_scores(d, _text_labels),
                       ["scores.parquet: column 'label' holds text", "expected the integers 0 and 1"]),
    "ragged AUC matrix": (lambda d: _edit_json(d, "metrics.json", _ragged),
                          ["metrics.json: key auc_matrix.values[0] holds 1 items",
                           "recomputing cross_generator's metrics", "gives 2 items"]),
    "metrics edited by hand": (lambda d: _edit_json(d, "metrics.json", _edited_summary),
                               ["metrics.json: key summary.mean_auc_unseen holds",
                                "does not match the stored scores"]),
    "run not complete": (lambda d: _edit_json(d, "run.json", lambda i: i.update(status="failed",
                                                                                 error="boom")),
                         ["run.json: the run is not complete", "key status is 'failed'", "boom",
                          "expected 'complete'"]),
    "run.json truncated": (lambda d: (d / "run.json").write_text('{"run_id": "b", "prot'),
                           ["run.json: cannot read JSON"]),
    "scores.parquet not parquet": (lambda d: (d / "scores.parquet").write_text("not parquet"),
                                   ["scores.parquet: cannot read table"]),
    "unknown protocol": (lambda d: _edit_json(d, "run.json", lambda i: i.update(protocol="x_gen")),
                         ["run.json: key protocol: Unknown protocol 'x_gen'"]),
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> dict[str, Path]:
    """Two good runs of one method over the same videos, and a baseline written from the first."""
    root = tmp_path_factory.mktemp("stored")
    runs = {name: make_run(root, name, "m", 2.0, seed) for name, seed in (("a", 1), ("b", 2))}
    assert main(["regress", str(runs["a"]), "--baseline", str(root / "baselines"),
                 "--write-baseline"]) == 0
    return {**runs, "baselines": root / "baselines"}


def _commands(a: Path, b: Path, baselines: Path, out: Path) -> dict[str, list[str]]:
    return {"report": ["report", str(a), str(b), "--out", str(out)],
            "compare": ["compare", str(a), str(b), "--out", str(out)],
            "regress": ["regress", str(a), str(b), "--baseline", str(baselines), "--out", str(out)],
            "regress --write-baseline": ["regress", str(a), str(b), "--baseline",
                                         str(out / "baselines"), "--write-baseline"]}


@pytest.mark.parametrize("command", ["report", "compare", "regress", "regress --write-baseline"])
@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_run_is_refused_in_one_line_and_nothing_is_written(
        stored, tmp_path, capsys, command, damage):
    damaged = tmp_path / "b"
    shutil.copytree(stored["b"], damaged)
    damage_fn, needles = DAMAGES[damage]
    damage_fn(damaged)
    baselines = tmp_path / "baselines"
    shutil.copytree(stored["baselines"], baselines)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    out = tmp_path / "out"
    capsys.readouterr()
    code = main(_commands(stored["a"], damaged, baselines, out)[command])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.err.startswith("vbench: error:") and captured.err.count("\n") == 1, captured.err
    assert str(damaged) in captured.err
    for needle in needles:
        assert needle in captured.err, captured.err
    assert not captured.out and not out.exists()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_good_runs_still_pass_every_command(stored, tmp_path) -> None:
    a, b = stored["a"], stored["b"]
    for command, argv in _commands(a, b, stored["baselines"], tmp_path / "out").items():
        assert main(argv) in (0, 1), command  # regress may find b worse than a's baseline


def test_failed_videos_may_lack_a_score_scored_ones_may_not(tmp_path) -> None:
    run_dir = make_run(tmp_path, "r", "m", 2.0, 1, n_failed=2)
    scores = load_run(run_dir).scores
    assert scores.loc[scores["status"] == "failed", "score"].isna().all()
    damaged = scores.copy()
    damaged.loc[damaged.index[0], "score"] = np.nan
    with pytest.raises(DataError, match=r"'score' is NaN for video 'real/val000' \(row 0.*status 'ok'"):
        check_table(damaged, "s.parquet")
    damaged = scores.assign(status=scores["status"].replace("failed", "broken"))
    with pytest.raises(DataError, match="'status' holds 'broken'.*expected one of ok, failed"):
        check_table(damaged, "s.parquet")
    with pytest.raises(DataError, match="'label' holds 2 .*expected 0 \\(real\\) or 1"):
        check_table(scores.assign(label=scores["label"] * 2), "s.parquet")
    with pytest.raises(DataError, match="'video_id' is empty"):
        check_table(scores.assign(video_id=""), "s.parquet")
    with pytest.raises(DataError, match="'prob_1' holds 1.5"):
        check_table(scores.assign(prob_0=0.5, prob_1=1.5), "s.parquet")
    with pytest.raises(DataError, match="'score' holds 0.9 .*outside \\[0, 0.5\\]"):
        check_table(scores.assign(score=0.9), "s.parquet", score_range=(0.0, 0.5))


def test_first_difference_names_the_key_path() -> None:
    stored = {"rows": [{"auc": 0.5, "ci": {"low": 0.4}}], "summary": {"n": 3}}
    assert first_difference(stored, json.loads(json.dumps(stored))) is None
    assert first_difference({"a": float("nan")}, {"a": float("nan")}) is None
    assert first_difference({"a": 0.5}, {"a": 0.5 * (1 + 1e-12)}) is None  # rounding only
    fresh = {"rows": [{"auc": 0.5, "ci": {"low": 0.41}}], "summary": {"n": 3}}
    assert first_difference(stored, fresh) == ("rows[0].ci.low", "holds 0.4", "0.41")
    assert first_difference(stored, {**stored, "extra": 1}) == ("extra", "is missing", "1")
    assert first_difference({**stored, "extra": 1}, stored) == ("extra", "is present", "no such key")
    assert first_difference({"a": True}, {"a": 1})[0] == "a"  # a flag is not a count
    assert first_difference({"a": None}, {"a": 0.0})[0] == "a"


@pytest.mark.parametrize("protocol,options,generators", [
    ("cross_generator", {}, ["g1", "g2"]),
    ("cross_generator", {"mode": "leave_one_out"}, ["g1", "g2", "g3"]),
    ("source_tracing", {}, ["g1", "g2"]),
    ("source_tracing", {"leave_one_out": "true"}, ["g1", "g2", "g3"]),
])
def test_what_the_runner_stores_reads_back_and_recomputes(tmp_path, monkeypatch, protocol, options,
                                                         generators) -> None:
    """The checks hold for the runner's own files (its encoding, parquet's types), real-vs-real
    control rows included: every stored metric is recomputed equal."""
    install_fake_model(monkeypatch)
    data = placeholder_manifest(tmp_path, generators, per=6)
    report = execute(RunRequest(protocol=protocol, method="sta", data=str(data), options=options,
                                out=str(tmp_path / "runs"), progress=False, workers=0,
                                real_floor=protocol == "cross_generator"))
    run = load_run(report.parent)
    assert run.info["status"] == "complete" and len(run.scores)
