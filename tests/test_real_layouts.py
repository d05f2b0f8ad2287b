"""tools/real_layouts.py: real clips in every upstream layout, each read as intended (slow: ~1 min)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.data.inspect import inspect_data
from benchmark.data.options import DataOptions

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("skvideo") is None, reason="needs scikit-video")]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("real")
    subprocess.run([sys.executable, str(ROOT / "tools/real_layouts.py"), str(out)], check=True,
                   capture_output=True)
    return out


@pytest.mark.parametrize("name, options, layout, counts, pairs", [
    ("mmvgm", {}, "generator_folders", {"real": 22, "upsample": 11, "flicker": 11}, 22),
    ("aigvdet_sets", {}, "aigvdet", {"real": 22, "fake": 22}, 0),
    ("aigvdet_pergen", {}, "aigvdet", {"real": 8, "upsample": 11, "flicker": 11}, 0),
    ("genconvit_videos", {}, "genconvit", {"real": 22, "fake": 22}, 11),
    ("genconvit_images", {}, "genconvit", {"real": 22, "fake": 22}, 11),
    ("deepfakebench/dataset_json/FF-DF.json", {"root": "rgb", "compression": "c40"}, "deepfakebench",
     {"real": 22, "FF-DF": 22}, 11),
])
def test_each_layout_reads_as_upstream_means_it(layouts, name, options, layout, counts, pairs):
    if "root" in options:
        options = {**options, "root": str(layouts / "deepfakebench" / options["root"])}
    s = inspect_data(str(layouts / name), options=DataOptions(**options)).summary
    assert s["layout"] == layout
    assert {g: sum(c.values()) for g, c in s["counts"].items()} == counts
    assert s["sources"]["real_fake_pairs"] == pairs
    assert s["missing"] == 0 and not [p for p in s["problems"] if p.startswith("any run")]
