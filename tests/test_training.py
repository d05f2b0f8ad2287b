"""Training applies the model's start point (init_cfg / `pretrained`) the way mmengine's Runner does."""
import pytest
import torch

from benchmark.data.manifest import load_manifest
from benchmark.detector import build_detector
from benchmark.registry import registry
from benchmark.training import train_config, train_detector


def test_training_calls_init_weights_first(tiny_manifest, monkeypatch):
    cfg = registry().get("sta").config("mini")
    cfg["model"]["backbone"]["layers"] = 1
    detector = build_detector("sta", cfg)
    calls = []
    original = detector.model.init_weights
    monkeypatch.setattr(detector.model, "init_weights", lambda: calls.append(1) or original())
    manifest = load_manifest(tiny_manifest)
    manifest = manifest[manifest["generator"].isin(["real", "flicker"]) & manifest["path"].str.endswith(".mp4")]
    train = manifest[manifest["split"] == "train"]
    val = manifest[manifest["split"] == "val"]
    settings = {**train_config(cfg), "epochs": 1, "batch_size": 4, "num_workers": 0}
    result = train_detector(detector, train, val, settings, progress=False)
    assert calls == [1]
    assert result.best_epoch == 1 and [h["epoch"] for h in result.history] == [1]


def test_training_does_not_depend_on_the_worker_count(tiny_manifest):
    manifest = load_manifest(tiny_manifest)
    manifest = manifest[manifest["generator"].isin(["real", "flicker"]) & manifest["path"].str.endswith(".mp4")]
    results = []
    for workers in (0, 2):
        torch.manual_seed(0)
        cfg = registry().get("sta").config("mini")
        cfg["model"]["backbone"]["layers"] = 1
        detector = build_detector("sta", cfg)
        settings = {**train_config(cfg), "epochs": 2, "batch_size": 2, "balance": False,
                    "num_workers": workers}
        result = train_detector(detector, manifest[manifest["split"] == "train"],
                                manifest[manifest["split"] == "val"], settings, seed=3, progress=False)
        results.append((result.history, detector.model.state_dict()))
    (history_0, state_0), (history_2, state_2) = results
    assert history_0 == history_2
    assert all(torch.equal(state_0[k], state_2[k]) for k in state_0)


def test_multiclass_training_selects_by_balanced_accuracy(tiny_manifest):
    """Class-index labels train a K-way head; the kept epoch is the best validation balanced
    accuracy (recomputed here with scikit-learn from the model's own validation outputs)."""
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score

    from benchmark.inference import predict_videos
    from detectors.sta.detector import StADetector

    manifest = load_manifest(tiny_manifest)
    manifest = manifest[manifest["generator"].isin(["real", "flicker", "latent_ae"])
                        & manifest["path"].str.endswith(".mp4")]
    index = {"real": 0, "flicker": 1, "latent_ae": 2}
    manifest = manifest.assign(label=manifest["generator"].map(index))
    cfg = StADetector.with_num_classes(registry().get("sta").config("mini"), 3)
    cfg["model"]["backbone"]["layers"] = 1
    detector = build_detector("sta", cfg)
    val = manifest[manifest["split"] == "val"]
    settings = {**train_config(cfg), "epochs": 2, "batch_size": 4, "num_workers": 0}
    result = train_detector(detector, manifest[manifest["split"] == "train"], val, settings,
                            progress=False, task="multiclass")
    assert result.criterion == "val_balanced_accuracy" and result.best_val_auc is None
    values = [h["val_balanced_accuracy"] for h in result.history]
    assert result.best_val == max(values) and result.best_epoch == values.index(max(values)) + 1
    probs = predict_videos(detector, val, num_workers=0, progress=False, class_probs=True).probs
    assert probs.shape == (len(val), 3) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert result.best_val == pytest.approx(balanced_accuracy_score(val["label"], probs.argmax(axis=1)))


def _tiny_sta():
    cfg = registry().get("sta").config("mini")
    cfg["model"]["backbone"]["layers"] = 1
    return build_detector("sta", cfg), cfg


def _real_and_flicker(tiny_manifest):
    manifest = load_manifest(tiny_manifest)
    return manifest[manifest["generator"].isin(["real", "flicker"]) & manifest["path"].str.endswith(".mp4")]


def test_the_epochs_share_one_loader_cut_as_one_loader_per_epoch_would(tiny_manifest, tmp_path, monkeypatch):
    import benchmark.data.dataset as dataset_module
    from benchmark.training import _TrainLoaders

    starts = tmp_path / "worker_starts"
    original = dataset_module.seed_worker

    def counting(worker_id):  # runs in the forked worker
        with open(starts, "a") as f:
            f.write(f"{worker_id}\n")
        original(worker_id)

    monkeypatch.setattr(dataset_module, "seed_worker", counting)
    detector, cfg = _tiny_sta()
    rows = _real_and_flicker(tiny_manifest)
    epoch_rows = [rows.head(10), rows.head(7), rows.head(3)]  # batch 4: 2 full (2 dropped), 1 (3 dropped), 1 of 3
    loaders = _TrainLoaders(detector, epoch_rows, {"batch_size": 4, "num_workers": 1}, seed=5)
    try:
        seen = [[list(batch.video_ids) for batch in epoch] for epoch in loaders.epochs]
    finally:
        loaders.close()
    assert [len(e) for e in loaders.epochs] == [2, 1, 1]
    for epoch, (rows_e, batches) in enumerate(zip(epoch_rows, seen)):
        order = list(rows_e.sample(frac=1.0, random_state=(5 * 1_000_003 + epoch) % 2**32)["video_id"])
        expected = [order[i:i + 4] for i in range(0, len(order), 4)]
        if len(order) > 4 and len(expected[-1]) < 4:
            expected.pop()
        assert batches == expected
        assert loaders.epochs[epoch].dataset.epoch == epoch
    assert starts.read_text().split() == ["0"]  # one worker, started once for the three epochs


def test_a_training_that_fails_part_way_stops_its_loader_workers(tiny_manifest, monkeypatch):
    import multiprocessing

    import benchmark.training as training

    detector, cfg = _tiny_sta()
    rows = _real_and_flicker(tiny_manifest)
    calls = []

    def failing_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("out of memory in the third step")
        return original(*args, **kwargs)

    original = detector.model.train_step
    monkeypatch.setattr(detector.model, "train_step", failing_step)
    settings = {**train_config(cfg), "epochs": 3, "batch_size": 2, "num_workers": 1}
    before = set(multiprocessing.active_children())
    with pytest.raises(RuntimeError, match="third step"):
        training.train_detector(detector, rows[rows["split"] == "train"], rows.iloc[:0], settings,
                                progress=False)
    assert len(calls) == 3
    assert set(multiprocessing.active_children()) <= before
