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
    for name in ("run.json", "scores.parquet", "metrics.json", "metrics.csv", "run.log", "report.html",
                 "manifest.csv"):
        assert (run_dir / name).is_file(), name
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "complete" and info["seed"] == 0
    assert info["versions"]["torch"] and info["git_commit"] and info["manifest_hash"]
    assert info["timings"]["total"] > 0 and info["device"] == "cpu"
    assert info["code"]["code_version"] == info["key_spec"]["code"]
    assert info["protocol_version"] == cross_generator.VERSION
    assert info["cfg_overrides"] == FAST
    # every trained unit saved its best-on-validation model, listed in run.json
    assert sorted(info["models"]) == sorted(u["name"] for u in info["units"])
    for entry in info["models"].values():
        assert (run_dir / entry["file"]).is_file() and entry["epoch"] == 1


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
    recomputed = cross_generator.metrics(scores, {"mode": "one_vs_all"})["rows"]
    assert recomputed == json.loads(json.dumps(results["rows"]))


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


def test_changed_code_version_invalidates_reuse(first_run, tiny_manifest, monkeypatch):
    tmp, report = first_run
    import benchmark.version

    monkeypatch.setattr(benchmark.version, "code_version", lambda extra=(): "0.1.0+othercode000")
    calls = []
    monkeypatch.setattr(cross_generator, "score", lambda ctx, unit: calls.append(unit) or 1 / 0)
    with pytest.raises(ZeroDivisionError):  # other code: a new run key, nothing reused
        execute(_request(tiny_manifest, tmp))
    assert len(calls) == 1
    # on explicit request the other version's scores are reused, and that is recorded
    again = execute(_request(tiny_manifest, tmp, reuse_across_versions=True))
    assert again.parent != report.parent
    info = json.loads((again.parent / "run.json").read_text())
    assert info["reused_from"]["run_id"].endswith(report.parent.name)
    assert "scores reused from" in again.read_text()
    same = pd.read_parquet(again.parent / "scores.parquet")
    assert same.equals(pd.read_parquet(report.parent / "scores.parquet"))


def test_stored_model_is_evaluated_on_other_data(first_run, tiny_manifest, tmp_path):
    tmp, report = first_run
    manifest = pd.read_csv(tiny_manifest)
    other = manifest[manifest["generator"].isin(["real", "flicker", "oversmooth"])].copy()
    other["dataset"] = "other"
    other_csv = tmp_path / "other.csv"
    other["path"] = [str((tiny_manifest.parent / p).resolve()) if not str(p).startswith("/") else p
                     for p in other["path"]]
    other.to_csv(other_csv, index=False)
    from benchmark.cli import main

    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--data", str(other_csv),
                 "--weights", f"{report.parent}:flicker", "--out", str(tmp_path / "runs"),
                 "--workers", "1", "--no-progress", "--max-failed-share", "0.5"])  # one broken video
    assert code == 0
    run_dir = next((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    results = json.loads((run_dir / "metrics.json").read_text())
    assert results["auc_matrix"]["rows"] == ["flicker"]  # the stored unit keeps its name ...
    seen = {r["test_set"]: r["seen"] for r in results["rows"]}
    assert seen == {"flicker": True, "oversmooth": False}  # ... and its training generators
    info = json.loads((run_dir / "run.json").read_text())
    assert info["weights"]["kind"] == "stored" and info["weights"]["unit"] == "flicker"
    assert info["models"] == {}  # evaluation only: nothing trained, nothing saved


def test_eval_only_with_weights(first_run, tiny_manifest, tmp_path, monkeypatch):
    import torch

    from benchmark.detector import build_detector
    from benchmark.registry import registry

    weights = tmp_path / "sta_mini.pth"
    detector = build_detector("sta", registry().get("sta").config("mini", FAST))
    torch.save({"state_dict": detector.official_state_dict()}, weights)
    monkeypatch.setattr(RunContext, "train", lambda *a, **k: pytest.fail("--weights must not train"))
    report = execute(_request(tiny_manifest, tmp_path, weights=str(weights)))
    results = json.loads((report.parent / "metrics.json").read_text())
    assert results["auc_matrix"]["rows"] == ["weights"]
    assert all(not row["seen"] for row in results["rows"])
    assert json.loads((report.parent / "run.json").read_text())["weights_sha256"]


def test_leave_one_out_mode_through_option(tiny_manifest, tmp_path):
    request = _request(tiny_manifest, tmp_path, options={"mode": "leave_one_out"})
    from benchmark.preflight import prepare

    ctx = prepare(request)
    names = [u.name for u in ctx.units]
    assert names[0].startswith("all-but-") and len(names) == 6
    assert all(len(u.members["train_generators"]) == 5 for u in ctx.units)


def test_train_sets_modes():
    gens = ["a", "b", "c"]
    assert cross_generator.train_sets(gens, "one_vs_all") == {"a": ["a"], "b": ["b"], "c": ["c"]}
    assert cross_generator.train_sets(gens, "leave_one_out") == {
        "all-but-a": ["b", "c"], "all-but-b": ["a", "c"], "all-but-c": ["a", "b"]}


def _table(rows):
    frame = pd.DataFrame(rows, columns=["video_id", "generator", "label", "split", "score", "status",
                                        "unit", "train_generators"])
    frame["train_generators"] = [[g] for g in frame["train_generators"]]
    frame["source_id"] = frame["video_id"]
    return frame


def test_one_class_test_split_gives_undefined_auc_with_reason():
    rng = np.random.default_rng(0)
    rows = [(f"v{i}", "g1", 1, "test", float(rng.random()), "ok", "g1", "g1") for i in range(5)]
    rows += [(f"r{i}", "real", 0, "val", 0.1, "ok", "g1", "g1") for i in range(3)]
    rows += [(f"f{i}", "g1", 1, "val", 0.9, "ok", "g1", "g1") for i in range(3)]
    result = cross_generator.metrics(_table(rows), {})
    (row,) = result["rows"]
    assert row["auc"] is None and row["eer"] is None
    assert "only class 'fake'" in row["note"]
    assert row["acc_at_val"] is not None and row["val_threshold"] is not None
    assert result["auc_matrix"]["values"] == [[None]]
    assert result["summary"]["mean_auc_unseen"] is None


def test_one_class_validation_gives_no_threshold_with_reason():
    rows = [("r0", "real", 0, "test", 0.2, "ok", "g1", "g1"), ("f0", "g1", 1, "test", 0.8, "ok", "g1", "g1"),
            ("f1", "g1", 1, "val", 0.9, "ok", "g1", "g1")]
    (row,) = cross_generator.metrics(_table(rows), {})["rows"]
    assert row["auc"] == 1.0 and row["acc_at_val"] is None
    assert "no validation threshold" in row["note"]


def test_cost_block_is_measured_in_the_run_and_shown_on_the_leaderboard(first_run):
    """run.json and metrics.json hold the same cost block, measured on the run's own
    evaluation: every scored row counted once, both timings positive, the evaluated model's
    parameters and the FLOPs of one of its clips; the leaderboard shows it as columns."""
    import torch

    from benchmark.cost import count_gflops, model_size
    from benchmark.detector import build_detector
    from benchmark.metric_catalog import CATALOG, COST_COLUMNS
    from benchmark.registry import registry

    run_dir = first_run[1].parent
    info = json.loads((run_dir / "run.json").read_text())
    cost = info["cost"]
    assert json.loads((run_dir / "metrics.json").read_text())["cost"] == cost
    scores = pd.read_parquet(run_dir / "scores.parquet")
    ok = scores[scores["status"] == "ok"]
    assert cost["n_videos"] == len(ok) and cost["n_clips"] == int(ok["n_clips"].sum())
    assert cost["decode_ms_per_video"] > 0 and cost["forward_ms_per_video"] > 0
    config = registry().get("sta").config("mini", overrides=FAST)
    detector = build_detector("sta", config)
    assert cost["params"] == model_size(detector.model)["params"]
    clip = torch.zeros((1, *cost["clip_shape"]), dtype=torch.uint8)
    assert cost["gflops_per_clip"] == pytest.approx(count_gflops(detector, clip), rel=1e-9)
    assert cost["gflops_per_video"] == pytest.approx(
        cost["gflops_per_clip"] * ok["n_clips"].sum() / len(ok), rel=1e-9)
    assert cost["peak_memory_mb"] > cost["model_memory_mb"] > 0
    assert cost["device"] == "cpu" and cost["threads"] == torch.get_num_threads()
    assert cost["workers"] == 1 and cost["note"] == ""
    # each unit's record is stored with its part, so a resumed run keeps what it measured
    parts = [json.loads(p.read_text())["cost"] for p in (run_dir / "parts").glob("*.json")]
    assert sum(p["n_videos"] for p in parts) == cost["n_videos"]
    board = pd.read_csv(run_dir / "leaderboard.csv")
    assert board.loc[0, "forward_ms_per_video"] == pytest.approx(cost["forward_ms_per_video"])
    assert board.loc[0, "params"] == cost["params"]
    for name in ("report.html", "report.md"):
        text = (run_dir / name).read_text()
        assert all(CATALOG.label(key) in text for key in COST_COLUMNS), name
