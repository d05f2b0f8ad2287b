"""Manifest validation, storage, hashing, splits and leakage."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from benchmark.data.manifest import (REQUIRED_COLUMNS, SPLITS, assign_splits, check_no_leakage,
                                     load_manifest, manifest_hash, save_manifest, select,
                                     validate_manifest)
from benchmark.errors import DataError, LeakageError, UnknownKeyError


def manifest(n_sources: int = 12, generators=("real", "sora", "lavie"), split: str = "test") -> pd.DataFrame:
    rows = []
    for g in generators:
        for s in range(n_sources):
            vid = f"{g}/v{s}"
            rows.append(dict(video_id=vid, path=f"/data/{vid}.mp4", label=int(g != "real"), generator=g,
                             split=split, source_id=f"{g}-{s}", dataset="tiny"))
    return pd.DataFrame(rows)


def test_validate_normalises():
    df = manifest(2).astype({"label": str})
    df["extra"] = 1
    out = validate_manifest(df.iloc[::-1], "m.csv")
    assert list(out.columns) == list(REQUIRED_COLUMNS) + ["extra"]
    assert out["label"].dtype == "int64" and list(out.index) == list(range(len(df)))


@pytest.mark.parametrize("change, message", [
    (lambda df: df.drop(columns=["split", "source_id"]), "missing column(s) split, source_id"),
    (lambda df: df.iloc[:0], "manifest has no rows"),
    (lambda df: df.assign(label=[0, 0, 2, 1, 1, 1]), "label must be 0 (real) or 1"),
    (lambda df: df.assign(split=["train"] * 5 + ["valid"]), "split must be one of train, val, test"),
    (lambda df: df.assign(video_id=list("aabcde")), "video_id must be unique; 1 repeated: 'a'"),
    (lambda df: df.assign(generator="sora"), "label 0 goes with generator 'real'"),
    (lambda df: df.assign(source_id=[None, "x", "y", "z", "u", "w"]), "column 'source_id' is empty in row 0"),
])
def test_validate_errors_name_origin_and_rows(change, message):
    with pytest.raises(DataError) as info:
        validate_manifest(change(manifest(2, ("real", "sora", "lavie"))), "data/m.csv")
    assert str(info.value).startswith("data/m.csv: ") and message in str(info.value)


def test_bad_rows_are_named(tmp_path):
    df = manifest(2)
    df.loc[3, "split"] = "dev"
    df.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(DataError, match=r"line 5 \(video_id 'sora/v1'\): 'dev'"):
        load_manifest(tmp_path / "m.csv")


def test_save_and_load_roundtrip(tmp_path):
    df = manifest(2)
    df["path"] = [str(tmp_path / "videos" / f"{v}.mp4") for v in df["video_id"]]
    df.loc[0, "path"] = "/elsewhere/a.mp4"
    save_manifest(df, tmp_path / "m.csv")
    stored = pd.read_csv(tmp_path / "m.csv", dtype=str)
    assert stored.loc[1, "path"] == "videos/real/v1.mp4" and stored.loc[0, "path"] == "/elsewhere/a.mp4"
    assert os.listdir(tmp_path) == ["m.csv"]  # no temporary file left
    loaded = load_manifest(tmp_path / "m.csv")
    pd.testing.assert_frame_equal(loaded, validate_manifest(df, "x"))


def test_load_keeps_ids_as_text(tmp_path):
    (tmp_path / "m.csv").write_text("video_id,path,label,generator,split,source_id,dataset\n"
                                    "007,v/007.mp4,0,real,test,007,d\n")
    df = load_manifest(tmp_path / "m.csv")
    assert df.loc[0, "video_id"] == "007" and df.loc[0, "path"] == str(tmp_path / "v" / "007.mp4")


def test_load_errors(tmp_path):
    with pytest.raises(DataError, match="manifest file not found"):
        load_manifest(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="not a readable CSV manifest"):
        load_manifest(tmp_path / "empty.csv")


def test_hash_ignores_row_order_and_location():
    df = manifest(3)
    moved = df.sample(frac=1, random_state=0).assign(path=lambda d: d["path"].str.replace("/data", "/mnt"))
    assert manifest_hash(df) == manifest_hash(moved)
    assert len(manifest_hash(df)) == 64
    changed = df.copy()
    changed.loc[0, "split"] = "train"
    assert manifest_hash(changed) != manifest_hash(df)


def test_assign_splits_groups_sources_and_covers_generators():
    df = manifest(10)
    df = pd.concat([df, df[df.generator == "sora"].assign(video_id=lambda d: d.video_id + "_c40")])
    out = assign_splits(df, seed=3)
    check_no_leakage(out)
    for _, group in out.groupby("generator"):
        assert set(group["split"]) == set(SPLITS)
    counts = out[out.generator == "real"]["split"].value_counts()
    assert counts.to_dict() == {"train": 6, "val": 2, "test": 2}
    assert out["split"].tolist() == assign_splits(df, seed=3)["split"].tolist()
    assert out["split"].tolist() != assign_splits(df, seed=4)["split"].tolist()


def test_assign_splits_small_groups_and_fractions():
    out = assign_splits(manifest(3, ("real",)), fractions=(0.8, 0.1, 0.1))
    assert sorted(out["split"]) == ["test", "train", "val"]
    out = assign_splits(manifest(5, ("real",)), fractions=(0.8, 0.0, 0.2))
    assert "val" not in set(out["split"])
    with pytest.raises(DataError, match="sum to 1"):
        assign_splits(manifest(3), fractions=(0.5, 0.2, 0.2))


def test_leakage_is_reported():
    df = manifest(12, ("real",))
    df["split"] = ["train", "test"] * 6
    check_no_leakage(df)  # one video per source
    df["source_id"] = ["s" + str(i // 2) for i in range(11)] + ["s99"]
    with pytest.raises(LeakageError) as info:
        check_no_leakage(df)
    text = str(info.value)
    assert text.startswith("5 source(s) appear in more than one split") and "'s0' (test, train)" in text


def test_leakage_lists_at_most_ten():
    df = manifest(30, ("real",))
    df["source_id"] = ["s" + str(i // 2) for i in range(30)]
    df["split"] = ["train", "val"] * 15
    with pytest.raises(LeakageError, match="15 source.*and 5 more"):
        check_no_leakage(df)


def test_select():
    df = assign_splits(manifest(5))
    test = select(df, split="test")
    assert set(test["split"]) == {"test"} and list(test.index) == list(range(len(test)))
    pair = select(df, split=["val", "test"], generators=["real", "sora"])
    assert set(pair["generator"]) == {"real", "sora"} and "train" not in set(pair["split"])
    with pytest.raises(UnknownKeyError, match="Unknown split 'valid'. Did you mean: val"):
        select(df, split="valid")
    with pytest.raises(UnknownKeyError, match="Unknown generator 'sorra'. Did you mean: sora"):
        select(df, generators=["sorra"])
