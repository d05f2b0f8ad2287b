"""StA: official checkpoint layout, strict loading, the mini model, and Video-level Blending."""
from __future__ import annotations


import pytest
import torch

from benchmark.errors import RegistryError
from benchmark.registry import registry
from detectors.sta.blending import DriftRanges, apply_blending, drift_blend
from tests.detectors.common import (load_error, upstream_dump, random_clips, randomize as _randomize,
                                   train_step)

# Optional: a folder holding upstream's key list ``sta.json`` (keys/shapes dumped from the upstream
# model); the layout test below checks against it too when it is given.
ADAPTER_BRANCHES = ("s_conv1", "s_conv2", "s_conv3", "t_conv1", "t_conv2", "t_conv3")
BRANCH_KERNELS = {"s_conv1": [1, 3, 3], "s_conv2": [1, 5, 5], "s_conv3": [1, 7, 7],
                  "t_conv1": [3, 1, 1], "t_conv2": [5, 1, 1], "t_conv3": [7, 1, 1]}


def _clips(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return random_clips(n, 8, size, seed)


def _inputs(det, n: int, seed: int = 0) -> torch.Tensor:
    """Seeded clips of the frames and size ``det``'s config reads."""
    return random_clips(n, det.spec.frames, det.spec.size, seed)


def _config(name: str, **backbone) -> dict:
    cfg = registry().get("sta").config(name)
    cfg["model"]["backbone"].update(backbone)
    return cfg


def _detector(name: str = "mini", **backbone):
    from detectors.sta import StADetector

    return StADetector(_config(name, **backbone))


def _official_shapes(width: int = 1024, layers: int = 14, bottleneck: int = 512, frames: int = 8,
                     patch: int = 14, size: int = 224) -> dict[str, list[int]]:
    """The key names and shapes of upstream's ``sta_best.pth``, in state_dict order."""
    shapes = {"backbone.class_embedding": [width],
              "backbone.positional_embedding": [(size // patch) ** 2 + 1, width],
              "backbone.temporal_embedding": [1, frames, width],
              "backbone.conv1.weight": [width, 3, patch, patch],
              "backbone.ln_pre.weight": [width], "backbone.ln_pre.bias": [width]}
    for i in range(layers):
        shapes.update(_block_shapes(f"backbone.transformer.resblocks.{i}.", width, bottleneck))
    shapes.update({"backbone.ln_post.weight": [width], "backbone.ln_post.bias": [width],
                   "head.fc_cls.weight": [2, width], "head.fc_cls.bias": [2]})
    return shapes


def _block_shapes(prefix: str, width: int, b: int) -> dict[str, list[int]]:
    shapes = {"ln_1.weight": [width], "ln_1.bias": [width],
              "attn.in_proj_weight": [3 * width, width], "attn.in_proj_bias": [3 * width],
              "attn.out_proj.weight": [width, width], "attn.out_proj.bias": [width],
              "ln_2.weight": [width], "ln_2.bias": [width],
              "mlp.c_fc.weight": [4 * width, width], "mlp.c_fc.bias": [4 * width],
              "mlp.c_proj.weight": [width, 4 * width], "mlp.c_proj.bias": [width],
              "Adapter.down.weight": [b, width], "Adapter.down.bias": [b]}
    for branch in ADAPTER_BRANCHES:
        for j in (1, 2, 3):
            shapes[f"Adapter.{branch}.conv{j}.weight"] = [b, 1, *BRANCH_KERNELS[branch]]
            shapes[f"Adapter.{branch}.conv{j}.bias"] = [b]
            for stat in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"Adapter.{branch}.bn{j}.{stat}"] = [b]
            shapes[f"Adapter.{branch}.bn{j}.num_batches_tracked"] = []
    shapes.update({"Adapter.up.weight": [width, b], "Adapter.up.bias": [width]})
    for attn in ("spatial_to_temporal", "temporal_to_spatial"):
        shapes.update({f"Adapter.cross_attention.{attn}.in_proj_weight": [3 * b, b],
                       f"Adapter.cross_attention.{attn}.in_proj_bias": [3 * b],
                       f"Adapter.cross_attention.{attn}.out_proj.weight": [b, b],
                       f"Adapter.cross_attention.{attn}.out_proj.bias": [b]})
    return {prefix + k: v for k, v in shapes.items()}


# -- strict loading errors (mini config: same names, cheaper) -------------------------------------
@pytest.fixture
def mini_state(tmp_path):
    det = _detector("mini")
    return det, det.official_state_dict(), tmp_path / "sta_mini.pth"


def test_renamed_key_is_refused_naming_file_and_key(mini_state):
    det, state, path = mini_state
    key = "backbone.transformer.resblocks.2.Adapter.down.weight"
    state["backbone.transformer.resblocks.2.Adapter.dwn.weight"] = state.pop(key)
    message = load_error(det, state, path)
    assert str(path) in message and key in message
    assert "Adapter.dwn.weight" in message


def test_changed_shape_is_refused_naming_file_and_key(mini_state):
    det, state, path = mini_state
    state["head.fc_cls.weight"] = torch.zeros(3, 96)
    message = load_error(det, state, path)
    assert str(path) in message and "head.fc_cls.weight" in message and "(3, 96)" in message


def test_head_key_maps_to_mmaction_cls_head():
    from detectors.sta import StADetector

    assert StADetector.key_map.to_ours("head.fc_cls.bias") == "cls_head.fc_cls.bias"
    assert StADetector.key_map.to_official("cls_head.fc_cls.bias") == "head.fc_cls.bias"
    name = "backbone.transformer.resblocks.0.attn.in_proj_weight"
    assert StADetector.key_map.to_ours(name) == name


def test_mini_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    det = _detector("mini")
    _randomize(det.model, seed=2)
    torch.save({f"module.{k}": v for k, v in det.official_state_dict().items()}, tmp_path / "m.pth")
    fresh = _detector("mini")
    fresh.load_weights(tmp_path / "m.pth")
    clips = _inputs(fresh, 2, seed=3)
    assert torch.equal(det.clip_logits(clips), fresh.clip_logits(clips))


# -- mini config -----------------------------------------------------------------------------------
def test_mini_scores_are_probabilities_and_deterministic():
    det = _detector("mini")
    _randomize(det.model, seed=3)
    clips = _inputs(det, 3, seed=2)
    first, second = det.clip_scores(clips), det.clip_scores(clips)
    assert first.shape == (3,) and torch.isfinite(first).all()
    assert ((first >= 0) & (first <= 1)).all()
    assert torch.equal(first, second)


def test_mini_backward_reaches_every_adapter_parameter():
    det = _detector("mini")
    model = det.model.train()
    x = det.normalize(_inputs(det, 2, seed=4))
    loss = torch.nn.functional.cross_entropy(det.forward_logits(x), torch.tensor([0, 1]))
    loss.backward()
    adapter = model.backbone.transformer.resblocks[0].Adapter
    # zero-initialised up-projection: only it gets gradient at step 0 (the adapter is the identity)
    assert adapter.up.weight.grad.abs().sum() > 0
    model.zero_grad()
    _randomize(model, seed=5)
    loss = torch.nn.functional.cross_entropy(det.forward_logits(x), torch.tensor([0, 1]))
    loss.backward()
    no_grad = {n for n, p in model.named_parameters()
               if "Adapter" in n and (p.grad is None or p.grad.abs().sum() == 0)}
    # The head reads only the CLS token, and within the last block the adapter's convolutions and
    # cross-attention touch only patch tokens: those parameters are dead, upstream's too.
    last_block = len(model.backbone.transformer.resblocks) - 1
    last = f"backbone.transformer.resblocks.{last_block}.Adapter."
    assert no_grad and all(n.startswith(last) for n in no_grad)
    assert not {n for n in no_grad if n.startswith(last + "down.") or n.startswith(last + "up.")}


def test_fresh_adapter_is_identity():
    from detectors.sta.adapter import StAdapter

    adapter = StAdapter(width=32, bottleneck=16, num_frames=4, grid=(3, 5)).eval()
    tokens = torch.randn(2 * 4, 1 + 15, 32)  # [N*T, 1+h*w, width], non-square grid
    assert torch.equal(adapter(tokens), tokens)


def test_scores_do_not_depend_on_batch_company():
    det = _detector("mini")
    _randomize(det.model, seed=6)
    clips = _inputs(det, 3, seed=7)
    alone = det.clip_logits(clips[:1])
    together = det.clip_logits(clips)[:1]
    assert torch.allclose(alone, together, atol=1e-5)


def test_upstream_batch_mixing_agrees_for_one_clip_only():
    ours, upstream = _detector("mini"), _detector("mini", upstream_batch_mixing=True)
    _randomize(ours.model, seed=8, scale=0.2)
    upstream.model.load_state_dict(ours.model.state_dict())
    x = ours.normalize(_inputs(ours, 2, seed=9))
    with torch.inference_mode():
        one = ours.model.backbone(x[:1]), upstream.model.backbone(x[:1])  # [1, 96, 8, 1, 1]
        two = ours.model.backbone(x), upstream.model.backbone(x)
    assert torch.allclose(*one, atol=1e-5)
    assert (two[0] - two[1]).abs().max() > 1e-3  # upstream's layout mixes the two clips


def test_input_spec_must_match_the_backbone():
    from detectors.sta import StADetector

    cfg = _config("mini")
    resolution = cfg["model"]["backbone"]["input_resolution"]
    assert resolution != 224 and cfg["input"]["size"] == resolution  # valid before the change
    cfg["input"]["size"] = 224
    with pytest.raises(RegistryError, match=f"input_resolution={resolution}"):
        StADetector(cfg)


def test_init_weights_loads_clip_visual_weights(tmp_path):
    det = _detector("mini")
    backbone = det.model.backbone
    clip_state = {f"visual.{k}": torch.randn_like(v) for k, v in backbone.state_dict().items()
                  if "Adapter" not in k and "temporal_embedding" not in k and v.is_floating_point()}
    clip_state["visual.proj"] = torch.randn(96, 32)  # CLIP's projection: not used
    torch.save(clip_state, tmp_path / "clip_visual.pth")
    backbone.pretrained = str(tmp_path / "clip_visual.pth")
    backbone.init_weights()
    assert torch.equal(backbone.conv1.weight, clip_state["visual.conv1.weight"])
    up = backbone.transformer.resblocks[1].Adapter.up.weight
    assert torch.count_nonzero(up) == 0


# -- Video-level Blending --------------------------------------------------------------------------
def _textured(n: int, t: int = 6, size: int = 48) -> torch.Tensor:
    gen = torch.Generator().manual_seed(11)
    return torch.randint(0, 256, (n, 3, t, size, size), generator=gen, dtype=torch.uint8)


def test_blending_is_deterministic_under_a_generator():
    clips, labels = _textured(6), torch.tensor([0, 0, 1, 0, 1, 0])
    a = apply_blending(clips, labels, 0.5, torch.Generator().manual_seed(5))
    b = apply_blending(clips, labels, 0.5, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_blending_changes_only_converted_clips_and_relabels_them():
    clips, labels = _textured(6), torch.tensor([0, 0, 1, 0, 1, 0])
    out, new = apply_blending(clips, labels, 0.5, torch.Generator().manual_seed(2))
    converted = (labels == 0) & (new == 1)
    assert converted.any() and not converted.all()
    assert torch.equal(new[labels == 1], labels[labels == 1])  # fakes stay fake and untouched
    for i in range(len(clips)):
        changed = not torch.equal(out[i], clips[i])
        assert changed == bool(converted[i])
    assert out.dtype == torch.uint8 and out.shape == clips.shape


def test_blending_touches_only_the_central_region():
    clip = _textured(1)[0]
    out = drift_blend(clip, torch.Generator().manual_seed(0), DriftRanges(centre_jitter=0.0))
    changed = (out != clip).any(dim=0)  # [T, H, W]
    assert changed[:, 20:28, 20:28].any()  # the centre moves
    assert not changed[:, :6, :6].any() and not changed[:, -6:, -6:].any()  # corners never do


def test_blending_rate_extremes_and_bad_input():
    clips, labels = _textured(4), torch.zeros(4, dtype=torch.long)
    out, new = apply_blending(clips, labels, 0.0, torch.Generator().manual_seed(0))
    assert torch.equal(out, clips) and torch.equal(new, labels)
    _, new = apply_blending(clips, labels, 1.0, torch.Generator().manual_seed(0))
    assert new.tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="uint8"):
        apply_blending(clips.float(), labels, 0.5, torch.Generator())
    with pytest.raises(ValueError, match="p must be"):
        apply_blending(clips, labels, 1.5, torch.Generator())


def test_detector_blends_training_batches_at_the_configured_rate():
    det = _detector("mini")  # train.blending.p = 0: identity
    clips, labels = _inputs(det, 4, seed=13), torch.tensor([0, 1, 0, 0])
    out, new = det.train_batch_transform(clips, labels, torch.Generator().manual_seed(0))
    assert torch.equal(out, clips) and torch.equal(new, labels)
    cfg = _config("mini")
    cfg["train"]["blending"] = {"p": 1.0}
    from detectors.sta import StADetector

    gen = torch.Generator().manual_seed(0)
    out, new = StADetector(cfg).train_batch_transform(clips, labels, gen)
    assert new.tolist() == [1, 1, 1, 1] and torch.equal(out[1], clips[1])
    assert not torch.equal(out[0], clips[0])


def test_mini_trains_through_mmaction_train_step():
    det = _detector("mini")
    model = det.model
    before = model.backbone.transformer.resblocks[0].Adapter.up.weight.clone()
    log_vars = train_step(model, _config("mini")["train"]["optimizer"], _inputs(det, 2, seed=14))
    assert torch.isfinite(log_vars["loss"])
    assert not torch.equal(model.backbone.transformer.resblocks[0].Adapter.up.weight, before)


@pytest.mark.slow
def test_mini_learns_to_separate_blended_from_real():
    """A few AdamW steps on real clips vs their VB fakes lower the loss (sanity, not accuracy)."""
    torch.manual_seed(0)
    det = _detector("mini")
    real = _inputs(det, 4, seed=12)
    gen = torch.Generator().manual_seed(1)
    fake, _ = apply_blending(real, torch.zeros(4, dtype=torch.long), 1.0, gen)
    x, y = det.normalize(torch.cat([real, fake])), torch.tensor([0] * 4 + [1] * 4)
    model = det.model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.05)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(det.forward_logits(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert min(losses[-5:]) < losses[0]


# -- paper config: the official checkpoint layout --------------------------------------------------
@pytest.fixture(scope="module")
def paper_checkpoint(tmp_path_factory):
    """A paper-config detector with random weights, saved in the official layout (two wrappings)."""
    torch.manual_seed(0)
    det = _detector("paper")
    _randomize(det.model)
    folder = tmp_path_factory.mktemp("sta_paper")
    state = det.official_state_dict()
    torch.save(state, folder / "sta_best.pth")
    torch.save({f"module.{k}": v for k, v in state.items()}, folder / "sta_best_ddp.pth")
    return det, folder


def test_paper_official_layout_matches_upstream_keys(paper_checkpoint):
    det, _ = paper_checkpoint
    expected = _official_shapes()
    state = det.official_state_dict()
    assert len(state) == len(expected) == 2110
    assert list(state) == list(expected)  # same names, same order
    wrong = {k: (list(v.shape), expected[k]) for k, v in state.items()
             if list(v.shape) != expected[k]}
    assert not wrong
    assert sum(v.numel() for v in state.values()) == 224_099_582


def test_official_layout_matches_upstream_key_dump():
    dump = upstream_dump("sta.json")
    expected = _official_shapes()
    assert list(dump["keys"]) == list(expected) and dump["keys"] == expected


def test_paper_checkpoint_loads_strictly_in_both_wrappings(paper_checkpoint):
    det, folder = paper_checkpoint
    fresh = _detector("paper")
    ours = det.model.state_dict()
    for name in ("sta_best.pth", "sta_best_ddp.pth"):  # raw, then DataParallel's ``module.`` prefix
        for param in fresh.model.parameters():
            param.data.zero_()
        summary = fresh.load_weights(folder / name)
        assert summary.loaded == 2110
        theirs = fresh.model.state_dict()
        assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    scores = fresh.clip_scores(_clips(1, 224, seed=1))  # the default run's one paper-size forward
    assert scores.shape == (1,) and 0 <= scores.item() <= 1


@pytest.mark.slow
def test_paper_checkpoint_round_trip_gives_identical_outputs(paper_checkpoint):
    det, folder = paper_checkpoint
    fresh = _detector("paper")
    fresh.load_weights(folder / "sta_best.pth")
    clip = _clips(1, 224, seed=1)
    assert torch.equal(det.clip_logits(clip), fresh.clip_logits(clip))
