"""Shortcut checks on tiny manifests: a storage difference is found, its absence is not invented,
and canonicalizing removes it."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.canonical import canonicalize_manifest
from benchmark.errors import DataError
from benchmark.perturb import codec
from benchmark.shortcuts import media_table, shortcut_report, trivial_classifier_auc
from tests.data.conftest import make_manifest


def write(path, frames, name="libx264", container="mp4", fps=24):
    path.write_bytes(codec.encode_frames(frames, name, crf=20 if name != "libvpx-vp9" else 30,
                                         fps=fps, container=container))
    return path


def clips(n, shape, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


@pytest.fixture
def shortcut_manifest(tmp_path):
    """6 real H.264 64x64 mp4 at 24 fps; 6 generated VP9 96x64 webm at 8 fps; all random noise
    lasting 1 s (so the length is not a difference)."""
    paths, labels = {}, {}
    for i, frames in enumerate(clips(6, (24, 64, 64, 3), 0)):
        paths[f"real{i}"] = write(tmp_path / f"r{i}.mp4", frames)
    for i, frames in enumerate(clips(6, (8, 64, 96, 3), 1)):
        paths[f"gen{i}"] = write(tmp_path / f"g{i}.webm", frames, "libvpx-vp9", "webm", fps=8)
        labels[f"gen{i}"] = 1
    return make_manifest(paths, labels)


def test_finds_a_storage_shortcut(shortcut_manifest):
    report = shortcut_report(media_table(shortcut_manifest))
    text = "\n".join(report.warnings)
    assert "codec: class:generated is 100% vp9, real is 100% h264 (total variation 1.00)" in text
    assert "width: width alone separates class:generated from real with AUC 1.00 (higher" in text
    assert "fps: fps alone separates" in text and "(lower in generated" in text.split("fps:")[1]
    assert report.trivial_auc.set_index("group").loc["class:generated", "logistic"] == 1.0
    assert report.warnings[0].startswith("class:generated: a classifier on container/codec fields")
    numeric = report.numeric.set_index(["group", "field"])
    assert numeric.loc[("class:real", "width"), "median"] == 64
    assert numeric.loc[("generator:gen", "fps"), "max"] == 8
    shares = report.categorical.set_index(["group", "field", "value"]).share
    assert shares[("class:real", "container", "mp4")] == 1.0


def test_no_shortcut_when_storage_is_the_same(tmp_path):
    same = clips(1, (8, 64, 64, 3), 0)[0]
    paths = {f"v{i}": write(tmp_path / f"v{i}.mp4", same) for i in range(8)}
    table = media_table(make_manifest(paths, {f"v{i}": 1 for i in range(4)}))
    report = shortcut_report(table)
    assert report.warnings == []
    assert report.trivial_auc.set_index("group").loc["class:generated", "logistic"] == 0.5
    assert report.separability.auc.isna().all()  # every field is constant


def test_canonicalizing_removes_the_shortcut(shortcut_manifest, tmp_path):
    canon, failures = canonicalize_manifest(shortcut_manifest, "codec=libx264,crf=23,width=64,height=64,fps=8",
                                            tmp_path / "cache")
    assert failures == []
    report = shortcut_report(media_table(canon))
    fields = {w.split(":")[0] for w in report.warnings}
    assert not fields & {"codec", "container", "width", "height", "fps", "frames", "duration", "crf"}


def test_canonicalizing_keeps_a_length_difference(tmp_path):
    """Sample-and-hold keeps each video's duration: a length shortcut survives and stays reported."""
    paths = {f"r{i}": write(tmp_path / f"r{i}.mp4", c) for i, c in enumerate(clips(4, (24, 64, 64, 3), 0))}
    paths |= {f"g{i}": write(tmp_path / f"g{i}.mp4", c) for i, c in enumerate(clips(4, (8, 64, 64, 3), 1))}
    canon, _ = canonicalize_manifest(make_manifest(paths, {f"g{i}": 1 for i in range(4)}),
                                     "codec=libx264,crf=23,width=64,height=64,fps=8", tmp_path / "cache")
    text = "\n".join(shortcut_report(media_table(canon)).warnings)
    assert "duration: duration alone separates class:generated from real with AUC 1.00 (lower" in text


def test_probe_failures_are_kept_and_left_out(shortcut_manifest, tmp_path):
    broken = shortcut_manifest.copy()
    (tmp_path / "random.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    broken.loc[0, "path"] = str(tmp_path / "random.mp4")
    table = media_table(broken)
    assert table.probe_error[0].startswith("undecodable") and np.isnan(table.width[0])
    assert shortcut_report(table).numeric.set_index(["group", "field"]).loc[("class:real", "width"), "n"] == 5


def test_needs_both_classes_and_enough_sources(shortcut_manifest):
    table = media_table(shortcut_manifest)
    with pytest.raises(DataError, match="needs probed real and generated videos; got labels \\[0\\]"):
        shortcut_report(table[table.label == 0])
    few = table[table.video_id.isin(["real0", "gen0", "gen1"])]
    assert np.isnan(trivial_classifier_auc(few)["logistic"])
