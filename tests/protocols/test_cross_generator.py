"""cross_generator end to end on a tiny generated corpus, plus its metric assembly on its own."""
import json

import numpy as np
import pandas as pd
import pytest

from benchmark.runner import RunContext, RunRequest, execute
from protocols import cross_generator

FAST = {"train.epochs": 1, "train.batch_size": 4}




def _request(tiny_manifest, tmp_path, **kw):
    options = {**FAST, **kw.pop("cfg_options", {})}
    return RunRequest(protocol="cross_generator", method="sta", data=str(tiny_manifest),
                      out=str(tmp_path / "runs"), workers=1, progress=False, cfg_options=options, **kw)


@pytest.fixture(scope="module")
def first_run(tiny_manifest, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    report = execute(_request(tiny_manifest, tmp))
    return tmp, report


def test_run_writes_every_artifact(first_run):
    _, report = first_run
    run_dir = report.parent
    for name in ("run.json", "scores.parquet", "metrics.json", "metrics.csv", "run.log", "report.html"):
        assert (run_dir / name).is_file(), name
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "complete" and info["seed"] == 0
    assert info["versions"]["torch"] and info["git_commit"] and info["manifest_hash"]
    assert info["timings"]["total"] > 0 and info["device"] == "cpu"


def test_scores_and_matrix_cover_every_generator(first_run):
    _, report = first_run
    scores = pd.read_parquet(report.parent / "scores.parquet")
    results = json.loads((report.parent / "metrics.json").read_text())
    generators = sorted(set(scores.loc[scores["label"] == 1, "generator"]))
    assert len(generators) >= 6
    assert results["auc_matrix"]["rows"] == generators  # one_vs_all: one train set per generator
    assert results["auc_matrix"]["cols"] == generators
    assert len(results["rows"]) == len(generators) ** 2
    assert set(scores["split"]) == {"val", "test"}  # never trained-on rows, val kept for thresholds
    ok = scores[scores["status"] == "ok"]
    assert ok["score"].between(0, 1).all()
    # every number in metrics.json can be recomputed from the score table alone
    assert cross_generator.metrics(scores)["rows"] == json.loads(json.dumps(results["rows"]))


def test_broken_video_is_recorded_not_fatal(first_run):
    _, report = first_run
    scores = pd.read_parquet(report.parent / "scores.parquet")
    broken = scores[scores["video_id"] == "videos/real/broken"]
    assert len(broken) and (broken["status"] == "failed").all()
    assert broken["error"].str.len().gt(0).all()
    assert json.loads((report.parent / "run.json").read_text())["n_failed"] == 1
    assert "videos/real/broken" in report.read_text()


def test_same_configuration_reuses_scores(first_run, tiny_manifest, monkeypatch):
    tmp, report = first_run
    def no_training(*args, **kwargs):
        raise AssertionError("a reused run must not train")
    monkeypatch.setattr(RunContext, "train", no_training)
    monkeypatch.setattr(RunContext, "predict", no_training)
    again = execute(_request(tiny_manifest, tmp))
    assert again == report
    assert "reusing stored scores" in (report.parent / "run.log").read_text()


def test_eval_only_with_weights(first_run, tiny_manifest, tmp_path, monkeypatch):
    import torch

    from benchmark.detector import build_detector

    weights = tmp_path / "sta_mini.pth"
    torch.save({"state_dict": build_detector("sta", "mini").official_state_dict()}, weights)
    monkeypatch.setattr(RunContext, "train", lambda *a, **k: pytest.fail("--weights must not train"))
    report = execute(_request(tiny_manifest, tmp_path, weights=str(weights)))
    results = json.loads((report.parent / "metrics.json").read_text())
    assert results["auc_matrix"]["rows"] == ["weights"]
    assert all(not row["seen"] for row in results["rows"])
    assert json.loads((report.parent / "run.json").read_text())["weights_sha256"]


def test_train_sets_modes():
    gens = ["a", "b", "c"]
    assert cross_generator.train_sets(gens, "one_vs_all") == {"a": ["a"], "b": ["b"], "c": ["c"]}
    assert cross_generator.train_sets(gens, "leave_one_out") == {
        "all-but-a": ["b", "c"], "all-but-b": ["a", "c"], "all-but-c": ["a", "b"]}


def _table(rows):
    return pd.DataFrame(rows, columns=["video_id", "generator", "label", "split", "score", "status",
                                       "train_set", "train_generators"])


def test_one_class_test_split_gives_undefined_auc_with_reason():
    rng = np.random.default_rng(0)
    rows = [(f"v{i}", "g1", 1, "test", float(rng.random()), "ok", "g1", "g1") for i in range(5)]
    rows += [(f"r{i}", "real", 0, "val", 0.1, "ok", "g1", "g1") for i in range(3)]
    rows += [(f"f{i}", "g1", 1, "val", 0.9, "ok", "g1", "g1") for i in range(3)]
    result = cross_generator.metrics(_table(rows))
    (row,) = result["rows"]
    assert row["auc"] is None and row["eer"] is None
    assert "only class 'fake'" in row["note"]
    assert row["acc_at_val"] is not None and row["val_threshold"] is not None
    assert result["auc_matrix"]["values"] == [[None]]
    assert result["summary"]["mean_auc_unseen"] is None


def test_one_class_validation_gives_no_threshold_with_reason():
    rows = [("r0", "real", 0, "test", 0.2, "ok", "g1", "g1"), ("f0", "g1", 1, "test", 0.8, "ok", "g1", "g1"),
            ("f1", "g1", 1, "val", 0.9, "ok", "g1", "g1")]
    (row,) = cross_generator.metrics(_table(rows))["rows"]
    assert row["auc"] == 1.0 and row["acc_at_val"] is None
    assert "no validation threshold" in row["note"]
