"""Upstream layouts read faithfully (issue 9): AIGVDet sets and per-generator tests, GenConViT
images, DeepfakeBench compression and root, real folder names."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.data.checks import check_has_real
from benchmark.data.readers import read_dataset
from benchmark.data.scan import ReadLog, group_images
from benchmark.data.video import open_video, read_frames
from benchmark.errors import DataError


def frames(root: Path, folder: str, n: int = 2, fill: bytes = b"x") -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / folder / f"{i:05d}.png").write_bytes(fill + bytes([i]))


def test_aigvdet_set_folders_are_datasets_not_generators(tmp_path):
    for split, name in (("train", "trainset_1"), ("val", "val_set_1"), ("test", "testset_1")):
        for cls in ("0_real", "1_fake"):
            for i in range(2):
                frames(tmp_path, f"{split}/{name}/{cls}/video_{i:05d}")
    log = ReadLog()
    df = read_dataset(tmp_path, log=log)
    assert set(df["generator"]) == {"real", "fake"}  # was: trainset_1, val_set_1, testset_1
    assert df.groupby("split")["dataset"].agg(set).to_dict() == {
        "train": {"trainset_1"}, "val": {"val_set_1"}, "test": {"testset_1"}}
    assert df.groupby(["split", "label"]).size().tolist() == [2] * 6
    assert "read as datasets" in log.notes[0]
    assert (df["source_id"] == df["video_id"]).all()  # AIGVDet names pair nothing


def test_aigvdet_per_generator_reals_counted_once(tmp_path):
    for gen in ("hotshot", "sora", "lavie"):
        frames(tmp_path, f"test/{gen}/0_real/video_00000", fill=b"same")  # one real video, three copies
        frames(tmp_path, f"test/{gen}/0_real/video_00001", fill=gen.encode())  # same name, other content
        frames(tmp_path, f"test/{gen}/1_fake/video_00000", fill=b"fake" + gen.encode())
    log = ReadLog()
    df = read_dataset(tmp_path, log=log)
    real = df[df["label"] == 0]
    assert sorted(real["video_id"]) == ["test/hotshot/0_real/video_00000", "test/hotshot/0_real/video_00001",
                                        "test/lavie/0_real/video_00001", "test/sora/0_real/video_00001"]
    assert log.merged == [("test/hotshot/0_real/video_00000",
                           ["test/lavie/0_real/video_00000", "test/sora/0_real/video_00000"],
                           "the same real video (name and content) under several generators")]
    assert sorted(set(df["generator"])) == ["hotshot", "lavie", "real", "sora"]


def test_aigvdet_optical_flow_mirror_is_skipped(tmp_path):
    for tree in ("test/original/T2V/hotshot", "test/T2V/hotshot"):
        for cls in ("0_real", "1_fake"):
            frames(tmp_path, f"{tree}/{cls}/video_00000", fill=tree.encode())
    frames(tmp_path, "test/I2V/other/1_fake/video_00000")  # no RGB twin: kept
    frames(tmp_path, "test/I2V/other/0_real/video_00000")
    log = ReadLog()
    df = read_dataset(tmp_path, log=log)
    assert sorted(df["video_id"]) == ["test/I2V/other/0_real/video_00000", "test/I2V/other/1_fake/video_00000",
                                      "test/original/T2V/hotshot/0_real/video_00000",
                                      "test/original/T2V/hotshot/1_fake/video_00000"]
    count, examples = next(v for k, v in log.skipped.items() if k.startswith("optical-flow"))
    assert count == 2 and examples[0].endswith("test/T2V/hotshot/0_real")


def write_jpgs(folder: Path, names: list[str], write_frames) -> None:
    import cv2
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((20, 24, 3), 10 * i, np.uint8))


def test_genconvit_face_crop_images_group_by_video(tmp_path, write_frames):
    for split in ("train", "valid", "test"):
        write_jpgs(tmp_path / split / "real", [f"000_{f}.jpg" for f in (0, 10, 20)] + ["001_0.jpg"], write_frames)
        write_jpgs(tmp_path / split / "fake", [f"000_001_{f}.jpg" for f in (0, 10)] + ["stray.jpg"], write_frames)
    log = ReadLog()
    df = read_dataset(tmp_path, log=log).set_index("video_id")
    assert sorted(df.index[df["split"] == "train"]) == ["train/fake/000_001", "train/fake/stray",
                                                       "train/real/000", "train/real/001"]
    assert df.loc["train/real/000", "path"] == str(tmp_path / "train/real/000_*")
    assert read_frames(df.loc["train/real/000", "path"], [0, 1, 2]).shape == (3, 20, 24, 3)
    assert df.loc["train/fake/stray", "path"] == str(tmp_path / "train/fake/stray.jpg")
    assert open_video(df.loc["train/fake/stray", "path"]).num_frames == 1
    assert df.loc["train/fake/000_001", "source_id"] == "train/real/000"  # FF++ pair within the split
    assert any("grouped by name into" in n and "1 ungrouped image" in n for n in log.notes)


def test_genconvit_images_without_frame_names_are_one_frame_videos(tmp_path, write_frames):
    write_jpgs(tmp_path / "train" / "real", ["a.jpg", "b.jpg"], write_frames)
    write_jpgs(tmp_path / "train" / "fake", ["c_1.jpg", "d_2.jpg"], write_frames)
    log = ReadLog()
    df = read_dataset(tmp_path, split="all-test", log=log)
    assert sorted(df["video_id"]) == ["train/fake/c_1", "train/fake/d_2", "train/real/a", "train/real/b"]
    assert sum("read as one-frame videos" in n for n in log.notes) == 2
    assert len(read_dataset(tmp_path, split="all-test", images="each")) == 4


def test_group_images_keeps_ambiguous_patterns_apart():
    groups, grouped = group_images(["a_1.jpg", "a_2.jpg", "a_b_1.jpg", "a_b_2.jpg"])
    assert grouped and groups["a_b_*"] == ["a_b_1.jpg", "a_b_2.jpg"]
    assert "a_*" not in groups and groups["a_1.jpg"] == ["a_1.jpg"]  # a_* would also take a_b_*
    assert group_images(["x[1]_0.png", "x[1]_1.png"])[0] == {"x[[]1]_*": ["x[1]_0.png", "x[1]_1.png"]}


def ff_json(root: Path, rgb: Path) -> Path:
    """A DeepfakeBench FF-DF.json (rearrange.py's shape) with c23 and c40 frames under ``rgb``."""
    def videos(sub: str, label: str, names: list[str], level: str) -> dict:
        out = {}
        for name in names:
            rel = f"FaceForensics++/{sub}/{level}/frames/{name}"
            frames(rgb, rel, fill=(level + name).encode())
            out[name] = {"label": label, "frames": [f"{rel}/{i:05d}.png" for i in range(2)]}
        return out

    index = {label: {split: {level: videos(sub, label, names, level) for level in ("c23", "c40")}
                     for split, names in splits.items()}
             for label, sub, splits in (
                 ("FF-real", "original_sequences/youtube", {"train": ["000", "001"], "test": ["002", "003"]}),
                 ("FF-DF", "manipulated_sequences/Deepfakes", {"train": ["000_001"], "test": ["002_003"]}))}
    path = root / "dataset_json" / "FF-DF.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"FF-DF": index}))
    return path


def test_deepfakebench_compression_and_data_root(tmp_path):
    path = ff_json(tmp_path, tmp_path / "rgb")
    with pytest.raises(DataError) as info:
        read_dataset(path)
    text = str(info.value)
    assert "none of the 6 relative frame folders exists under" in text and "--data-root" in text
    assert str(tmp_path / "dataset_json/FaceForensics++/original_sequences/youtube/c23/frames/000") in text
    c40 = read_dataset(path, root=str(tmp_path / "rgb"), compression="c40").set_index("video_id")
    assert len(c40) == 6 and all("/c40/frames/" in p for p in c40["path"])
    assert c40.loc["FF-DF/FF-DF/c40/000_001", "source_id"] == c40.loc["FF-DF/FF-real/c40/000", "source_id"]
    both = read_dataset(path, root=str(tmp_path / "rgb"), compression="all")
    assert len(both) == 12
    with pytest.raises(DataError, match="--data-root .*nowhere: folder not found"):
        read_dataset(path, root=str(tmp_path / "nowhere"))


def test_real_folder_names_and_real_dirs(tmp_path):
    for folder in ("pristine", "sora"):
        (tmp_path / "a" / folder).mkdir(parents=True)
        (tmp_path / "a" / folder / "v.mp4").write_bytes(folder.encode())
    assert set(read_dataset(tmp_path / "a")["generator"]) == {"real", "sora"}
    for folder in ("camera", "sora"):
        (tmp_path / "b" / folder).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "b" / folder / f"v{i}.mp4").write_bytes(folder.encode() + bytes([i]))
    df = read_dataset(tmp_path / "b")
    with pytest.raises(DataError, match=r"no real videos among 6 \(generators found: 'camera', 'sora'\)"
                                        r".*pristine.*--real-dirs"):
        check_has_real(df, "b")
    assert set(read_dataset(tmp_path / "b", real_dirs=("Camera",))["generator"]) == {"real", "sora"}
