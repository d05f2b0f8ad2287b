"""MMVGM I3D: official checkpoint layout, strict loading, "same" padding, head, mini model."""
from __future__ import annotations


import pytest
import torch

from benchmark.errors import RegistryError, WeightsError
from benchmark.registry import registry
from tests.detectors.common import load_error, train_step, upstream_dump

UPSTREAM_KEYS_FILE = "mmvgm_i3d.json"
PAPER_KEYS, PAPER_NUMEL_9 = 344, 12_311_106  # InceptionI3d(400) after replace_logits(9)


def _config(name: str = "mini", num_classes: int | None = None) -> dict:
    cfg = registry().get("mmvgm_i3d").config(name)
    if num_classes is not None:
        cfg["model"]["cls_head"]["num_classes"] = num_classes
    return cfg


def _detector(name: str = "mini", num_classes: int | None = None, cfg: dict | None = None):
    from detectors.mmvgm_i3d import MMVGMI3DDetector

    return MMVGMI3DDetector(cfg or _config(name, num_classes))


def _randomize(model: torch.nn.Module, seed: int = 0) -> None:
    """Fills every float tensor, BN statistics included, so a mis-mapped key changes outputs.

    Convolutions get He-scaled noise and BN layers stay near identity: the activations neither
    vanish nor explode through I3D's depth, so different clips get different logits.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if not value.dtype.is_floating_point:
                continue
            noise = torch.randn(value.shape, generator=gen)
            if value.ndim == 5:  # conv weight [C_out, C_in, t, h, w]
                value.copy_(noise * (2.0 / value[0].numel()) ** 0.5)
            elif key.endswith(("running_var", "bn.weight")):
                value.copy_(1.0 + 0.1 * noise.abs())
            else:  # BN bias / running_mean, logits bias
                value.copy_(0.1 * noise)


def _clips(n: int, size: int, frames: int = 16, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, frames, size, size), generator=gen, dtype=torch.uint8)


def _upstream_keys() -> dict[str, list[int]]:
    return upstream_dump(UPSTREAM_KEYS_FILE)["keys"]


# -- paper config: the official checkpoint layout ----------------------------------------------
@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """The paper config built for 9-way source tracing (as the key dump), random weights, saved."""
    torch.manual_seed(0)
    det = _detector("paper", num_classes=9)
    _randomize(det.model)
    path = tmp_path_factory.mktemp("mmvgm_i3d") / "checkpoints.pt"
    state = det.official_state_dict()
    torch.save(state, path)
    return det, state, path


def test_paper_layout_equals_upstream_key_dump(paper):
    _, state, _ = paper
    expected = _upstream_keys()
    assert list(state) == list(expected)  # names and order (logits first, as upstream)
    assert {k: list(v.shape) for k, v in state.items()} == expected


def test_paper_layout_size_without_the_dump(paper):
    _, state, _ = paper
    assert len(state) == PAPER_KEYS
    assert sum(v.numel() for v in state.values()) == PAPER_NUMEL_9
    assert list(state)[:2] == ["logits.conv3d.weight", "logits.conv3d.bias"]
    assert tuple(state["Mixed_5c.b3b.bn.running_var"].shape) == (128,)


def test_paper_checkpoint_reloads_strictly_with_identical_outputs(paper):
    det, _, path = paper
    fresh = _detector("paper", num_classes=9)
    summary = fresh.load_weights(path)
    assert summary.loaded == PAPER_KEYS and not summary.ignored
    clip = _clips(1, 224, seed=1)  # the smallest input the [2, 7, 7] pool takes: 16 x 224
    logits = det.clip_logits(clip)
    assert logits.shape == (1, 9)
    assert torch.equal(logits, fresh.clip_logits(clip))
    assert logits.std() > 1e-3  # the random weights carry signal: a mis-mapped key would show


def test_renamed_key_is_refused_naming_file_and_key(paper, tmp_path):
    det, state, _ = paper
    state = dict(state)
    state["Mixed_4d.b2b.conv.weight"] = state.pop("Mixed_4d.b2b.conv3d.weight")
    message = load_error(det, state, tmp_path / "renamed.pt")
    assert str(tmp_path / "renamed.pt") in message
    assert "Mixed_4d.b2b.conv3d.weight" in message and "Mixed_4d.b2b.conv.weight" in message


def test_wrong_shape_is_refused_naming_file_and_key(paper, tmp_path):
    det, state, _ = paper
    state = {**state, "logits.conv3d.weight": torch.zeros(2, 1024, 1, 1, 1)}  # 2 classes, not 9
    message = load_error(det, state, tmp_path / "shape.pt")
    assert str(tmp_path / "shape.pt") in message and "logits.conv3d.weight" in message
    assert "(2, 1024, 1, 1, 1)" in message and "(9, 1024, 1, 1, 1)" in message


def test_paper_detection_config_has_two_classes_and_fake_index_one():
    det = _detector("paper")
    state = det.official_state_dict()
    assert tuple(state["logits.conv3d.weight"].shape) == (2, 1024, 1, 1, 1)
    assert len(state) == PAPER_KEYS
    assert det.score_cfg == {"type": "softmax", "fake_index": 1}  # i3d.py: real 0, fake 1
    logits = torch.tensor([[0.0, 2.0], [3.0, -1.0]])
    assert torch.allclose(det.scores_from_logits(logits), logits.softmax(1)[:, 1])
    assert det.spec.sampling == "first" and det.spec.frames == 16 and det.spec.size == 224


def test_key_map_both_ways():
    from detectors.mmvgm_i3d import MMVGMI3DDetector

    km = MMVGMI3DDetector.key_map
    assert km.to_ours("logits.conv3d.bias") == "cls_head.logits.conv3d.bias"
    assert km.to_ours("Mixed_5c.b3b.bn.weight") == "backbone.Mixed_5c.b3b.bn.weight"
    assert km.to_official("cls_head.logits.conv3d.weight") == "logits.conv3d.weight"
    assert km.to_official("backbone.Conv3d_1a_7x7.conv3d.weight") == "Conv3d_1a_7x7.conv3d.weight"


# -- TF "same" padding -------------------------------------------------------------------------
def test_same_padding_puts_the_odd_pixel_at_the_end():
    from detectors.mmvgm_i3d.units import same_padding

    # (T, H, W) = (16, 224, 224), 7x7x7 stride 2: 5 in total per axis → 2 in front, 3 behind
    assert same_padding((16, 224, 224), (7, 7, 7), (2, 2, 2)) == (2, 3, 2, 3, 2, 3)
    # odd size 7, 3 stride 2: 7 % 2 = 1 → 3 - 1 = 2 → 1 and 1; stride 1 kernel 1: none
    assert same_padding((7, 7, 1), (3, 3, 1), (2, 2, 1)) == (0, 0, 1, 1, 1, 1)


def test_unit3d_pads_like_tensorflow_same():
    from detectors.mmvgm_i3d.units import Unit3D

    unit = Unit3D(1, 1, kernel=(1, 1, 2), use_bn=False, activation=None)
    torch.nn.init.ones_(unit.conv3d.weight)
    out = unit(torch.ones(1, 1, 1, 1, 4))  # kernel 2, stride 1: one zero column, at the end
    assert out.flatten().tolist() == [2.0, 2.0, 2.0, 1.0]
    strided = Unit3D(3, 5, kernel=7, stride=2)
    assert strided(torch.randn(1, 3, 9, 15, 16)).shape == (1, 5, 5, 8, 8)  # ceil(n / 2)


def test_maxpool_zero_padding_equals_tensorflow_on_relu_inputs():
    import torch.nn.functional as F

    from detectors.mmvgm_i3d.units import MaxPool3dSame, same_padding

    x = torch.rand(2, 4, 5, 7, 8)  # >= 0, as every I3D pool input (after a ReLU)
    pool = MaxPool3dSame(kernel=3, stride=2)
    ref = F.max_pool3d(F.pad(x, same_padding(x.shape[2:], (3, 3, 3), (2, 2, 2)),
                             value=float("-inf")), 3, 2)
    assert pool(x).shape == (2, 4, 3, 4, 4)
    assert torch.equal(pool(x), ref)


# -- backbone and head -------------------------------------------------------------------------
def test_feature_size_matches_the_backbone():
    from benchmark.compat import mmaction_models
    from detectors.mmvgm_i3d.backbone import feature_size

    assert feature_size(16, 224) == (2, 7, 7) and feature_size(16, 112) == (2, 4, 4)
    backbone = mmaction_models().build({"type": "InceptionI3D", "width_multiplier": 0.0625,
                                        "mixed_per_stage": [1, 1, 1]}).eval()
    with torch.inference_mode():
        feats = backbone(torch.randn(1, 3, 9, 40, 40))
    assert feats.shape == (1, backbone.out_channels, *feature_size(9, 40)) == (1, 52, 2, 2, 2)


def _kept_endpoints(paper_names: list[str], mixed_per_stage: list[int]) -> list[str]:
    """The paper's endpoints with only the first ``mixed_per_stage[i]`` Inception modules of stages
    3, 4 and 5 (``Mixed_3*``, ``Mixed_4*``, ``Mixed_5*``), in the paper's order."""
    stages = {str(stage): keep for stage, keep in zip((3, 4, 5), mixed_per_stage)}
    kept, seen = [], {stage: 0 for stage in stages}
    for name in paper_names:
        if name.startswith("Mixed_"):
            stage = name[len("Mixed_")]
            seen[stage] += 1
            if seen[stage] > stages[stage]:
                continue
        kept.append(name)
    return kept


def test_width_and_depth_shrink_the_same_design():
    cfg = _config("mini")
    det, paper = _detector(cfg=cfg), _detector("paper")
    backbone, arch = det.model.backbone, cfg["model"]["backbone"]
    paper_names = [n for n, _ in paper.model.backbone.named_children()]
    assert len(paper_names) == 16 and paper_names[-1] == "Mixed_5c"  # 4 stem, 3 pools, 9 modules
    names = [n for n, _ in backbone.named_children()]
    assert names == _kept_endpoints(paper_names, arch["mixed_per_stage"])
    stem = max(1, round(64 * arch["width_multiplier"]))  # upstream's 64 stem channels, thinned
    assert backbone.Conv3d_1a_7x7.conv3d.weight.shape == (stem, 3, 7, 7, 7)
    # the last kept module's width, thinned: sum of its four output branches
    last = getattr(backbone, names[-1])
    paper_last = getattr(paper.model.backbone, names[-1])
    outputs = ("b0", "b1b", "b2b", "b3b")
    branches = [getattr(last, b).conv3d.out_channels for b in outputs]
    assert branches == [max(1, round(getattr(paper_last, b).conv3d.out_channels
                                     * arch["width_multiplier"])) for b in outputs]
    assert backbone.out_channels == sum(branches) == det.model.cls_head.in_channels
    # the mini checkpoint has the official names of the modules it keeps, only thinner
    mini_names = set(det.official_state_dict())
    assert mini_names == {k for k in paper.official_state_dict()
                          if k.startswith("logits.") or k.split(".")[0] in names}


def test_bad_width_or_depth_is_refused():
    from benchmark.compat import mmaction_models

    with pytest.raises(RegistryError, match="mixed_per_stage"):
        mmaction_models().build({"type": "InceptionI3D", "mixed_per_stage": [2, 6, 2]})
    with pytest.raises(RegistryError, match="width_multiplier"):
        mmaction_models().build({"type": "InceptionI3D", "width_multiplier": 0})


def test_head_averages_what_the_pool_leaves():
    from detectors.mmvgm_i3d.head import I3DLogitsHead

    head = I3DLogitsHead(num_classes=3, in_channels=8, pool_kernel=[2, 2, 2]).eval()
    feats = torch.randn(2, 8, 3, 2, 2)  # pool leaves 2 time steps: logits are their mean
    per_step = head.logits(head.avg_pool(feats)).flatten(2)  # [2, 3, 2]
    assert torch.allclose(head(feats), per_step.mean(-1), atol=1e-6)
    with pytest.raises(ValueError, match="smaller than pool_kernel"):
        head(torch.randn(1, 8, 1, 2, 2))
    assert I3DLogitsHead(3, 8, pool_kernel=None).eval()(torch.randn(1, 8, 1, 3, 3)).shape == (1, 3)


def test_input_too_small_for_the_pool_is_refused():
    cfg = _config("paper")
    cfg["input"]["frames"] = 8  # Mixed_5c gets 1 time step, the [2, 7, 7] pool needs 2
    with pytest.raises(RegistryError, match=r"frames=8.*\(1, 7, 7\).*\[2, 7, 7\]"):
        _detector(cfg=cfg)


def test_head_width_must_match_the_backbone():
    cfg = _config("mini")
    width = cfg["model"]["cls_head"]["in_channels"]  # the valid mini's: the backbone's output
    assert width != 1024
    cfg["model"]["cls_head"]["in_channels"] = 1024
    with pytest.raises(RegistryError, match=f"in_channels is 1024.*outputs {width} "):
        _detector(cfg=cfg)


def test_pretrained_init_skips_kinetics_logits(tmp_path):
    det = _detector("mini")
    donor = _detector("mini")
    _randomize(donor.model, seed=4)
    state = {k: v for k, v in donor.official_state_dict().items() if not k.startswith("logits.")}
    width = det.model.cls_head.in_channels
    state["logits.conv3d.weight"] = torch.zeros(400, width, 1, 1, 1)  # Kinetics-400 classes
    state["logits.conv3d.bias"] = torch.zeros(400)
    torch.save(state, tmp_path / "rgb_imagenet.pt")
    backbone, theirs = det.model.backbone, donor.model.backbone
    mixed = [n for n, _ in backbone.named_children() if n.startswith("Mixed_")]
    # an Inception module in the middle and the last one (the deepest weights loaded)
    picks = [(getattr(backbone, m), getattr(theirs, m))
             for m in (mixed[len(mixed) // 2], mixed[-1])]
    assert not any(torch.equal(ours.b1b.conv3d.weight, donors.b1b.conv3d.weight)
                   for ours, donors in picks)  # before the load: the check below can fail
    backbone.pretrained = str(tmp_path / "rgb_imagenet.pt")
    backbone.init_weights()
    for ours, donors in picks:
        assert torch.equal(ours.b1b.conv3d.weight, donors.b1b.conv3d.weight)
        assert torch.equal(ours.b0.bn.running_var, donors.b0.bn.running_var)
    state.pop("Mixed_3b.b0.bn.bias")
    torch.save(state, tmp_path / "broken.pt")
    with pytest.raises(WeightsError, match="Mixed_3b.b0.bn.bias"):
        backbone.load_pretrained(str(tmp_path / "broken.pt"))


# -- mini config -------------------------------------------------------------------------------
def test_mini_scores_are_batch_independent_probabilities():
    det = _detector("mini")
    _randomize(det.model, seed=6)
    clips = _clips(3, det.spec.size, det.spec.frames, seed=7)
    scores, logits = det.clip_scores(clips), det.clip_logits(clips)
    assert scores.shape == (3,) and ((scores >= 0) & (scores <= 1)).all()
    assert torch.allclose(det.clip_logits(clips[:1]), logits[:1], rtol=1e-4, atol=1e-4)
    assert (logits[0] - logits[1]).abs().max() > 1e-2  # the clips are told apart


def test_mini_trains_through_mmaction_train_step():
    torch.manual_seed(0)
    det = _detector("mini")
    model = det.model
    stem, logits = (model.backbone.Conv3d_1a_7x7.conv3d.weight.clone(),
                    model.cls_head.logits.conv3d.weight.clone())
    clips = _clips(2, det.spec.size, det.spec.frames, seed=8)
    log_vars = train_step(model, _config("mini")["train"]["optimizer"], clips)
    assert torch.isfinite(log_vars["loss"])
    assert not torch.equal(model.backbone.Conv3d_1a_7x7.conv3d.weight, stem)
    assert not torch.equal(model.cls_head.logits.conv3d.weight, logits)
