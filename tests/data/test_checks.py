"""Fail-loudly checks (issue 9): each names the data, split, class or generator."""
from __future__ import annotations

import pandas as pd
import pytest

from benchmark.data.checks import CHECKS, run_checks
from benchmark.errors import DataError, LeakageError, UnknownKeyError


def manifest(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """(video_id, generator, split) rows; each video its own source and file."""
    return pd.DataFrame([dict(video_id=v, path=f"/d/{v}.mp4", label=int(g != "real"), generator=g,
                              split=s, source_id=v, dataset="d", fingerprint=f"b2v1:{v}")
                         for v, g, s in rows])


GOOD = [("r1", "real", "train"), ("f1", "sora", "train"), ("r2", "real", "val"), ("f2", "sora", "val"),
        ("r3", "real", "test"), ("f3", "sora", "test"), ("f4", "lavie", "test")]


def test_good_manifest_passes_every_check():
    run_checks(manifest(GOOD), list(CHECKS), "d", generators=["sora"])


@pytest.mark.parametrize("rows, check, context, message", [
    ([r for r in GOOD if r[2] != "train"], "train_rows", {},
     r"data 'd': the train split is empty \(videos per split: train 0, val 2, test 3\)"),
    ([r for r in GOOD if r[2] != "test"], "test_rows", {}, "the test split is empty .* --split all-test"),
    ([r for r in GOOD if r[0] != "r2"], "classes", {}, "data 'd': the val split has no real videos"),
    ([r for r in GOOD if r[0] != "f1"], "classes", {"splits": ["train"]},
     "the train split has no generated/fake videos"),
    (GOOD, "generators", {"generators": ["sora", "lavie"]},
     r"generator\(s\) 'lavie' have no training videos, so a model trained on them would see real videos "
     r"only \(generators with training videos: sora\)"),
    ([r for r in GOOD if r[1] != "real"], "real", {}, "no real videos among 4 .*--real-dirs"),
])
def test_each_check_fails_loudly(rows, check, context, message):
    with pytest.raises(DataError, match=message):
        run_checks(manifest(rows), [check], "d", **context)


def test_same_file_under_two_ids_in_two_splits():
    df = manifest(GOOD)
    df.loc[df.video_id == "r3", "path"] = "/d/r1.mp4"  # a hand-made manifest: r1's file again, in test
    with pytest.raises(DataError, match=r"same file \(path\) is in more than one split.*'r1' \(train\), "
                                        r"'r3' \(test\)"):
        run_checks(df, ["leakage"], "d")
    df = manifest(GOOD)
    df.loc[df.video_id == "f3", "fingerprint"] = "b2v1:f1"  # a copy of f1's file under another name
    with pytest.raises(DataError, match=r"same file \(content \(fingerprint\)\).*'f1' \(train\), 'f3' \(test\)"):
        run_checks(df, ["leakage"], "d")
    df = manifest(GOOD)
    df.loc[df.video_id == "f3", "source_id"] = "f1"
    with pytest.raises(LeakageError, match="data 'd': 1 source"):
        run_checks(df, ["leakage"], "d")


def test_missing_files_and_unknown_check():
    df = manifest(GOOD)
    df.loc[df.video_id.isin(["r1", "f1"]), "fingerprint"] = "missing"
    with pytest.raises(DataError, match=r"2 of 7 video file\(s\) or frame folders do not exist"):
        run_checks(df, ["files"], "d")
    run_checks(df, ["files"], "d", splits=["test"])  # an evaluation-only run needs test files only
    with pytest.raises(UnknownKeyError, match="Unknown data check 'leak'. Did you mean: leakage"):
        run_checks(df, ["leak"], "d")
