"""The second embedded corpus vbench-mini-footage, on a tiny spec (a build takes seconds)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from benchmark.data import footage
from benchmark.data.footage import GENERATORS, FootageSpec, build_footage
from benchmark.errors import DataError

TINY = FootageSpec(n_real=6, n_fake_per_generator=3, frames=6, width=48, height=32)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_footage(tmp_path_factory.mktemp("footage"), seed=0, progress=False, workers=1,
                         spec=TINY)


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_manifest_domain_and_splits(tiny: Path) -> None:
    from benchmark.data.manifest import check_no_leakage, load_manifest

    manifest = load_manifest(str(tiny))
    check_no_leakage(manifest)
    assert len(manifest) == TINY.n_real + TINY.n_fake_per_generator * len(GENERATORS)
    assert set(manifest["generator"]) == {"real", *GENERATORS}
    assert (manifest["dataset"] == "vbench-mini-footage").all()
    assert manifest["video_id"].str.startswith("footage/").all()  # never collides with vbench-mini
    counts = manifest.groupby(["generator", "split"]).size().unstack(fill_value=0)
    assert (counts > 0).all().all(), counts
    sources = manifest["source_id"].str.split("-").str[1].str.split("@").str[0]
    assert set(sources) <= {"bikes", "carphone", *footage.PHOTOS}
    assert len(set(sources) & {"bikes", "carphone"}) >= 1  # real footage is part of the content


def test_videos_have_this_domains_format(tiny: Path) -> None:
    import av

    manifest = pd.read_csv(tiny)
    for path in manifest["path"]:
        with av.open(str(tiny.parent / path)) as container:
            stream = container.streams.video[0]
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
            assert (stream.codec_context.name, stream.average_rate) == ("h264", TINY.fps)
        assert len(frames) == TINY.frames and frames[0].shape == (TINY.height, TINY.width, 3)


def test_shared_families_are_vbench_minis_own_functions() -> None:
    from benchmark.data.corpus import CORPUS_GENERATORS
    from benchmark.data.corpus_generators import GENERATOR_FUNCTIONS
    from benchmark.data.extra_generators import EXTRA_FUNCTIONS

    shared = set(GENERATORS) & set(CORPUS_GENERATORS)
    assert shared == {"latent_ae", "frame_interp", "temporal_warp"}
    assert set(GENERATORS) - shared == set(EXTRA_FUNCTIONS)
    assert set(CORPUS_GENERATORS) - set(GENERATORS)  # an overlapping, not equal, mix
    assert all(name in GENERATOR_FUNCTIONS for name in shared)


def test_same_seed_same_bytes_with_any_worker_count(tiny: Path, tmp_path: Path) -> None:
    again = build_footage(tmp_path, seed=0, progress=False, workers=2, spec=TINY)
    assert _hashes(again.parent) == _hashes(tiny.parent)
    other = build_footage(tmp_path / "s1", seed=1, progress=False, workers=1, spec=TINY)
    assert _hashes(other.parent)["manifest.csv"] != _hashes(tiny.parent)["manifest.csv"]


def test_cached_build_is_reused(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(footage, "_build_into", lambda *a: pytest.fail("rebuilt a finished corpus"))
    assert build_footage(tiny.parent.parent, seed=0, progress=False, spec=TINY) == tiny


@pytest.mark.parametrize("field, value", [("height", 100), ("width", 20), ("frames", 60),
                                          ("n_real", 2), ("crf", 52)])
def test_bad_spec_names_the_field(field: str, value: int, tmp_path: Path) -> None:
    spec = FootageSpec(**{**TINY.__dict__, field: value})
    with pytest.raises(DataError, match=rf"FootageSpec\.{field}: expected .* got {value}"):
        build_footage(tmp_path, progress=False, spec=spec)


def test_registered_as_a_named_dataset() -> None:
    from benchmark.datasets import DATASETS

    assert "vbench-mini-footage" in DATASETS and "real footage" in DATASETS.description(
        "vbench-mini-footage")
