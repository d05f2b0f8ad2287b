"""The forward in the loader's workers (`benchmark.worker_forward`, the CPU default for evaluation
on >= 2 cores) gives the in-process scores exactly: the same batches, videos that fail recorded
the same, class probabilities, perturbed views, and the same cost counts."""
import numpy as np
import pandas as pd
import pytest

from benchmark.cost_meter import CostMeter
from benchmark.data.manifest import load_manifest
from benchmark.detector import build_detector
from benchmark.inference import predict_videos, predict_views


@pytest.fixture(scope="module")
def frame(tiny_manifest):
    return load_manifest(tiny_manifest).head(14).reset_index(drop=True)  # includes no broken video


@pytest.fixture(scope="module")
def with_broken(tiny_manifest):
    manifest = load_manifest(tiny_manifest)
    broken = manifest[manifest["video_id"] == "videos/real/broken"]
    return pd.concat([manifest.head(9), broken, manifest.iloc[9:13]], ignore_index=True)


def _run(detector, manifest, **kw):
    cost = CostMeter("cpu")
    preds = predict_videos(detector, manifest, batch_size=4, progress=False, cost=cost, **kw)
    return preds, cost.unit_record()


@pytest.mark.parametrize("method", ["sta", "aigvdet"])
def test_scores_failures_and_costs_equal_the_in_process_forward(method, with_broken):
    detector = build_detector(method, "mini")
    here, here_cost = _run(detector, with_broken, num_workers=1)
    there, there_cost = _run(detector, with_broken, num_workers=2, forward_threads=1)
    np.testing.assert_array_equal(there.score, here.score)  # bit for bit: the same batches
    np.testing.assert_array_equal(there.n_clips, here.n_clips)
    assert there.error == here.error and sum(e is not None for e in there.error) == 1
    assert "broken" in there.video_id[int(np.flatnonzero([e is not None for e in there.error])[0])]
    for key in ("n_videos", "n_clips", "gflops_per_clip", "clip_shape", "params_m"):
        assert there_cost.get(key) == here_cost.get(key), key
    assert there_cost["forward_s"] > 0 and there_cost["peak_memory_mb"] > 0
    assert "loader workers that ran the forward" in there_cost["memory_measured_by"]
    assert "loader workers" not in here_cost["memory_measured_by"]


def test_class_probabilities_equal_the_in_process_forward(frame):
    from benchmark.registry import registry

    entry = registry().get("sta")
    detector = build_detector("sta", entry.load_class().with_num_classes(entry.config("mini"), 3))
    here = predict_videos(detector, frame, batch_size=4, num_workers=0, progress=False, class_probs=True)
    there = predict_videos(detector, frame, batch_size=4, num_workers=2, progress=False, class_probs=True,
                           forward_threads=1)
    assert here.probs.shape == (len(frame), 3)
    np.testing.assert_array_equal(there.probs, here.probs)


def test_views_scored_in_the_workers_equal_the_in_process_ones(frame):
    from benchmark.data.views import View

    detector = build_detector("sta", "mini")
    views = [View("none", 0), View("df_blur", 5)]
    here, _ = predict_views(detector, frame, views, batch_size=4, num_workers=1, progress=False)
    there, timings = predict_views(detector, frame, views, batch_size=4, num_workers=2,
                                   progress=False, forward_threads=1)
    for a, b in zip(here, there):
        np.testing.assert_array_equal(b.score, a.score)
        np.testing.assert_array_equal(b.n_clips, a.n_clips)
    assert not np.isnan(there[1].score).any() and not np.array_equal(there[0].score, there[1].score)
    assert len(timings["decode"]) == len(frame)


def test_without_workers_the_forward_stays_in_the_main_process(frame, monkeypatch):
    from benchmark import worker_forward

    called = []
    monkeypatch.setattr(worker_forward.ScoreBatches, "__call__",
                        lambda self, items: called.append(1) or pytest.fail("forwarded in a worker"))
    preds = predict_videos(build_detector("sta", "mini"), frame, batch_size=4, num_workers=0,
                           forward_threads=1, progress=False)
    assert not called and not np.isnan(preds.score).any()


def test_a_run_forwarding_in_workers_equals_one_with_the_forward_in_the_main_process(
        tiny_manifest, tmp_path, monkeypatch):
    """Trained, validated and tested for real: the default on 2 cores (forward in the workers)
    and ``--threads 1 --workers 1`` (the same torch threads, forward in the main process) store
    the same scores and pick the same epochs."""
    import json
    import os

    from benchmark.cli import main

    manifest = pd.read_csv(tiny_manifest)
    manifest = manifest[manifest["generator"].isin(["real", "flicker", "deconv_checkerboard"])
                        & manifest["path"].str.endswith(".mp4")]
    manifest["path"] = [str((tiny_manifest.parent / p).resolve()) for p in manifest["path"]]
    data = tmp_path / "small.csv"
    manifest.to_csv(data, index=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    base = ["run", "--protocol", "cross_generator", "--method", "sta", "--no-progress",
            "--data", str(data), "--cfg-options", "train.epochs=2", "model.backbone.layers=1"]
    runs = {}
    for name, flags in (("auto", []), ("flags", ["--threads", "1", "--workers", "1"])):
        assert main(base + flags + ["--out", str(tmp_path / name)]) in (0, 3)
        runs[name] = next((tmp_path / name).glob("cross_generator/sta-mini/*"))
    info = {k: json.loads((d / "run.json").read_text()) for k, d in runs.items()}
    assert info["auto"]["parallelism"]["evaluation"]["forward"] == "loader workers"
    assert info["flags"]["parallelism"]["evaluation"]["forward"] == "main process"
    assert info["auto"]["cost"]["forward"] == "loader workers"
    assert info["auto"]["cost"]["n_videos"] == info["flags"]["cost"]["n_videos"] > 0
    auto, flags = (pd.read_parquet(d / "scores.parquet") for d in (runs["auto"], runs["flags"]))
    assert len(auto) and auto["score"].notna().any()
    pd.testing.assert_frame_equal(auto, flags)
