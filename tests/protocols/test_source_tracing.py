"""source_tracing: closed and open set on placeholder data (a fake model with known class
probabilities), the mmvgm9 preset, bad inputs, and a real tiny StA run."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from benchmark.cli import main
from benchmark.runner import RunRequest, execute
from protocols import source_tracing
from protocols.tracing_classes import MMVGM_LABELS
from tests.run_helpers import assert_refused, install_fake_model, placeholder_manifest

GENS = ["g1", "g2", "g3"]


@pytest.fixture()
def fake_model(monkeypatch):
    return install_fake_model(monkeypatch)


def _run(data, tmp_path: Path, **kw) -> Path:
    return execute(RunRequest(protocol="source_tracing", method="sta", data=str(data),
                              out=str(tmp_path / "runs"), progress=False, workers=0, **kw))


def _probs(part: pd.DataFrame, k: int) -> np.ndarray:
    return part[[f"prob_{i}" for i in range(k)]].to_numpy()


def test_closed_set_trains_k_classes_and_metrics_match_sklearn(tmp_path, fake_model):
    report = _run(placeholder_manifest(tmp_path, GENS), tmp_path)
    ((train_rows, val_rows, task),) = fake_model["rows"]
    assert task == "multiclass"
    index = {"real": 0, "g1": 1, "g2": 2, "g3": 3}
    assert (train_rows["label"] == train_rows["generator"].map(index)).all()  # class targets
    assert (val_rows["label"] == val_rows["generator"].map(index)).all()
    info = json.loads((report.parent / "run.json").read_text())
    assert info["units"][0]["members"]["classes"] == ["real", "g1", "g2", "g3"]
    scores = pd.read_parquet(report.parent / "scores.parquet")
    assert set(scores["split"]) == {"test"} and (scores["class_index"] == scores["generator"].map(index)).all()
    probs, y = _probs(scores, 4), scores["class_index"].to_numpy()
    assert scores["score"].to_numpy() == pytest.approx(1 - probs[:, 0])  # P(generated)
    results = json.loads((report.parent / "metrics.json").read_text())
    assert results["classes"] == {"closed set": index}
    (row,) = results["rows"]
    preds = probs.argmax(axis=1)
    assert row["accuracy"] == pytest.approx(skm.accuracy_score(y, preds))
    assert row["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, preds))
    assert row["macro_f1"] == pytest.approx(skm.f1_score(y, preds, average="macro"))
    assert row["top2_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, probs, k=2, labels=range(4)))
    (matrix,) = results["confusion"]
    assert matrix["counts"] == skm.confusion_matrix(y, preds, labels=range(4)).tolist()
    assert row["auroc_unknown"] is None and results["summary"]["balanced_accuracy"] == row["balanced_accuracy"]
    assert "Confusion matrix: closed set" in report.read_text()


def test_open_set_keeps_held_out_videos_out_of_training(tmp_path, fake_model):
    report = _run(placeholder_manifest(tmp_path, GENS), tmp_path, options={"held_out": "g2"})
    ((train_rows, val_rows, _),) = fake_model["rows"]
    assert "g2" not in set(train_rows["generator"]) | set(val_rows["generator"])
    assert set(train_rows["label"]) == {0, 1, 2}  # real, g1, g3
    scores = pd.read_parquet(report.parent / "scores.parquet")
    held = scores[scores["generator"] == "g2"]
    assert len(held) and (held["class_index"] == -1).all() and not held["known"].any()
    assert "prob_3" not in scores.columns  # a 3-way head: real, g1, g3
    unknown, probs = (~scores["known"]).astype(int), _probs(scores, 3)
    results = json.loads((report.parent / "metrics.json").read_text())
    (row,) = results["rows"]
    assert row["unit"] == "held out: g2" and row["n_unknown"] == len(held)
    assert row["auroc_unknown"] == pytest.approx(skm.roc_auc_score(unknown, 1 - probs.max(axis=1)))
    known = scores[scores["known"]]
    assert row["accuracy"] == pytest.approx(
        skm.accuracy_score(known["class_index"], _probs(known, 3).argmax(axis=1)))
    assert results["confusion"][0]["rows"][-1] == "g2 (held out)"


def test_leave_one_out_sweeps_every_generator(tmp_path, fake_model):
    report = _run(placeholder_manifest(tmp_path, GENS), tmp_path, options={"leave_one_out": "true"})
    assert fake_model["train"] == ["held out: g1", "held out: g2", "held out: g3"]
    for (train_rows, val_rows, _), gen in zip(fake_model["rows"], GENS):
        assert gen not in set(train_rows["generator"]) | set(val_rows["generator"])
    rows = json.loads((report.parent / "metrics.json").read_text())["rows"]
    assert [r["unit"] for r in rows] == fake_model["train"] and all(r["auroc_unknown"] is not None
                                                                   for r in rows)


def _folders(root: Path, names: list[str], per: int = 3) -> Path:
    for name in names:
        for i in range(per):
            path = root / name / f"clip{i}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{name}/{i}".encode())
    return root


MMVGM_FOLDERS = ["Hotshot-XL", "i2vgen-xl_i2v", "I2VGen_XL_t2v", "lavie", "SEINE", "show_1",
                 "svd_xt", "videocrafter_i2v", "VideoCrafter-t2v"]


def test_mmvgm9_preset_maps_folders_to_the_published_labels(tmp_path, fake_model):
    data = _folders(tmp_path / "gens", MMVGM_FOLDERS + ["real"])
    report = _run(data, tmp_path, options={"preset": "mmvgm9"})
    info = json.loads((report.parent / "run.json").read_text())
    assert info["units"][0]["members"]["classes"] == list(MMVGM_LABELS)
    scores = pd.read_parquet(report.parent / "scores.parquet")
    assert "real" not in set(scores["generator"])  # upstream's tracing has no real class
    assert (scores["score"] == 1.0).all()
    names = dict(zip(scores["generator"], scores["class_index"]))
    assert names["Hotshot-XL"] == 0 and names["svd_xt"] == 6 and names["VideoCrafter-t2v"] == 8
    results = json.loads((report.parent / "metrics.json").read_text())
    assert "real videos are not traced" in results["note"]


@pytest.mark.parametrize("case, needles", [
    ("unknown_option", ["Unknown option of protocol 'source_tracing' 'hold_out'", "held_out"]),
    ("bad_value", ["Unknown value of option 'preset' 'mmvgm'", "mmvgm9"]),
    ("bad_bool", ["option 'leave_one_out': expected", "'maybe'"]),
    ("held_out_unknown", ["Unknown generator in option held_out", "'g9'", "g1, g2, g3"]),
    ("held_out_real", ["'real' cannot be held out"]),
    ("held_out_and_sweep", ["held_out and leave_one_out=true both"]),
    ("no_train_videos", ["class 'g2' has no train videos", "g2: train 0"]),
    ("no_test_videos", ["class 'g3' has no test videos"]),
    ("held_out_no_test", ["held-out generator 'g3' has no test videos"]),
    ("binary_only", ["method 'aigvdet' declares only the binary task", "sta"]),
    ("blending", ["train.blending.p is 0.5", "train.blending.p=0"]),
    ("preset_unknown_folder", ["generator folder 'sora' matches none", "Hotshot-XL: hotshot"]),
    ("preset_ambiguous", ["generator folder 'I2VGen-XL' fits both"]),
    ("preset_missing", ["no generator folder maps to 'LaVie'"]),
])
def test_bad_input_is_refused_before_training(tmp_path, capsys, fake_model, case, needles):
    data = placeholder_manifest(tmp_path, GENS)
    extra, method = [], "sta"
    frame = pd.read_csv(data)
    if case == "unknown_option":
        extra = ["--option", "hold_out=g1"]
    elif case == "bad_value":
        extra = ["--option", "preset=mmvgm"]
    elif case == "bad_bool":
        extra = ["--option", "leave_one_out=maybe"]
    elif case == "held_out_unknown":
        extra = ["--option", "held_out=g9"]
    elif case == "held_out_real":
        extra = ["--option", "held_out=real"]
    elif case == "held_out_and_sweep":
        extra = ["--option", "held_out=g1", "--option", "leave_one_out=true"]
    elif case in ("no_train_videos", "no_test_videos", "held_out_no_test"):
        gen, split = {"no_train_videos": ("g2", "train")}.get(case, ("g3", "test"))
        frame[~((frame["generator"] == gen) & (frame["split"] == split))].to_csv(data, index=False)
        extra = ["--option", "held_out=g3"] if case == "held_out_no_test" else []
    elif case == "binary_only":
        method = "aigvdet"
    elif case == "blending":
        extra = ["--cfg-options", "train.blending.p=0.5"]
    elif case.startswith("preset_"):
        folders = {"preset_unknown_folder": MMVGM_FOLDERS + ["sora"],
                   "preset_ambiguous": MMVGM_FOLDERS + ["I2VGen-XL"],
                   "preset_missing": [f for f in MMVGM_FOLDERS if f != "lavie"]}[case]
        data = _folders(tmp_path / "gens", folders + ["real"])
        extra = ["--option", "preset=mmvgm9"]
    assert_refused(capsys, ["run", "--protocol", "source_tracing", "--method", method, "--data", str(data),
                            "--out", str(tmp_path / "runs"), "--no-progress", *extra], needles,
                   tmp_path / "runs", fake_model)


def _table(class_index: list[int], probs: list[list[float]], known=None) -> pd.DataFrame:
    k = len(probs[0])
    frame = pd.DataFrame({"video_id": [f"v{i}" for i in range(len(class_index))],
                          "class_index": class_index, "split": "test", "status": "ok",
                          "unit": "u", "class_name": [f"c{c}" for c in class_index],
                          "source_id": [f"s{i}" for i in range(len(class_index))],
                          "known": known if known is not None else [c >= 0 for c in class_index]})
    for i in range(k):
        frame[f"prob_{i}"] = [p[i] for p in probs]
    frame["classes"] = [[f"c{i}" for i in range(k)]] * len(frame)
    frame["held_out"] = [[]] * len(frame)
    return frame


def test_one_class_test_split_gives_undefined_metrics_with_reason():
    table = _table([2, 2, 2], [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    (row,) = source_tracing.metrics(table, {})["rows"]
    assert row["accuracy"] == pytest.approx(2 / 3)
    assert row["balanced_accuracy"] is None and row["macro_f1"] is None
    assert "has only class 2" in row["note"]


def test_open_set_auroc_from_known_probabilities():
    """Known videos confident, held-out ones unsure: 1 − max probability ranks 8 of 9 pairs right."""
    probs = [[0.9, 0.05, 0.05], [0.45, 0.3, 0.25], [0.2, 0.7, 0.1],   # known (classes 0, 0, 1)
             [0.4, 0.35, 0.25], [0.5, 0.4, 0.1], [0.34, 0.33, 0.33]]  # held out
    table = _table([0, 0, 1, -1, -1, -1], probs)
    (row,) = source_tracing.metrics(table, {})["rows"]
    assert row["auroc_unknown"] == pytest.approx(8 / 9)
    assert row["n_unknown"] == 3 and row["accuracy"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- a real tiny run
@pytest.mark.slow
def test_real_closed_set_run_with_sta(tiny_manifest, tmp_path):
    from benchmark.data.manifest import load_manifest, save_manifest

    manifest = load_manifest(str(tiny_manifest))
    manifest = manifest[manifest["video_id"] != "videos/real/broken"]  # exit 3 is tested elsewhere
    small = manifest[manifest["generator"].isin(["real", "latent_ae", "flicker", "oversmooth"])]
    save_manifest(small, tmp_path / "small.csv")
    assert main(["run", "--protocol", "source_tracing", "--method", "sta", "--data",
                 str(tmp_path / "small.csv"), "--out", str(tmp_path / "runs"), "--no-progress",
                 "--workers", "0", "--cfg-options", "train.epochs=1", "train.batch_size=4",
                 "model.backbone.layers=1"]) == 0
    run_dir = next((tmp_path / "runs").glob("source_tracing/sta-mini/*"))
    scores = pd.read_parquet(run_dir / "scores.parquet")
    ok = scores[scores["status"] == "ok"]
    assert np.allclose(_probs(ok, 4).sum(axis=1), 1.0, atol=1e-5)
    info = json.loads((run_dir / "run.json").read_text())
    (model,) = info["models"].values()
    assert model["val_criterion"] == "val_balanced_accuracy" and model["val_auc"] is None
    results = json.loads((run_dir / "metrics.json").read_text())
    assert results["rows"][0]["balanced_accuracy"] is not None
    # the stored 4-class model on data with one more generator: that one is scored as unknown
    more = manifest[manifest["generator"].isin(["real", "latent_ae", "flicker", "oversmooth",
                                                "temporal_warp"])]
    save_manifest(more, tmp_path / "more.csv")
    assert main(["run", "--protocol", "source_tracing", "--method", "sta", "--data",
                 str(tmp_path / "more.csv"), "--weights", f"{run_dir}:closed set", "--out",
                 str(tmp_path / "runs"), "--no-progress", "--workers", "0",
                 "--cfg-options", "model.backbone.layers=1"]) == 0  # the trained shape
    runs = sorted((tmp_path / "runs").glob("source_tracing/sta-mini/*"), key=lambda p: p.stat().st_mtime)
    (row,) = json.loads((runs[-1] / "metrics.json").read_text())["rows"]
    assert row["unit"] == "closed set" and row["n_unknown"] > 0 and row["auroc_unknown"] is not None


def test_ls_protocols_lists_both_new_protocols_with_their_options(capsys):
    assert main(["ls", "protocols"]) == 0
    out = capsys.readouterr().out
    assert "cross_dataset (version 1)" in out and "--option train_on=list (default ())" in out
    assert "source_tracing (version 1)" in out and "primary metric: balanced accuracy" in out
    for text in ("--option held_out=list", "--option leave_one_out=bool (default False)",
                 "--option preset=none|mmvgm9 (default 'none')"):
        assert text in out, out


def test_intervals_are_stored_shown_and_checked_on_reading(tmp_path, fake_model, capsys):
    """metrics.json rows carry ``ci`` as cross_generator's do; Markdown and CSV show them; the
    stored-run reader recomputes them, and refuses an edited one naming file and key."""
    from benchmark.stored_run import load_run

    report = _run(placeholder_manifest(tmp_path, GENS, per=6), tmp_path,
                  options={"held_out": "g2"})
    run_dir = report.parent
    results = json.loads((run_dir / "metrics.json").read_text())
    (row,) = results["rows"]
    assert set(row["ci"]) == {"accuracy", "balanced_accuracy", "macro_f1", "top2_accuracy",
                              "auroc_unknown"}
    for key, band in row["ci"].items():
        assert set(band) == {"low", "high"} and band["low"] <= row[key] <= band["high"], key
    assert all(set(r["ci"]) == {"precision", "recall", "f1"} for r in results["per_class"])
    assert results["summary_ci"]["balanced_accuracy"]["interval"] == row["ci"]["balanced_accuracy"]
    low = row["ci"]["accuracy"]["low"]
    assert f"{row['accuracy']:.3f} [{low:.3f}," in (run_dir / "report.md").read_text()
    assert "'low'" in pd.read_csv(run_dir / "metrics.csv")["ci"].iloc[0]
    load_run(run_dir)  # validates: recomputing gives the stored intervals
    results["rows"][0]["ci"]["accuracy"]["low"] = low - 0.01
    (run_dir / "metrics.json").write_text(json.dumps(results))
    assert main(["report", str(run_dir), "--out", str(tmp_path / "board")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vbench: error:") and err.count("\n") == 1
    assert "metrics.json: key rows[0].ci.accuracy.low" in err
