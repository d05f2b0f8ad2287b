"""canonicalize: one recipe for every video, cached once per recipe; bad recipes named."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.data import canonical
from benchmark.data.canonical import (Recipe, canonicalize, canonicalize_manifest, fit_frames,
                                      parse_recipe, recipe_hash)
from benchmark.data.media import probe_media
from benchmark.data.video import read_frames
from benchmark.errors import DataError, UnknownKeyError, VideoDecodeError
from benchmark.perturb import codec
from benchmark.perturb.errors import PerturbationSpecError

SMALL = "codec=libx264,crf=23,width=32,height=32,fps=12"


def test_output_follows_the_recipe(tmp_path, write_mp4):
    source = write_mp4(tmp_path / "a.mp4", n=24, h=48, w=64, noise=True)  # 24 fps, 1 s
    out = canonicalize(source, SMALL, tmp_path / "cache")
    info = probe_media(out)
    assert (info["codec"], info["width"], info["height"], info["fps"], info["crf"]) == ("h264", 32, 32, 12.0, 23.0)
    assert info["frames"] == 12 and info["duration"] == pytest.approx(1.0)
    frames = read_frames(str(out), [0, 11])
    assert abs(int(frames[0, 16, 16, 0]) - 0) < 12 and abs(int(frames[1, 28, 16, 0]) - 220) < 12  # frames 0, 22


def test_cached_once_per_recipe(tmp_path, write_mp4, monkeypatch):
    source = write_mp4(tmp_path / "a.mp4")
    first = canonicalize(source, SMALL, tmp_path / "cache")
    calls = []
    monkeypatch.setattr(canonical, "_encode", lambda src, recipe, target: calls.append(target.write_bytes(b"x")))
    assert canonicalize(source, parse_recipe(SMALL), tmp_path / "cache") == first and calls == []
    other = canonicalize(source, SMALL.replace("crf=23", "crf=30"), tmp_path / "cache")
    assert other.parent != first.parent and len(calls) == 1
    assert len(list((tmp_path / "cache").rglob("*.tmp.mp4"))) == 0


def test_frame_folder_and_fit_modes(tmp_path, write_frames):
    folder = write_frames(tmp_path / "frames", n=5, h=40, w=50)
    out = canonicalize(folder, SMALL + ",fit=pad", tmp_path / "cache")
    info = probe_media(out)
    assert (info["frames"], info["width"], info["height"]) == (5, 32, 32)  # no rate: frames kept
    wide = np.full((1, 20, 40, 3), 200, np.uint8)
    padded, cropped = fit_frames(wide, 32, 32, "pad"), fit_frames(wide, 32, 32, "crop")
    assert (padded[0, :8] == 0).all() and (padded[0, 8:24] == 200).all() and (cropped == 200).all()


def test_recipe_hash():
    assert recipe_hash("h264-crf23-224p25") == recipe_hash({}) == recipe_hash(Recipe())
    assert recipe_hash({"crf": 24}) != recipe_hash({}) and len(recipe_hash({})) == 64
    assert recipe_hash("codec=libx264,crf=23,width=224,height=224,fps=25") == recipe_hash(Recipe())


@pytest.mark.parametrize("recipe, error, match", [
    ("h264-crf99", UnknownKeyError, "Unknown canonicalize recipe 'h264-crf99'. Did you mean: h264-crf23"),
    ({"crff": 20}, UnknownKeyError, "Unknown canonicalize recipe field 'crff'. Did you mean: crf"),
    ({"width": 33}, DataError, "width must be an even number >= 2 \\(yuv420p\\), got 33"),
    ({"fit": "stretch"}, DataError, "fit must be one of crop, pad, got 'stretch'"),
    ({"fps": 0}, DataError, "fps must be > 0, got 0.0"),
    ({"crf": 70}, PerturbationSpecError, "crf of 'libx264' must be in \\[0, 51\\], got 70"),
    ({"width": "wide"}, DataError, "could not convert|invalid literal"),
    ({"codec": "libaom-av1"}, PerturbationSpecError, "codec 'libaom-av1' is not one the engine drives"),
])
def test_bad_recipes(recipe, error, match):
    with pytest.raises(error, match=match):
        parse_recipe(recipe)


def test_codec_missing_locally(monkeypatch):
    monkeypatch.setattr(codec, "has_encoder", lambda name: name == "libx264")
    with pytest.raises(PerturbationSpecError, match="'libvpx-vp9' is not in this FFmpeg build"):
        parse_recipe({"codec": "libvpx-vp9", "crf": 30, "preset": "4"})


def test_manifest_with_a_broken_video(tmp_path, write_mp4, bad_videos, manifest_of):
    manifest = manifest_of({"good": write_mp4(tmp_path / "g.mp4"), "bad": bad_videos["random"],
                            "gone": bad_videos["missing"]})
    out, failures = canonicalize_manifest(manifest, SMALL, tmp_path / "cache")
    assert out.video_id.tolist() == ["good"] and out.path[0].endswith(".mp4")
    assert [f[0] for f in failures] == ["bad", "gone"] and "undecodable" in failures[0][1]
    with pytest.raises(VideoDecodeError, match="file not found"):
        canonicalize(bad_videos["missing"], SMALL, tmp_path / "cache")
