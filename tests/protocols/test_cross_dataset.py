"""cross_dataset: plumbing on placeholder datasets (a fake model), bad inputs, and real tiny runs
(StA on tiny builds of both embedded corpora; a cross_generator model evaluated via --weights)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from benchmark.cli import main
from benchmark.runner import RunRequest, execute
from protocols import cross_dataset
from tests.run_helpers import assert_refused, install_fake_model, placeholder_manifest


def _dataset(root: Path, name: str, generators=("g1", "g2"), per: int = 3, ids: str | None = None) -> Path:
    """A placeholder dataset named ``name`` whose video ids start with ``ids`` (default the name)."""
    prefix = f"{name}/" if ids is None else ids
    return placeholder_manifest(root / name, list(generators), per, prefix=prefix,
                                dataset=lambda g, i: name)


@pytest.fixture()
def fake_model(monkeypatch):
    return install_fake_model(monkeypatch)


def _run(data: str, tmp_path: Path, **kw) -> Path:
    return execute(RunRequest(protocol="cross_dataset", method="sta", data=data,
                              out=str(tmp_path / "runs"), progress=False, workers=0, **kw))


def test_trains_on_each_dataset_and_tests_on_every_one(tmp_path, fake_model):
    a, b = _dataset(tmp_path, "A"), _dataset(tmp_path, "B", ("g1", "g3"))
    report = _run(f"{a},{b}", tmp_path)
    assert fake_model["train"] == ["A", "B"]
    for (train_rows, val_rows, task), name in zip(fake_model["rows"], "AB"):
        assert set(train_rows["dataset"]) == {name} and set(train_rows["split"]) == {"train"}
        assert set(val_rows["dataset"]) == {name} and set(val_rows["split"]) == {"val"}
        assert task == "binary"
    scores = pd.read_parquet(report.parent / "scores.parquet")
    for unit in "AB":
        part = scores[scores["unit"] == unit]
        assert set(part.loc[part["split"] == "test", "dataset"]) == {"A", "B"}
        assert set(part.loc[part["split"] == "val", "dataset"]) == {unit}  # own val: thresholds
    results = json.loads((report.parent / "metrics.json").read_text())
    assert results["auc_matrix"]["rows"] == ["A", "B"] and results["auc_matrix"]["cols"] == ["A", "B"]
    inside = {(r["train_set"], r["test_set"]): r["in_domain"] for r in results["rows"]}
    assert inside == {("A", "A"): True, ("A", "B"): False, ("B", "A"): False, ("B", "B"): True}
    controls = results.pop("controls")  # the runner's shortcut controls (benchmark/controls.py)
    assert set(controls) == {"real_vs_real"}
    results.pop("cost")  # measured by the run, not computed from scores (tests/test_cost_meter.py)
    assert results == json.loads(json.dumps({**cross_dataset.metrics(scores, {}),
                                             "protocol": results["protocol"]}))


def test_metrics_and_drop_match_a_reference(tmp_path, fake_model):
    a, b = _dataset(tmp_path, "A"), _dataset(tmp_path, "B", ("g1", "g3"))
    report = _run(f"{a},{b}", tmp_path)
    scores = pd.read_parquet(report.parent / "scores.parquet")
    results = json.loads((report.parent / "metrics.json").read_text())
    auc = {}
    for (unit, dataset), part in scores[scores["split"] == "test"].groupby(["unit", "dataset"]):
        auc[unit, dataset] = skm.roc_auc_score(part["label"], part["score"])
    for row in results["rows"]:
        assert row["auc"] == pytest.approx(auc[row["train_set"], row["test_set"]])
    for drop in results["drops"]:
        unit, other = drop["train_set"], "B" if drop["train_set"] == "A" else "A"
        assert drop["auc_drop"] == pytest.approx(auc[unit, unit] - auc[unit, other])
    assert results["summary"]["mean_auc_cross"] == pytest.approx(np.mean([auc["A", "B"], auc["B", "A"]]))
    assert results["summary"]["mean_auc_in"] == pytest.approx(np.mean([auc["A", "A"], auc["B", "B"]]))


def test_run_records_every_dataset_and_the_key_covers_them(tmp_path, fake_model):
    a, b = _dataset(tmp_path, "A"), _dataset(tmp_path, "B")
    report = _run(f"{a},{b}", tmp_path)
    info = json.loads((report.parent / "run.json").read_text())
    assert [d["name"] for d in info["datasets"]] == ["manifest", "manifest"]
    assert [d["datasets"] for d in info["datasets"]] == [["A"], ["B"]]
    assert [d["spec"] for d in info["datasets"]] == [str(a), str(b)]
    assert info["dataset"] == "A+B" and info["data_source"] == f"{a},{b}"
    manifest = pd.read_csv(report.parent / "manifest.csv")
    assert manifest["source_id"].str.match(r"^[AB]:").all()  # qualified by their dataset
    other = _dataset(tmp_path / "other", "B", ("g1", "g9"))
    again = _run(f"{a},{other}", tmp_path)
    assert again.parent != report.parent  # another second dataset: another run key


def test_train_on_restricts_training(tmp_path, fake_model):
    a, b = _dataset(tmp_path, "A"), _dataset(tmp_path, "B")
    report = _run(f"{a},{b}", tmp_path, options={"train_on": "B"})
    assert fake_model["train"] == ["B"]
    assert json.loads((report.parent / "metrics.json").read_text())["auc_matrix"]["cols"] == ["A", "B"]


@pytest.mark.parametrize("case, needles", [
    ("named_twice", ["dataset", "is named twice"]),
    ("ids_collide", ["12 video_id(s) occur in both", "'shared/g1/0'"]),
    ("same_dataset_value", ["dataset 'A' comes from both"]),
    ("one_dataset", ["needs videos of at least two datasets", "['A']"]),
    ("unknown_option", ["Unknown option of protocol 'cross_dataset' 'train'", "train_on"]),
    ("unknown_train_on", ["Unknown dataset in option train_on 'C'", "Available: A, B"]),
    ("no_val_fakes", ["B", "the val split has no generated/fake videos"]),
    ("empty_part", ["an empty name between commas"]),
])
def test_bad_input_is_refused_before_training(tmp_path, capsys, fake_model, case, needles):
    a, b = _dataset(tmp_path, "A"), _dataset(tmp_path, "B")
    data, extra = f"{a},{b}", []
    if case == "named_twice":
        data = f"{a},{b},{tmp_path / 'A' / '.' / 'manifest.csv'}"
    elif case == "ids_collide":
        data = f"{_dataset(tmp_path / 'x', 'A', ids='shared/')},{_dataset(tmp_path / 'y', 'B', ids='shared/')}"
    elif case == "same_dataset_value":
        data = f"{a},{_dataset(tmp_path / 'z', 'A', ids='other/')}"
    elif case == "one_dataset":
        data = str(a)
    elif case == "unknown_option":
        extra = ["--option", "train=A"]
    elif case == "unknown_train_on":
        extra = ["--option", "train_on=C"]
    elif case == "no_val_fakes":
        frame = pd.read_csv(b)
        frame = frame[~((frame["dataset"] == "B") & (frame["split"] == "val") & (frame["label"] == 1))]
        frame.to_csv(b, index=False)
    elif case == "empty_part":
        data = f"{a},,{b}"
    assert_refused(capsys, ["run", "--protocol", "cross_dataset", "--method", "sta", "--data", data,
                            "--out", str(tmp_path / "runs"), "--no-progress", *extra], needles,
                   tmp_path / "runs", fake_model)


def test_one_class_test_split_gives_undefined_metrics_with_reason():
    rows = [(f"a{i}", "A", "g1", 1, "test", 0.2 + 0.1 * i) for i in range(4)]  # A: fakes only
    rows += [(f"b{i}", "B", "real" if i % 2 else "g1", i % 2 == 0, "test", 0.1 * i) for i in range(6)]
    rows += [("v0", "A", "real", 0, "val", 0.1), ("v1", "A", "g1", 1, "val", 0.8)]
    scores = pd.DataFrame(rows, columns=["video_id", "dataset", "generator", "label", "split", "score"])
    scores = scores.assign(label=scores["label"].astype(int), status="ok", unit="A",
                           train_datasets=[["A"]] * len(scores))
    results = cross_dataset.metrics(scores, {})
    by_test = {r["test_set"]: r for r in results["rows"]}
    assert by_test["A"]["auc"] is None and "only class 'fake'" in by_test["A"]["note"]
    assert by_test["B"]["auc"] is not None
    (drop,) = results["drops"]
    assert drop["auc_drop"] is None and "undefined" in drop["note"]


# ----------------------------------------------------------------------------- real tiny runs
FAST = ["--cfg-options", "train.epochs=1", "train.batch_size=4", "model.backbone.layers=1"]


@pytest.fixture(scope="module")
def tiny_pair(tiny_manifest, tmp_path_factory):
    """Tiny builds of both embedded corpora (real + three generators of vbench-mini)."""
    from benchmark.data.footage import FootageSpec, build_footage
    from benchmark.data.manifest import load_manifest, save_manifest

    root = tmp_path_factory.mktemp("pair")
    mini = load_manifest(str(tiny_manifest))
    mini = mini[mini["generator"].isin(["real", "latent_ae", "frame_interp", "flicker"])
                & (mini["video_id"] != "videos/real/broken")]  # exit 3 is tested elsewhere
    save_manifest(mini, root / "mini.csv")
    footage = build_footage(root / "cache", progress=False, workers=1,
                            spec=FootageSpec(n_real=9, n_fake_per_generator=3, frames=16,
                                             width=72, height=48))
    return root / "mini.csv", footage


@pytest.mark.slow
def test_real_run_and_a_cross_generator_model_on_the_other_dataset(tiny_pair, tmp_path):
    mini, footage = tiny_pair
    out = ["--out", str(tmp_path / "runs"), "--no-progress", "--workers", "0"]
    assert main(["run", "--protocol", "cross_dataset", "--method", "sta", "--data",
                 f"{mini},{footage}", *out, *FAST]) == 0
    run_dir = next((tmp_path / "runs").glob("cross_dataset/sta-mini/*"))
    results = json.loads((run_dir / "metrics.json").read_text())
    assert results["auc_matrix"]["rows"] == ["vbench-mini", "vbench-mini-footage"]
    assert all(r["auc"] is not None for r in results["rows"])
    assert "In-domain → cross-domain" in (run_dir / "report.html").read_text()
    # a model trained by cross_generator on vbench-mini, tested on the footage corpus
    assert main(["run", "--protocol", "cross_generator", "--method", "sta", "--data", str(mini),
                 *out, *FAST]) == 0
    trained = next((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    assert main(["run", "--protocol", "cross_dataset", "--method", "sta", "--data", str(footage),
                 "--weights", f"{trained}:flicker", *out, *FAST]) == 0  # the trained shape
    runs = sorted((tmp_path / "runs").glob("cross_dataset/sta-mini/*"), key=lambda p: p.stat().st_mtime)
    evaluated = json.loads((runs[-1] / "metrics.json").read_text())
    (row,) = evaluated["rows"]
    assert row["train_set"] == "cross_generator:flicker" and row["test_set"] == "vbench-mini-footage"
    assert row["in_domain"] is False and row["auc"] is not None
    assert evaluated["drops"][0]["note"].startswith("no in-domain test set")
    info = json.loads((runs[-1] / "run.json").read_text())
    assert info["weights"]["unit"] == "flicker" and info["models"] == {}
