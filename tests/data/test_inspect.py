"""``vbench data inspect``: the summary, the written manifest, and the CLI."""
from __future__ import annotations

import json
from pathlib import Path

from benchmark.cli import main
from benchmark.data.inspect import inspect_data, split_option_pairs
from benchmark.data.manifest import load_manifest
from benchmark.data.options import DataOptions


def dataset(root: Path) -> Path:
    """FF++-named generator folders with one duplicate file, one non-video and no pristine twin."""
    files = {f"pristine/{i:03d}.mp4": bytes([i]) * 50 for i in range(6)}
    files.update({f"Deepfakes/{a}_{b}.mp4": (a + b).encode() for a, b in
                  (("000", "001"), ("002", "003"), ("004", "005"))})
    files["Deepfakes/copy.mp4"] = bytes([0]) * 50  # same content as pristine/000
    files["Deepfakes/readme.txt"] = b"notes"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_inspection_summary(tmp_path):
    root = dataset(tmp_path / "ff")
    result = inspect_data(str(root), options=DataOptions(split="all-test"), out=str(tmp_path / "m.csv"))
    s = result.summary
    assert (s["layout"], s["videos"], s["real"], s["fake"]) == ("generator_folders", 10, 6, 4)
    assert s["counts"] == {"Deepfakes": {"train": 0, "val": 0, "test": 4}, "real": {"train": 0, "val": 0, "test": 6}}
    assert s["sources"]["real_fake_pairs"] == 3 and s["sources"]["paired_fakes"] == 3
    assert s["sources"]["examples"][0] == ["Deepfakes/000_001", "pristine/000", "pristine/001"]
    assert s["duplicates"]["same_content"] == [["Deepfakes/copy", "pristine/000"]]
    assert s["skipped"] == {"not a video or image (extension .txt)": {
        "count": 1, "examples": [str(root / "Deepfakes/readme.txt")]}}
    assert s["problems"] == [] and s["splitting"] == "all-test: every video is a test video"
    assert len(load_manifest(tmp_path / "m.csv")) == 10
    text = result.render()
    for part in ("layout: generator_folders", "sources: 4 (", "same content (fingerprint)", "skipped 1:",
                 f"manifest: {tmp_path / 'm.csv'}"):
        assert part in text, part


def test_inspection_lists_what_would_stop_a_run(tmp_path):
    root = tmp_path / "noreal"
    for name in ("camera/a.mp4", "camera/b.mp4", "sora/a.mp4"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode())
    s = inspect_data(str(root)).summary
    assert any(p.startswith("any run: data 'noreal': no real videos") for p in s["problems"])


def test_cli_data_inspect(tmp_path, capsys):
    root = dataset(tmp_path / "ff")
    out = tmp_path / "out.csv"
    assert main(["data", "inspect", "--data", str(root), "--out", str(out), "--split", "all-test",
                 "--option", "sources=video", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["manifest"] == str(out) and summary["sources"]["multi_video"] == 0
    assert set(load_manifest(out)["split"]) == {"test"}
    assert main(["data", "inspect", "--data", str(root), "--real-dirs", "pristine", "--split", "60/20"]) == 2
    assert "--split: expected" in capsys.readouterr().err
    assert main(["data", "inspect", "--data", str(root), "--option", "compresion=c40"]) == 2
    assert "Did you mean: compression" in capsys.readouterr().err
    assert main(["data", "inspect", "--data", str(root), "--layout", "aigvdt"]) == 2
    assert "Unknown dataset layout 'aigvdt'. Did you mean: aigvdet" in capsys.readouterr().err


def test_split_option_pairs():
    data, rest = split_option_pairs(["compression=c40", "mode=leave_one_out", "pairing=p.csv", "bad"])
    assert data == {"compression": "c40", "pairing": "p.csv"} and rest == ["mode=leave_one_out", "bad"]
