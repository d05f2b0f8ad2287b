"""Tests for the embedded corpus vbench-mini, on a tiny spec so each build takes about a second."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from benchmark.data import corpus
from benchmark.data.corpus import CORPUS_GENERATORS, CorpusSpec, build_corpus, default_cache_dir
from benchmark.errors import DataError

TINY = CorpusSpec(n_real=6, n_fake_per_generator=3, frames=5, size=32)


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, keyed by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("cache"), seed=0, progress=False, workers=1,
                        spec=TINY)


@pytest.fixture(scope="module")
def manifest(tiny_manifest: Path) -> pd.DataFrame:
    return pd.read_csv(tiny_manifest)


def test_at_least_six_generators_each_implemented() -> None:
    from benchmark.data.corpus_generators import GENERATOR_FUNCTIONS

    assert len(CORPUS_GENERATORS) >= 6
    assert set(GENERATOR_FUNCTIONS) == set(CORPUS_GENERATORS)
    assert all(isinstance(text, str) and text for text in CORPUS_GENERATORS.values())


def test_manifest_schema_and_labels(tiny_manifest: Path, manifest: pd.DataFrame) -> None:
    assert tuple(manifest.columns) == corpus.MANIFEST_COLUMNS
    assert len(manifest) == TINY.n_real + TINY.n_fake_per_generator * len(CORPUS_GENERATORS)
    assert manifest.video_id.is_unique
    assert (manifest.video_id + ".mp4" == manifest.path).all()  # id = relative path sans extension
    assert set(manifest.generator) == {"real", *CORPUS_GENERATORS}
    assert (manifest.label == (manifest.generator != "real").astype(int)).all()
    assert set(manifest.split) == {"train", "val", "test"}
    assert (manifest.dataset == "vbench-mini").all()
    assert all((tiny_manifest.parent / p).is_file() for p in manifest.path)
    assert tiny_manifest.parent.name.startswith(f"vbench-mini-{corpus.VERSION}-seed0")


def test_strengths_sit_beside_the_manifest_not_in_it(tiny_manifest: Path,
                                                    manifest: pd.DataFrame) -> None:
    strengths = pd.read_csv(tiny_manifest.parent / corpus.STRENGTHS)
    assert tuple(strengths.columns) == corpus.STRENGTH_COLUMNS
    fakes = manifest[manifest.generator != "real"]
    assert sorted(strengths.video_id) == sorted(fakes.video_id)  # one row per generated video
    assert strengths.set_index("video_id").generator.to_dict() == fakes.set_index("video_id").generator.to_dict()
    assert strengths.strength.between(0, 1).all() and strengths.strength.nunique() > 1
    assert "strength" not in manifest.columns


def test_a_family_is_cruder_at_higher_strength() -> None:
    """At s = 1 every family moves the clean render further than at s = 0 (same draws)."""
    import numpy as np

    from benchmark.data.corpus_generators import GENERATOR_FUNCTIONS
    from benchmark.data.corpus_render import render_shot, sample_shot

    clean = render_shot(sample_shot(np.random.default_rng(3), 8, 48), 8, 48)
    for name, family in GENERATOR_FUNCTIONS.items():
        change = [float(np.abs(family(clean, np.random.default_rng(7), s) - clean).mean())
                  for s in (0.0, 1.0)]
        assert change[1] > change[0], (name, change)


def test_manifest_passes_the_manifest_contract(tiny_manifest: Path) -> None:
    from benchmark.data.manifest import check_no_leakage, load_manifest

    loaded = load_manifest(str(tiny_manifest))
    check_no_leakage(loaded)
    assert all(Path(p).is_file() for p in loaded.path)


def test_every_generator_in_every_split(manifest: pd.DataFrame) -> None:
    counts = manifest.groupby(["generator", "split"]).size().unstack(fill_value=0)
    assert (counts > 0).all().all(), counts


def test_no_source_spans_two_splits(manifest: pd.DataFrame) -> None:
    assert manifest.source_id.is_unique  # every video is its own source
    assert (manifest.groupby("source_id").split.nunique() == 1).all()


def test_videos_decode_with_identical_encoding(tiny_manifest: Path, manifest: pd.DataFrame) -> None:
    import av

    for path in manifest.path:
        with av.open(str(tiny_manifest.parent / path)) as container:
            stream = container.streams.video[0]
            setup = (stream.codec_context.name, stream.codec_context.pix_fmt, stream.average_rate)
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert setup == ("h264", "yuv420p", TINY.fps), path
        assert len(frames) == TINY.frames, path
        assert all(f.shape == (TINY.size, TINY.size, 3) for f in frames), path


def test_same_seed_gives_identical_bytes_across_worker_counts(tiny_manifest: Path,
                                                             tmp_path: Path) -> None:
    again = build_corpus(tmp_path, seed=0, progress=False, workers=2, spec=TINY)
    assert file_hashes(again.parent) == file_hashes(tiny_manifest.parent)


def test_different_seed_gives_different_videos(tiny_manifest: Path, tmp_path: Path) -> None:
    other = build_corpus(tmp_path, seed=1, progress=False, workers=1, spec=TINY)
    assert other.parent.name.startswith(f"vbench-mini-{corpus.VERSION}-seed1")
    ours, theirs = file_hashes(tiny_manifest.parent), file_hashes(other.parent)
    videos = [name for name in ours if name.endswith(".mp4")]
    assert sorted(videos) == sorted(n for n in theirs if n.endswith(".mp4"))
    assert all(ours[name] != theirs[name] for name in videos)


def test_second_call_returns_without_rebuilding(tiny_manifest: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    before = {p: p.stat().st_mtime_ns for p in tiny_manifest.parent.rglob("*")}

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilt a finished corpus")

    monkeypatch.setattr(corpus, "_build_into", fail)
    again = build_corpus(tiny_manifest.parent.parent, seed=0, progress=False, spec=TINY)
    assert again == tiny_manifest
    assert {p: p.stat().st_mtime_ns for p in tiny_manifest.parent.rglob("*")} == before


def test_force_and_stale_marker_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = CorpusSpec(n_real=3, n_fake_per_generator=3, frames=2, size=16)
    first = build_corpus(tmp_path, progress=False, workers=1, spec=spec)
    built = []
    real_build = corpus._build_into
    monkeypatch.setattr(corpus, "_build_into", lambda *a: built.append(1) or real_build(*a))
    build_corpus(tmp_path, progress=False, workers=1, spec=spec, force=True)
    (first.parent / corpus.MARKER).write_text("digest of another spec\n")
    build_corpus(tmp_path, progress=False, workers=1, spec=spec)
    assert len(built) == 2
    assert corpus.is_complete(first.parent, spec.digest(0))
    assert [p.name for p in tmp_path.iterdir()] == [first.parent.name]  # no leftovers


def test_interrupted_build_leaves_no_corpus(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_render = corpus.render_video

    def render_then_crash(job: corpus.VideoJob, folder: Path) -> dict[str, str]:
        calls.append(job)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real_render(job, folder)

    monkeypatch.setattr(corpus, "render_video", render_then_crash)
    with pytest.raises(KeyboardInterrupt):
        build_corpus(tmp_path, progress=False, workers=1, spec=TINY)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("field, value", [("n_real", 2), ("n_fake_per_generator", 0),
                                          ("size", 31), ("frames", 1), ("crf", 60)])
def test_bad_spec_names_the_field(field: str, value: int, tmp_path: Path) -> None:
    spec = CorpusSpec(**{**TINY.__dict__, field: value})
    with pytest.raises(DataError, match=rf"CorpusSpec\.{field}: expected .* got {value}"):
        build_corpus(tmp_path, progress=False, spec=spec)


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"seed": 1.5}, {"workers": 0}])
def test_bad_arguments_are_named(kwargs: dict[str, object], tmp_path: Path) -> None:
    (name, value), = kwargs.items()
    with pytest.raises(DataError, match=rf"build_corpus\({name}=\.\.\.\): expected .* got {value}"):
        build_corpus(tmp_path, progress=False, spec=TINY, **kwargs)


def test_default_spec_uses_the_plain_folder_name(tmp_path: Path) -> None:
    plain = tmp_path / f"vbench-mini-{corpus.VERSION}-seed3"
    assert corpus.corpus_dir(tmp_path, 3, CorpusSpec()) == plain
    assert corpus.corpus_dir(tmp_path, 3, TINY) != plain


def test_default_cache_dir_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VBENCH_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("VBENCH_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "vbench"


def test_strengths_file_lists_every_generated_video(tiny_manifest: Path,
                                                    manifest: pd.DataFrame) -> None:
    strengths = pd.read_csv(tiny_manifest.parent / corpus.STRENGTHS)
    assert tuple(strengths.columns) == corpus.STRENGTH_COLUMNS
    fakes = manifest[manifest.label == 1]
    assert sorted(strengths.video_id) == sorted(fakes.video_id)
    assert strengths.set_index("video_id").generator.to_dict() == \
        fakes.set_index("video_id").generator.to_dict()
    assert strengths.strength.between(0.0, 1.0).all()
    assert "strength" not in manifest.columns  # detectors never see it
