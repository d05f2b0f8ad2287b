"""Layout readers on tiny synthetic layouts (files need not decode: readers only list them)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmark.data.manifest import check_no_leakage, save_manifest
from benchmark.data.readers import (DATASET_LAYOUTS, LAYOUT_READERS, detect_layout, is_real_name,
                                    read_dataset)
from benchmark.data.scan import ReadLog
from benchmark.errors import DataError, UnknownKeyError


def touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")


def frames(root: Path, folder: str, n: int = 2) -> list[str]:
    names = [f"{folder}/{i:05d}.png" for i in range(n)]
    touch(root, *names)
    return names


def test_layout_names_match_readers():
    from benchmark.plugins import is_builtin

    # the core's layouts are DATASET_LAYOUTS; the built-in `layouts` package adds the field's
    # dataset readers; the session's example plugin adds example_tsv (tests/conftest.py)
    builtin = {n for n in LAYOUT_READERS.usable() if is_builtin(LAYOUT_READERS.source(n))}
    core = {n for n in builtin if "'core'" in LAYOUT_READERS.source(n)}
    assert set(DATASET_LAYOUTS) == core
    assert all("'layouts'" in LAYOUT_READERS.source(n) for n in builtin - core)


@pytest.mark.parametrize("name, real", [("real", True), ("real_videos", True), ("InternVid", True),
                                        ("FF-real", True), ("CelebDFv1_real", True), ("0_real", True),
                                        ("sora", False), ("unreal_engine", False), ("FF-DF", False)])
def test_is_real_name(name, real):
    assert is_real_name(name) is real


def test_genconvit(tmp_path):
    for split in ("train", "valid", "test"):
        touch(tmp_path, f"{split}/real/a.mp4", f"{split}/fake/a.mp4")
    frames(tmp_path, "test/fake/b")  # a frame folder is a video too
    assert detect_layout(tmp_path) == "genconvit"
    df = read_dataset(tmp_path, dataset="gc")
    assert len(df) == 7 and set(df["split"]) == {"train", "val", "test"}
    row = df.set_index("video_id").loc["valid/fake/a"]
    assert (row.label, row.generator, row.split, row.dataset) == (1, "fake", "val", "gc")
    assert row.path == str(tmp_path / "valid/fake/a.mp4")
    assert df.set_index("video_id").loc["test/fake/b", "path"] == str(tmp_path / "test/fake/b")


def test_aigvdet_with_splits(tmp_path):
    frames(tmp_path, "train/trainset_1/0_real/video_00000")
    frames(tmp_path, "train/trainset_1/1_fake/video_00000")
    frames(tmp_path, "val/val_set_1/0_real/video_00000")
    frames(tmp_path, "test/hotshot/0_real/video_00000")
    frames(tmp_path, "test/hotshot/1_fake/video_00000")
    frames(tmp_path, "test/hotshot/1_fake/video_00001")
    assert detect_layout(tmp_path) == "aigvdet"
    df = read_dataset(tmp_path).set_index("video_id")
    assert len(df) == 6  # same basenames, distinct ids
    fake = df.loc["test/hotshot/1_fake/video_00001"]
    assert (fake.label, fake.generator, fake.split) == (1, "hotshot", "test")
    assert os.path.isdir(fake.path)
    assert df.loc["val/val_set_1/0_real/video_00000", "split"] == "val"


def test_aigvdet_without_splits(tmp_path):
    for i in range(4):
        frames(tmp_path, f"0_real/video_{i}")
        frames(tmp_path, f"1_fake/video_{i}")
    df = read_dataset(tmp_path, seed=1)
    assert set(df["generator"]) == {"real", "fake"}
    # AIGVDet numbers each class folder on its own: names pair nothing unless asked to
    assert (df["source_id"] == df["video_id"]).all()
    paired = read_dataset(tmp_path, seed=1, sources="stem")
    assert (paired["source_id"] == paired["video_id"].str.replace("1_fake", "0_real")).all()
    assert set(df["split"]) == {"train", "val", "test"}
    check_no_leakage(df)


def test_generator_folders(tmp_path):
    for g in ("real_videos", "sora", "lavie"):
        touch(tmp_path, *[f"{g}/{i}.mp4" for i in range(5)], f"{g}/notes.txt")
    touch(tmp_path, "sora/sub/extra.mov")
    assert detect_layout(tmp_path) == "generator_folders"
    df = read_dataset(tmp_path)
    assert len(df) == 16
    assert set(df.loc[df.label == 0, "generator"]) == {"real"}
    assert set(df.loc[df.label == 1, "generator"]) == {"sora", "lavie"}
    assert "sora/sub/extra" in set(df["video_id"])
    for _, group in df.groupby("generator"):
        assert set(group["split"]) == {"train", "val", "test"}
    check_no_leakage(df)


def deepfakebench_index(root: Path) -> dict:
    def videos(prefix: str, names: list[str], label: str) -> dict:
        return {n: {"label": label, "frames": frames(root, f"{prefix}/{n}")} for n in names}

    real = "FaceForensics++/original_sequences/youtube/c23/frames"
    fake = "FaceForensics++/manipulated_sequences/Deepfakes/c23/frames"
    return {"FaceForensics++": {
        "FF-real": {"train": {"c23": videos(real, ["000"], "FF-real")},
                    "val": {"c23": {}}, "test": {"c23": videos(real, ["001"], "FF-real")}},
        "FF-DF": {"train": {"c23": videos(fake, ["000_003"], "FF-DF")},
                  "val": {"c23": {}}, "test": {"c23": videos(fake, ["001_002"], "FF-DF")}},
    }}


def test_deepfakebench_json(tmp_path):
    (tmp_path / "FF-DF.json").write_text(json.dumps(deepfakebench_index(tmp_path)))
    assert detect_layout(tmp_path / "FF-DF.json") == "deepfakebench"
    df = read_dataset(tmp_path / "FF-DF.json").set_index("video_id")
    assert sorted(df.index) == ["FaceForensics++/FF-DF/c23/000_003", "FaceForensics++/FF-DF/c23/001_002",
                                "FaceForensics++/FF-real/c23/000", "FaceForensics++/FF-real/c23/001"]
    row = df.loc["FaceForensics++/FF-DF/c23/001_002"]
    assert (row.label, row.generator, row.split, row.dataset) == (1, "FF-DF", "test", "FaceForensics++")
    assert row.path == str(tmp_path / "FaceForensics++/manipulated_sequences/Deepfakes/c23/frames/001_002")
    assert df.loc["FaceForensics++/FF-real/c23/000", "generator"] == "real"
    with pytest.raises(DataError, match="no compression level 'c40' .found: c23."):
        read_dataset(tmp_path / "FF-DF.json", compression="c40")
    assert len(read_dataset(tmp_path / "FF-DF.json", compression="all")) == 4


def test_deepfakebench_flat_index_repeated_splits_and_root(tmp_path):
    entry = {"label": "CelebDFv1_fake", "frames": ["Celeb-DF/frames/id0_id1_0000/0.png"]}
    real = {"label": "CelebDFv1_real", "frames": ["Celeb-DF\\frames\\id0_0000\\0.png"]}  # Windows paths
    index = {"Celeb-DF-v1": {"CelebDFv1_fake": {s: {"id0_id1_0000": entry} for s in ("train", "val", "test")},
                             "CelebDFv1_real": {"train": {}, "val": {}, "test": {"id0_0000": real}}}}
    (tmp_path / "index" / "idx.json").parent.mkdir()
    (tmp_path / "index" / "idx.json").write_text(json.dumps(index))
    touch(tmp_path / "rgb", "Celeb-DF/frames/id0_id1_0000/0.png", "Celeb-DF/frames/id0_0000/0.png")
    log = ReadLog()
    df = read_dataset(tmp_path / "index" / "idx.json", root=str(tmp_path / "rgb"), log=log)
    assert "1 video(s) are listed under several splits" in log.notes[0]
    assert log.skipped["repeated under another split (kept in its test, else val, split)"][0] == 1
    assert df.set_index("video_id")["split"].to_dict() == {
        "Celeb-DF-v1/CelebDFv1_fake/id0_id1_0000": "test", "Celeb-DF-v1/CelebDFv1_real/id0_0000": "test"}
    assert set(df["path"]) == {str(tmp_path / "rgb/Celeb-DF/frames/id0_id1_0000"),
                               str(tmp_path / "rgb/Celeb-DF/frames/id0_0000")}
    with pytest.raises(DataError, match=r"none of the 2 relative frame folders exists under .*index "
                                        r"\(the JSON folder\); tried .*index/Celeb-DF/frames/id0_.*--data-root"):
        read_dataset(tmp_path / "index" / "idx.json")


def test_deepfakebench_errors(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"D": {"D_fake": {"test": {"v": {"frames": ["a/1.png", "b/2.png"]}}}}}))
    with pytest.raises(DataError, match="the frames of D/D_fake/v lie in 2 folders"):
        read_dataset(path)
    path.write_text(json.dumps({"D": {"D_fake": {"dev": {}}}}))
    with pytest.raises(DataError, match="'dev' is not a split"):
        read_dataset(path)
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(DataError, match="expected a mapping at the top level, got list"):
        read_dataset(path)
    path.write_text("{not json")
    with pytest.raises(DataError, match="not a readable DeepfakeBench JSON"):
        read_dataset(path)
    path.write_text(json.dumps({"D": {"D_fake": {"test": {"v": {"label": "D_fake", "frames": []}}}}}))
    log = ReadLog()
    with pytest.raises(DataError, match="found no videos"):
        read_dataset(path, log=log)
    assert log.skipped == {"listed without frames": [1, ["D/D_fake/v"]]}


def test_manifest_file_and_folder(tmp_path):
    touch(tmp_path, "real/a.mp4", "sora/b.mp4", "sora/c.mp4", "real/d.mp4")
    df = read_dataset(tmp_path)
    save_manifest(df, tmp_path / "manifest.csv")
    assert detect_layout(tmp_path) == "manifest"  # manifest.csv wins over the folders
    assert read_dataset(tmp_path / "manifest.csv").equals(df)
    assert set(read_dataset(tmp_path, dataset="renamed")["dataset"]) == {"renamed"}


def test_unknown_layout_lists_what_it_looked_for_and_found(tmp_path):
    touch(tmp_path, "notes.txt", "docs/readme.md")
    with pytest.raises(DataError) as info:
        read_dataset(tmp_path)
    text = str(info.value)
    assert "cannot tell the dataset layout" in text
    assert all(name in text for name in DATASET_LAYOUTS)
    assert "Found 1 folder(s) and 1 file(s): docs/, notes.txt" in text


def test_path_errors(tmp_path):
    with pytest.raises(DataError, match="dataset path not found"):
        read_dataset(tmp_path / "nowhere")
    touch(tmp_path, "list.txt")
    with pytest.raises(DataError, match="must be a .csv manifest or a DeepfakeBench .json"):
        read_dataset(tmp_path / "list.txt")
    with pytest.raises(UnknownKeyError, match="Unknown dataset layout 'aigvdt'. Did you mean: aigvdet"):
        read_dataset(tmp_path, layout="aigvdt")
