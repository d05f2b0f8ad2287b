"""Issue 9 end to end through `vbench run`: bad data stops before work (exit 2), undecodable videos
exit 3 after writing, every test video is evaluated with --weights, changed files are never reused,
names stay safe in every report."""
import json
from pathlib import Path

import pandas as pd
import pytest

from benchmark.cli import main
from tests.run_helpers import install_fake_model, placeholder_manifest

BASE = ["run", "--protocol", "cross_generator", "--method", "sta", "--no-progress", "--workers", "0"]


@pytest.fixture()
def fake_model(monkeypatch):
    return install_fake_model(monkeypatch)


def _run(data, out, *extra) -> int:
    return main(BASE + ["--data", str(data), "--out", str(out), *extra])


def _edit(path: Path, change) -> Path:
    frame = pd.read_csv(path)
    change(frame)
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("change, expected", [
    (lambda m: m.__setitem__("split", m["split"].replace("train", "val")), "the train split is empty"),
    (lambda m: m.__setitem__("split", m["split"].replace("test", "val")), "the test split is empty"),
    (lambda m: m.__setitem__("split", ["train" if (l == 0 and s == "val") else s
                                       for l, s in zip(m["label"], m["split"])]),
     "the val split has no real videos"),
    # a generator with val videos only (no training, no test videos); one with test videos only
    # is a held-out generator (tests/protocols/test_field_cross_generator.py)
    (lambda m: m.__setitem__("split", [("val" if g == "g2" else s)
                                       for g, s in zip(m["generator"], m["split"])]),
     "generator(s) 'g2' have no training videos"),
    (lambda m: m.__setitem__("generator", "g1") or m.__setitem__("label", 1), "no real videos"),
    (lambda m: m.__setitem__("path", [m["path"].iloc[1] if i == 2 else p for i, p in enumerate(m["path"])]),
     "the same file (path) is in more than one split"),
])
def test_unusable_data_stops_before_work(tmp_path, fake_model, capsys, change, expected):
    data = _edit(placeholder_manifest(tmp_path, ["g1", "g2"]), change)
    assert _run(data, tmp_path / "runs") == 2
    err = capsys.readouterr().err
    assert expected in err and err.startswith("vbench: error: ") and "Traceback" not in err
    assert not fake_model["predict"] and not (tmp_path / "runs").exists()


def test_weights_evaluate_every_video(tmp_path, fake_model):
    data = placeholder_manifest(tmp_path, ["g1"])
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"not used by the fake model")
    assert _run(data, tmp_path / "runs", "--weights", str(weights)) == 0
    run_dir = next((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert len(scores) == len(pd.read_csv(data)) and set(scores["split"]) == {"test"}
    info = json.loads((run_dir / "run.json").read_text())
    assert info["data_options"]["split"] == "all-test" and info["data_splitting"]


def test_changed_file_is_never_reused(tmp_path, fake_model):
    data = placeholder_manifest(tmp_path, ["g1"])
    assert _run(data, tmp_path / "runs") == 0
    first = sorted((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    video = Path(pd.read_csv(data)["path"].iloc[0])
    video.write_bytes(b"overwritten in place, same size?"[: len(video.read_bytes())])
    assert _run(data, tmp_path / "runs") == 0
    second = sorted((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    assert len(second) == 2 and first[0] in second  # a new run key: nothing reused
    assert fake_model["predict"].count("g1") == 2


def test_undecodable_videos_exit_3_after_writing(tmp_path, capsys):
    import torch

    from benchmark.detector import build_detector
    from benchmark.registry import registry

    data = placeholder_manifest(tmp_path, ["g1"])  # placeholder bytes: nothing decodes
    weights = tmp_path / "sta.pth"
    cfg = registry().get("sta").config("mini", {"model.backbone.layers": 1})
    torch.save(build_detector("sta", cfg).official_state_dict(), weights)
    code = _run(data, tmp_path / "runs", "--weights", str(weights), "--cfg-options",
                "model.backbone.layers=1")
    err = capsys.readouterr().err
    assert code == 3 and "9 of 9 videos could not be decoded" in err and "real/0:" in err
    run_dir = next((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "complete" and info["n_failed"] == 9 and len(info["failures"]) == 9


def test_names_are_safe_in_every_report(tmp_path, fake_model):
    names = ["=cmd|' /C calc'!A0", "[x](javascript:alert(1))", "gen\u202eelif.exe", "NA"]
    data = placeholder_manifest(tmp_path, names)
    assert _run(data, tmp_path / "runs") == 0
    run_dir = next((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    metrics_csv = (run_dir / "metrics.csv").read_text()
    assert "\n=cmd" not in metrics_csv and ",=cmd" not in metrics_csv and "'=cmd" in metrics_csv
    from benchmark.safe_text import read_csv_text

    back = read_csv_text(run_dir / "metrics.csv")
    assert set(back["test_set"]) == set(names)  # NA stays a name; the formula guard is undone
    md = (run_dir / "report.md").read_text()
    assert "](javascript:" not in md and "\\[x\\]\\(javascript:alert\\(1\\)\\)" in md
    page = (run_dir / "report.html").read_text()
    assert "\u202e" not in page and "gen\\u202eelif.exe" in page
    assert "\u202e" not in md


def test_dry_run_checks_and_writes_only_the_manifest(tmp_path, fake_model, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = placeholder_manifest(tmp_path, ["g1"])
    assert _run(data, tmp_path / "runs", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "units (1):" in out and "g1 (trains a model)" in out and "not yet run" in out
    assert (tmp_path / "manifest.manifest.csv").is_file() and not (tmp_path / "runs").exists()
    assert not fake_model["predict"]


def test_data_options_reach_the_reader(tmp_path, capsys, monkeypatch):
    from tests.data.test_layouts import ff_json

    monkeypatch.chdir(tmp_path)
    index = ff_json(tmp_path, tmp_path / "rgb")
    assert _run(index, tmp_path / "runs", "--dry-run") == 2
    assert "--data-root" in capsys.readouterr().err
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"x")
    assert _run(index, tmp_path / "runs", "--dry-run", "--data-root", str(tmp_path / "rgb"),
                "--option", "compression=c40", "--weights", str(weights)) == 0
    written = pd.read_csv(tmp_path / "FF-DF.manifest.csv")
    assert written["path"].str.contains("/c40/frames/").all() and set(written["split"]) == {"test"}


def test_undecodable_training_and_validation_videos_are_recorded_and_exit_3(tiny_manifest, tmp_path,
                                                                          capsys, caplog):
    """A training and a validation video that cannot be decoded are left out with a warning, listed
    in run.json and in both reports, and count against --max-failed-share per unit."""
    manifest = pd.read_csv(tiny_manifest)
    keep = manifest["generator"].isin(["real", "flicker"]) & manifest["path"].str.endswith(".mp4")
    manifest = manifest[keep].copy()
    manifest["path"] = [str((Path(tiny_manifest).parent / p).resolve()) for p in manifest["path"]]
    broken = [tmp_path / "broken_train.mp4", tmp_path / "broken_val.mp4"]
    for number, path in enumerate(broken):
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42 definitely not a video %d" % number)
    extra = [{"video_id": "videos/flicker/broken_train", "path": str(broken[0]), "label": 1,
              "generator": "flicker", "split": "train", "source_id": "bt", "dataset": "vbench-mini"},
             {"video_id": "videos/real/broken_val", "path": str(broken[1]), "label": 0,
              "generator": "real", "split": "val", "source_id": "bv", "dataset": "vbench-mini"}]
    manifest = pd.concat([manifest[manifest["video_id"] != "videos/real/broken"],
                          pd.DataFrame(extra)], ignore_index=True)
    data = tmp_path / "data.csv"
    manifest.to_csv(data, index=False)
    n_train, n_val = (int((manifest["split"] == s).sum()) for s in ("train", "val"))
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--no-progress",
                 "--data", str(data), "--out", str(tmp_path / "runs"),
                 "--cfg-options", "train.epochs=1", "model.backbone.layers=1"])
    err = capsys.readouterr().err
    assert code == 3, err[-2000:]
    assert f"1 of {n_train} training videos of unit flicker could not be decoded" in err
    assert f"1 of {n_val} validation videos of unit flicker could not be decoded" in err
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("1 of" in w and "training videos" in w and "broken_train: undecodable" in w
               and "left out" in w for w in warned), warned
    run_dir = next((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    info = json.loads((run_dir / "run.json").read_text())
    card = info["models"]["flicker"]
    assert [f["video_id"] for f in card["train_failed"]] == ["videos/flicker/broken_train"]
    assert [f["video_id"] for f in card["val_failed"]] == ["videos/real/broken_val"]
    assert card["train_failed"][0]["error"].startswith("undecodable")
    assert (card["n_train"], card["n_val"]) == (n_train, n_val)
    # the validation videos are scored too (thresholds are chosen on them): the broken one is
    # also among the run's failed videos
    assert info["status"] == "complete" and [f["video_id"] for f in info["failures"]] == [
        "videos/real/broken_val"]
    page = (run_dir / "report.html").read_text()
    assert "Left out of training and validation (2)" in page and "broken_val" in page
    md = (run_dir / "report.md").read_text()
    assert "| flicker | train | videos/flicker/broken\\_train | undecodable" in md
    assert "| flicker | val | videos/real/broken\\_val | undecodable" in md
