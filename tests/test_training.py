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
