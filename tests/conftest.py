"""Fixtures shared across test modules."""
import pandas as pd
import pytest

from benchmark.data.corpus import CorpusSpec, build_corpus
from benchmark.data.manifest import load_manifest, save_manifest


@pytest.fixture(autouse=True, scope="session")
def _fingerprint_cache(tmp_path_factory):
    """Tests fingerprint many temporary files: keep their cache out of the user's."""
    import os

    saved = os.environ.get("VBENCH_FINGERPRINT_CACHE")
    os.environ["VBENCH_FINGERPRINT_CACHE"] = str(tmp_path_factory.mktemp("fp") / "fingerprints.sqlite")
    yield
    if saved is None:
        os.environ.pop("VBENCH_FINGERPRINT_CACHE", None)
    else:
        os.environ["VBENCH_FINGERPRINT_CACHE"] = saved


@pytest.fixture(scope="module")
def tiny_manifest(tmp_path_factory):
    """A small vbench-mini (3 fakes per generator) plus one broken video in the test split."""
    root = tmp_path_factory.mktemp("corpus")
    path = build_corpus(root, seed=0, progress=False, workers=2,
                        spec=CorpusSpec(n_real=9, n_fake_per_generator=3, frames=16, size=48))
    manifest = load_manifest(path)
    broken = root / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 definitely not a video")
    extra = {"video_id": "videos/real/broken", "path": str(broken), "label": 0, "generator": "real",
             "split": "test", "source_id": "broken-source", "dataset": "vbench-mini"}
    manifest = pd.concat([manifest, pd.DataFrame([extra])], ignore_index=True)
    out = root / "with_broken.csv"
    save_manifest(manifest, out)
    return out
