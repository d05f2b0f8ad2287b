"""Source grouping across classes, split rules and pairing files (issue 9: leak-free splits)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmark.data.manifest import check_no_leakage
from benchmark.data.options import DataOptions
from benchmark.data.readers import read_dataset
from benchmark.data.scan import ReadLog
from benchmark.data.sources import name_key
from benchmark.errors import DataError, UnknownKeyError


def write(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode())  # distinct content per file


def ffpp(root: Path, n: int = 12) -> None:
    """FF++ naming: reals 000..; Deepfakes <target>_<source> for pairs, both directions."""
    reals = [f"{i:03d}" for i in range(n)]
    write(root, *[f"real/{r}.mp4" for r in reals])
    for a, b in zip(reals[0::2], reals[1::2]):
        write(root, f"Deepfakes/{a}_{b}.mp4", f"Deepfakes/{b}_{a}.mp4")


def test_ffpp_fakes_share_their_reals_split(tmp_path):
    ffpp(tmp_path)
    for seed in range(5):  # per-video splits (the old behaviour) separate some pair on most seeds
        df = read_dataset(tmp_path, seed=seed).set_index("video_id")
        check_no_leakage(df.reset_index())
        for i in range(0, 12, 2):
            a, b = f"{i:03d}", f"{i + 1:03d}"
            ids = [f"real/{a}", f"real/{b}", f"Deepfakes/{a}_{b}", f"Deepfakes/{b}_{a}"]
            assert df.loc[ids, "split"].nunique() == 1, (seed, ids)
            assert set(df.loc[ids, "source_id"]) == {f"real/{a}"}


def test_same_stem_and_generator_suffixes_pair(tmp_path):
    write(tmp_path, *[f"real/clip{i}.mp4" for i in range(6)], "sora/clip0.mp4", "sora/clip1_sora.mp4",
          "i2v/clip2_i2v.mp4", "lavie/lavie_clip3.mp4", "lavie/clip4_take2.mp4", "lavie/other.mp4")
    log = ReadLog()
    df = read_dataset(tmp_path, log=log).set_index("video_id")["source_id"].to_dict()
    assert df["sora/clip0"] == "real/clip0"
    assert df["sora/clip1_sora"] == "real/clip1"
    assert df["i2v/clip2_i2v"] == "real/clip2" and df["lavie/lavie_clip3"] == "real/clip3"
    assert df["lavie/clip4_take2"] == "real/clip4"  # prefix R + separator
    assert df["lavie/other"] == "lavie/other"
    assert "shared file stems" in log.grouping


def test_name_key():
    assert name_key("000_003_fake", "FF-DF") == "000_003"
    assert name_key("sora_cat_generated", "sora") == "cat"
    assert name_key("fake", "fake") == "fake"  # never stripped to nothing


def test_sources_video_rule_and_pairing_file(tmp_path):
    write(tmp_path / "data", "real/a.mp4", "real/b.mp4", "real/c.mp4", "gen/x.mp4", "gen/y.mp4", "gen/a.mp4")
    alone = read_dataset(tmp_path / "data", sources="video")
    assert (alone["source_id"] == alone["video_id"]).all()
    pairing = tmp_path / "pairs.csv"
    pairing.write_text("video_id,source_id\nreal/b,s1\ngen/x,s1\ngen/y,s2\nreal/c,s2\n")
    df = read_dataset(tmp_path / "data", sources="video", pairing=str(pairing)).set_index("video_id")
    assert df.loc["gen/x", "source_id"] == df.loc["real/b", "source_id"] == "real/b"
    assert df.loc["gen/y", "source_id"] == "real/c" and df.loc["gen/a", "source_id"] == "gen/a"
    by_path = tmp_path / "paths.csv"
    by_path.write_text("path,source_id\ndata/gen/a.mp4,q\ndata/real/c.mp4,q\n")
    df = read_dataset(tmp_path / "data", sources="video", pairing=str(by_path)).set_index("video_id")
    assert df.loc["gen/a", "source_id"] == "real/c"
    pairing.write_text("video_id,source_id\nreal/bb,s1\n")
    with pytest.raises(DataError, match=r"1 video_id value\(s\) are not in the data, e.g. 'real/bb' "
                                        r"\(did you mean 'real/b'\?\)"):
        read_dataset(tmp_path / "data", pairing=str(pairing))
    pairing.write_text("video,source\nreal/b,s1\n")
    with pytest.raises(DataError, match="expected columns video_id .or path. and source_id"):
        read_dataset(tmp_path / "data", pairing=str(pairing))


def test_split_rules(tmp_path):
    write(tmp_path, *[f"{s}/{c}/v{i}.mp4" for s in ("train", "valid", "test") for c in ("real", "fake")
                      for i in range(4)])
    given = read_dataset(tmp_path)
    assert (given["split"] == given["video_id"].str.split("/").str[0].replace("valid", "val")).all()
    log = ReadLog()
    every = read_dataset(tmp_path, split="all-test", log=log)
    assert set(every["split"]) == {"test"} and len(every) == 24
    assert "ignored" in log.splitting
    redrawn = read_dataset(tmp_path, split="50/0/50", log=log)
    assert set(redrawn["split"]) == {"train", "test"} and "replaces the layout's own splits" in log.splitting


def test_mixed_split_folders_are_refused(tmp_path):
    write(tmp_path, "train/0_real/a.mp4", "train/1_fake/b.mp4", "0_real/c.mp4")
    with pytest.raises(DataError, match="some videos sit under a split folder and others do not"):
        read_dataset(tmp_path)
    assert set(read_dataset(tmp_path, split="all-test")["split"]) == {"test"}


@pytest.mark.parametrize("values, error, message", [
    ({"layout": "aigvdt"}, UnknownKeyError, "Unknown dataset layout 'aigvdt'. Did you mean: aigvdet"),
    ({"split": "60/20"}, DataError, "--split: expected 'given', 'given\\+val=P', 'all-test' or train/val/test percentages"),
    ({"split": "60/30/20"}, DataError, "must sum to 100"),
    ({"split": "100/0/0"}, DataError, "train and test above 0"),
    ({"compression": "c50"}, UnknownKeyError, "Unknown compression level .* 'c50'. Did you mean: c40"),
    ({"sorces": "stem"}, UnknownKeyError, "Unknown data option in t: 'sorces'. Did you mean: sources"),
    ({"fingerprint": "maybe"}, DataError, "fingerprint must be true or false"),
])
def test_options_refuse_bad_values(values, error, message):
    with pytest.raises(error, match=message):
        DataOptions.from_mapping(values, origin="t")


def test_options_parse_cli_strings():
    options = DataOptions.from_mapping({"real_dirs": "pristine,camera/", "split": "70/10/20",
                                        "fingerprint": "false"})
    assert options.real_dirs == ("pristine", "camera") and not options.fingerprint
    assert options.split_rule == ("fractions", (0.7, 0.1, 0.2))
    assert DataOptions().split_rule == ("given", None)
    assert pd.Series(options.to_dict()).loc["real_dirs"] == ["pristine", "camera"]
