"""The field's dataset layouts (layouts/genvidbench, aigvdbench, genvideo): tiny clips written by
tools/field_layouts.py, read end to end by ``vbench data inspect``, and each bad input refused
with exit 2 and one line naming the file (and line)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.data.inspect import inspect_data
from benchmark.data.manifest import load_manifest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import field_layouts  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    clips = {f"{i:03d}": rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8) for i in range(5)}
    out = tmp_path_factory.mktemp("field")
    field_layouts.write_all(out, clips)
    return out


@pytest.fixture
def copy(built, tmp_path):
    import shutil

    def make(name: str) -> Path:
        return Path(shutil.copytree(built / name, tmp_path / name))
    return make


@pytest.mark.parametrize("name, counts, note", [
    ("genvidbench", {"real": [4, 0, 1], "pika": [4, 0, 0], "vc2": [4, 0, 0], "svd": [0, 0, 1],
                     "cogvideo": [0, 0, 1]}, "label/fake_real_label/train.txt and test.txt"),
    ("aigvdbench", {"real": [3, 1, 1], "CogVideoX": [3, 1, 1], "Wan2.1": [3, 1, 1], "Sora": [0, 0, 1]},
     "held-out test generator(s), in no split file (closed-source): Sora"),
    ("genvideo", {"real": [3, 1, 1], "pika": [3, 1, 0], "SEINE": [3, 1, 0], "Sora": [0, 0, 1],
                  "HotShot": [0, 0, 1]}, "datasets/train.csv (train), val_ood.csv (test), val_id.csv (val)"),
])
def test_layout_read_end_to_end(built, tmp_path, capsys, name, counts, note):
    out = tmp_path / "m.csv"
    assert main(["data", "inspect", "--data", str(built / name), "--out", str(out), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["layout"] == name and s["splitting"] == "the layout's own splits"
    assert {g: [c[k] for k in ("train", "val", "test")] for g, c in s["counts"].items()} == counts
    assert any(note in n for n in s["notes"])
    assert any("source" in n for n in s["notes"])  # how sources were grouped
    manifest = load_manifest(out)
    # one prompt / real clip: the real video and every fake made from it share one source id
    sources = manifest.groupby("source_id")["generator"].agg(set)
    assert len(sources) == 5 and all("real" in g and len(g) >= 3 for g in sources)
    assert manifest.groupby("source_id")["split"].nunique().max() == 1


def test_layouts_are_listed(capsys):
    assert main(["ls", "datasets"]) == 0
    text = capsys.readouterr().out
    for name in ("genvidbench", "aigvdbench", "genvideo"):
        assert f"layout:{name}" in text


def _edit(path: Path, change) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")


BAD = {  # name → (file below the root, edit of its lines or None to delete it, expected text)
    "genvidbench-missing": ("genvidbench", "label/fake_real_label/test.txt", None,
                            "test.txt: split file not found"),
    "genvidbench-absent": ("genvidbench", "label/fake_real_label/test.txt",
                           lambda ls: ls + ["svd/999.mp4 1"], "test.txt:4: video 'svd/999.mp4' does not exist"),
    "genvidbench-label": ("genvidbench", "label/fake_real_label/train.txt",
                          lambda ls: [ls[0].replace(" 0", " real")] + ls[1:],
                          "train.txt:1: unknown label value 'real'"),
    "genvidbench-duplicate": ("genvidbench", "label/fake_real_label/test.txt", lambda ls: ls + [ls[1]],
                              "test.txt:4: duplicate video id 'svd/004.mp4' (already listed at"),
    "aigvdbench-missing": ("aigvdbench", "data_splits/val.jsonl", None, "val.jsonl: split file not found"),
    "aigvdbench-absent": ("aigvdbench", "data_splits/test.jsonl",
                          lambda ls: ls + ['{"Video_id": "nowhere.mp4"}'],
                          "test.jsonl:2: video 'nowhere.mp4' does not exist"),
    "aigvdbench-malformed": ("aigvdbench", "data_splits/train.jsonl", lambda ls: ls + ["{oops"],
                             "train.jsonl:4: not a JSON object"),
    "aigvdbench-duplicate": ("aigvdbench", "data_splits/test.jsonl", lambda ls: ls + [ls[0]],
                             "test.jsonl:2: duplicate video id 'clip004_0_0to4'"),
    "genvideo-missing": ("genvideo", "datasets/val_ood.csv", None, "val_ood.csv: split file not found"),
    "genvideo-absent": ("genvideo", "datasets/val_ood.csv",
                        lambda ls: ls + ["fake/Sora/999,x,AIGC视频,1,4,[0]"],
                        "val_ood.csv:5: video 'fake/Sora/999' does not exist"),
    "genvideo-label": ("genvideo", "datasets/train.csv",
                       lambda ls: [ls[0], ls[1].replace(",0,", ",2,")] + ls[2:],
                       "train.csv:2: unknown label value '2'"),
    "genvideo-contradiction": ("genvideo", "datasets/train.csv",
                               lambda ls: [ls[0], ls[1].replace(",0,", ",1,")] + ls[2:],
                               "train.csv:2: label 1 contradicts the path 'real/youku/000'"),
    "genvideo-duplicate": ("genvideo", "datasets/val_ood.csv", lambda ls: ls + [ls[1]],
                           "val_ood.csv:5: duplicate video id 'real/MSR-VTT/004'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_one_line(copy, capsys, case):
    name, file, change, expected = BAD[case]
    root = copy(name)
    if change is None:
        (root / file).unlink()
    else:
        _edit(root / file, change)
    assert main(["data", "inspect", "--data", str(root), "--out", str(root / "m.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vbench: error: "), err
    assert str(root) in err[0] and expected in err[0], err[0]


def test_aigvdbench_refuses_a_label_folder_for_a_generator(copy, capsys):
    """AIGVDBench's labels are its folders: one per generator, named by model, and the reals; a
    folder named like a class label ("fake") is an unknown label value, not a generator."""
    root = copy("aigvdbench")
    (root / "open_source/CogVideoX").rename(root / "open_source/fake")
    assert main(["data", "inspect", "--data", str(root), "--out", str(root / "m.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vbench: error: "), err
    assert f"{root / 'open_source/fake'}: unknown label folder 'fake'" in err[0], err[0]


def test_genvidbench_reads_the_forks_paths_and_either_label_convention(copy):
    root = copy("genvidbench")
    for split in ("train", "test"):  # paths from the parent (the fork's data/), 1 = real
        _edit(root / f"label/fake_real_label/{split}.txt",
              lambda ls: [f"genvidbench/{p} {1 - int(v)}" for p, v in (l.rsplit(None, 1) for l in ls)])
    s = inspect_data(str(root)).summary
    assert s["real"] == 5 and s["fake"] == 10 and s["layout"] == "genvidbench"
    assert any("1 is read as real" in n for n in s["notes"])


def test_aigvdbench_held_out_video_sharing_a_train_prompt_is_skipped(copy):
    root = copy("aigvdbench")
    source = root / "open_source/CogVideoX/clip000_0_0to4.mp4"
    (root / "closed_source/Sora/clip000_0_0to4.mp4").write_bytes(source.read_bytes())
    s = inspect_data(str(root)).summary
    assert s["counts"]["Sora"] == {"train": 0, "val": 0, "test": 1}
    assert any("train/val prompt" in reason for reason in s["skipped"])
