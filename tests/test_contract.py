"""One contract every registered detector passes (parametrised over registry.yaml)."""
import pytest
import torch

from benchmark.detector import Detector, build_detector
from benchmark.registry import registry

METHODS = registry().keys(kind="detector")  # defences: tests/test_defence_contract.py


@pytest.fixture(scope="module", params=METHODS)
def mini(request):
    torch.manual_seed(0)
    return request.param, build_detector(request.param, "mini")


def _clips(detector, n=2):
    spec = detector.spec
    generator = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (n, 3, spec.frames, spec.size, spec.size), dtype=torch.uint8,
                         generator=generator)  # [N, 3, T, H, W]


def test_entry_is_complete(mini):
    key, _ = mini
    entry = registry().get(key)
    assert entry.paper.get("title") and entry.paper.get("arxiv") and entry.paper.get("year")
    assert entry.upstream.startswith("https://")
    assert entry.tasks and entry.trained_on
    assert "paper" in entry.weights and entry.weights["paper"].get("file")


def test_builds_a_detector_with_mmaction_parts(mini):
    key, detector = mini
    assert isinstance(detector, Detector)
    model = detector.model
    for part in ("data_preprocessor", "backbone", "cls_head"):
        assert hasattr(model, part), f"{key}: model lacks {part}"
    assert not model.training


def test_scores_are_probabilities_and_deterministic(mini):
    key, detector = mini
    clips = _clips(detector)
    first, second = detector.clip_scores(clips), detector.clip_scores(clips)
    assert first.shape == (2,)
    assert torch.isfinite(first).all()
    assert ((first >= 0) & (first <= 1)).all()
    assert torch.equal(first, second), f"{key}: eval-mode scores differ between two calls"


def test_class_probs_and_aggregation(mini):
    _, detector = mini
    clips = _clips(detector, n=3)
    probs = detector.class_probs(clips)
    assert torch.allclose(probs.sum(dim=1), torch.ones(3), atol=1e-5)
    scores = detector.clip_scores(clips)
    video = detector.aggregate(scores, torch.tensor([0, 0, 1]), 2)
    assert torch.allclose(video, torch.stack([scores[:2].mean(), scores[2]]))


def test_paper_config_resolves(mini):
    key, _ = mini
    cfg = registry().get(key).config("paper")
    assert cfg["model"]["type"] and cfg["input"]["frames"] > 0


MULTICLASS = [key for key in METHODS if "multiclass" in registry().get(key).tasks]


@pytest.mark.parametrize("key", MULTICLASS)
def test_multiclass_methods_build_a_k_way_head(key):
    """Every method that declares the multi-class task gives K class probabilities per clip."""
    entry = registry().get(key)
    config = entry.load_class().with_num_classes(entry.config("mini"), 5)
    torch.manual_seed(0)
    detector = build_detector(key, config)
    assert detector.num_classes == 5
    probs = detector.class_probs(_clips(detector, n=3))  # [3, 5]
    assert probs.shape == (3, 5) and torch.allclose(probs.sum(dim=1), torch.ones(3), atol=1e-5)
    video = detector.aggregate_probs(probs, torch.tensor([0, 0, 1]), 2)  # [2, 5]
    assert torch.allclose(video, torch.stack([probs[:2].mean(dim=0), probs[2]]))


def test_binary_only_methods_are_not_declared_multiclass():
    assert "sta" in MULTICLASS and "aigvdet" not in MULTICLASS and "genconvit" not in MULTICLASS
