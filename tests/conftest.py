"""Fixtures shared across test modules.

The example plugin (tests/plugins/vbench-example) is on ``$VBENCH_PATH`` for the whole session,
set here at import time, before any test module is collected: the registries fill on first use,
so every test parametrised over them (the contract test, the goldens, the GPU and inference
tests) covers the plugin's detector exactly like the built-ins. Subprocesses inherit it; a test
that needs vbench alone removes it from their environment.
"""
import os
from pathlib import Path

EXAMPLE_PLUGIN = Path(__file__).resolve().parent / "plugins" / "vbench-example" / "vbench_example"
os.environ["VBENCH_PATH"] = os.pathsep.join(
    [str(EXAMPLE_PLUGIN), *filter(None, os.environ.get("VBENCH_PATH", "").split(os.pathsep))])

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from benchmark.data.corpus import CorpusSpec, build_corpus  # noqa: E402
from benchmark.data.manifest import load_manifest, save_manifest  # noqa: E402


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
