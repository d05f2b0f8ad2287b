"""The leak control: every mini trained exactly as for the benchmark, but on permuted labels.

A detector that learns vbench-mini from its pixels cannot beat chance once the link between a
video and its label is cut; one that still does has found something else that tells the classes
apart (file size, name, order, codec, frame count or split), which a real dataset would not
offer. Each runs the published corpus (built once under VBENCH_CACHE) on real videos plus the
generator every mini learns best, with the mini's own training settings (slow: about half a
minute to two minutes per method on two cores).
"""
import json

import pytest

from benchmark.cli import main
from benchmark.data.corpus import build_corpus
from benchmark.data.manifest import load_manifest, save_manifest
from benchmark.registry import registry
from protocols.cross_generator import permute_labels

METHODS = registry().keys(kind="detector")
GENERATOR = "deconv_checkerboard"  # seen AUC 0.99-1.0 with true labels for every mini


@pytest.fixture(scope="module")
def one_generator(tmp_path_factory):
    manifest = load_manifest(build_corpus(progress=False))
    subset = manifest[manifest["generator"].isin(["real", GENERATOR])].copy()
    subset["path"] = [str(p) for p in subset["path"]]  # absolute: the csv lives elsewhere
    out = tmp_path_factory.mktemp("leak") / "real_and_one_generator.csv"
    save_manifest(subset, out)
    return out


def test_permuted_labels_keep_counts_and_are_independent_of_the_truth():
    import pandas as pd

    rows = pd.DataFrame({"video_id": [f"v{i}" for i in range(120)], "label": [1] * 40 + [0] * 80})
    new = permute_labels(rows, seed=0)
    assert new["label"].sum() == 40 and list(new["video_id"]) == list(rows["video_id"])
    # each true class gets its share of the 1s (40/120 of 40 fakes ~ 13, of 80 reals ~ 27)
    assert new.loc[rows["label"] == 1, "label"].sum() == 13
    assert new.loc[rows["label"] == 0, "label"].sum() == 27
    assert new["label"].tolist() == permute_labels(rows, seed=0)["label"].tolist()
    assert new["label"].tolist() != permute_labels(rows, seed=1)["label"].tolist()
    assert rows["label"].tolist() == [1] * 40 + [0] * 80  # the input is left alone
    balanced = permute_labels(rows.iloc[:80].assign(label=[1] * 40 + [0] * 40), seed=3)
    assert balanced.loc[:39, "label"].sum() == 20 and balanced.loc[40:, "label"].sum() == 20


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_permuted_labels_give_chance_on_the_seen_generator(method, one_generator, tmp_path):
    out = tmp_path / "runs"
    assert main(["run", "--protocol", "cross_generator", "--method", method, "--data",
                 str(one_generator), "--option", "labels=permuted", "--out", str(out),
                 "--no-progress"]) == 0
    (run_dir,) = out.glob(f"cross_generator/{method}-mini/*")
    results = json.loads((run_dir / "metrics.json").read_text())
    (row,) = results["rows"]
    assert row["seen"] and row["n_fake"] >= 40 and row["n_real"] >= 80
    assert 0.35 <= row["auc"] <= 0.65, f"{method}: seen AUC {row['auc']:.3f} on permuted labels"
