"""MMVGM X-CLIP: official checkpoint layout, strict loading, transformers parity, the MLP head."""
from __future__ import annotations

import gc
from pathlib import Path

import pytest
import torch

from benchmark.checkpoint import load_strict
from benchmark.errors import RegistryError
from benchmark.registry import registry
from tests.detectors.common import (load_error, upstream_dump, random_clips, randomize as _randomize,
                                   train_step)

REPO_ROOT = Path(__file__).resolve().parents[2]
KEYS_FILE = "mmvgm_xclip.json"


def _clips(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return random_clips(n, 8, size, seed)


def _inputs(det, n: int, seed: int = 0) -> torch.Tensor:
    """Seeded clips of the frames and size ``det``'s config reads."""
    return random_clips(n, det.spec.frames, det.spec.size, seed)


def _config(name: str = "mini", num_classes: int | None = None) -> dict:
    cfg = registry().get("mmvgm_xclip").config(name)
    if num_classes is not None:
        cfg["model"]["cls_head"]["num_classes"] = num_classes
    return cfg


def _detector(name: str = "mini", num_classes: int | None = None):
    from detectors.mmvgm_xclip import MMVGMXCLIPDetector

    return MMVGMXCLIPDetector(_config(name, num_classes))


def _upstream_keys() -> dict:
    return upstream_dump(KEYS_FILE)


# -- paper config: the official layout, on the meta device (X-CLIP-L is ~2.3 GB in float32) ---------
@pytest.fixture(scope="module")
def paper_on_meta():
    """The paper model with the dump's 9 classes, shapes only: nothing is allocated or initialised."""
    with torch.device("meta"):
        det = _detector("paper", num_classes=9)
    yield det
    del det


def test_paper_official_layout_matches_upstream_keys(paper_on_meta):
    dump = _upstream_keys()
    state = paper_on_meta.official_state_dict()
    ours = {k: list(v.shape) for k, v in state.items()}
    assert len(ours) == dump["num_keys"] == 946
    assert set(ours) == set(dump["keys"])
    assert ours == dump["keys"]  # names and shapes
    assert sum(v.numel() for v in state.values()) == dump["state_dict_numel_total"]
    assert [k for k, v in state.items() if v.dtype != torch.float32] == list(dump["non_float32_keys"])


def test_paper_official_layout_maps_back_onto_every_parameter(paper_on_meta):
    """Official names → ours covers the whole model strictly (the mapping, without 2 GB of I/O)."""
    state = paper_on_meta.official_state_dict()
    summary = load_strict(paper_on_meta.model, state, "meta", paper_on_meta.key_map)
    assert summary.loaded == 946


@pytest.mark.slow
def test_paper_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    """Build, save officially, free, rebuild, load strictly: same logits (~70 s, ~5 GB peak)."""
    torch.manual_seed(0)
    det = _detector("paper", num_classes=9)
    _randomize(det.model.cls_head, seed=1)  # the backbone keeps transformers' random init
    clip = _clips(1, 224, seed=1)
    expected = det.clip_logits(clip)
    torch.save(det.official_state_dict(), tmp_path / "checkpoints.pt")
    del det
    gc.collect()
    fresh = _detector("paper", num_classes=9)
    assert fresh.load_weights(tmp_path / "checkpoints.pt").loaded == 946
    assert torch.equal(fresh.clip_logits(clip), expected)


# -- key map and strict-load errors (mini config: the same names, cheaper) -------------------------
def test_key_map_strips_upstream_wrapper_prefixes():
    from detectors.mmvgm_xclip.detector import XCLIP_KEY_MAP

    assert XCLIP_KEY_MAP.to_ours("video_features_extractor.mit.position_embedding") == \
        "backbone.model.mit.position_embedding"
    assert XCLIP_KEY_MAP.to_ours("classifier.layer1.1.running_var") == "cls_head.layer1.1.running_var"
    assert XCLIP_KEY_MAP.to_official("cls_head.out_layer.bias") == "classifier.out_layer.bias"


@pytest.fixture
def mini_state(tmp_path):
    det = _detector("mini")
    return det, det.official_state_dict(), tmp_path / "xclip_mini.pt"


def test_renamed_key_is_refused_naming_file_and_key(mini_state):
    det, state, path = mini_state
    key = "video_features_extractor.vision_model.encoder.layers.1.message_fc.weight"
    state[key.replace("message_fc", "msg_fc")] = state.pop(key)
    message = load_error(det, state, path)
    assert str(path) in message and key in message and "msg_fc" in message


def test_changed_shape_is_refused_naming_file_and_key(mini_state):
    det, state, path = mini_state
    state["classifier.out_layer.weight"] = torch.zeros(9, 16)
    message = load_error(det, state, path)
    assert str(path) in message and "classifier.out_layer.weight" in message and "(9, 16)" in message


def test_mini_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    det = _detector("mini")
    _randomize(det.model, seed=2)
    torch.save(det.official_state_dict(), tmp_path / "m.pt")
    fresh = _detector("mini")
    fresh.load_weights(tmp_path / "m.pt")
    clips = _inputs(fresh, 2, seed=3)
    assert torch.equal(det.clip_logits(clips), fresh.clip_logits(clips))


# -- the video-feature path and the head -------------------------------------------------------------
def test_backbone_is_get_video_features_without_text():
    """Upstream calls get_video_features(pixel_values=[N, T, 3, H, W]) only: no prompt, no tokens."""
    det = _detector("mini")
    _randomize(det.model, seed=4, scale=0.1)
    xclip = det.model.backbone.model
    x = det.normalize(_inputs(det, 2, seed=5))  # [N, 3, T, H, W]
    with torch.inference_mode():
        theirs = xclip.get_video_features(pixel_values=x.transpose(1, 2)).pooler_output
        ours = det.model.backbone(x)
    assert ours.shape == (2, 64) and torch.equal(ours, theirs)
    # frames interact (X-CLIP's cross-frame messages and integration transformer): order matters
    with torch.inference_mode():
        assert not torch.allclose(det.model.backbone(x.flip(2)), ours, atol=1e-4)


def test_text_tower_gets_no_gradient_but_the_video_path_does():
    det = _detector("mini")
    model = det.model.train()
    x = det.normalize(_inputs(det, 4, seed=6))
    torch.nn.functional.cross_entropy(det.forward_logits(x), torch.tensor([0, 1, 0, 1])).backward()
    grads = {n: p.grad is not None and bool(p.grad.abs().sum() > 0)
             for n, p in model.named_parameters()}
    assert not any(g for n, g in grads.items() if ".text_model." in n)
    assert grads["backbone.model.vision_model.embeddings.patch_embedding.weight"]
    assert grads["backbone.model.mit.position_embedding"] and grads["cls_head.layer1.0.weight"]


def test_head_is_upstreams_binary_classifier():
    from detectors.mmvgm_xclip.head import PAPER_WIDTHS, VGMShieldMLPHead

    head = VGMShieldMLPHead(num_classes=9, in_channels=768).eval()
    assert [type(m).__name__ for m in head.layer1] == ["Linear", "BatchNorm1d", "ReLU", "Dropout"]
    for i in range(2, 7):
        assert [type(m).__name__ for m in getattr(head, f"layer{i}")] == ["Linear", "ReLU6", "Dropout"]
    assert [getattr(head, f"layer{i}")[0].out_features for i in range(1, 7)] == list(PAPER_WIDTHS)
    assert all(getattr(head, f"layer{i}")[-1].p == 0.5 for i in range(1, 7))
    _randomize(head, seed=7, scale=0.5)
    x = torch.randn(3, 768)
    expected = x
    for i in range(1, 7):
        expected = getattr(head, f"layer{i}")[0](expected)
        if i == 1:
            bn = head.layer1[1]
            expected = ((expected - bn.running_mean) / (bn.running_var + bn.eps).sqrt() * bn.weight
                        + bn.bias).relu()
        else:
            expected = expected.clamp(0, 6)  # ReLU6
    expected = head.out_layer(expected)
    assert torch.allclose(head(x), expected, rtol=1e-4, atol=1e-4)


# -- config checks and training ------------------------------------------------------------------
def test_config_errors_name_the_fields():
    from detectors.mmvgm_xclip import MMVGMXCLIPDetector

    cfg = _config("mini")
    cfg["model"]["cls_head"]["in_channels"] = 768
    with pytest.raises(RegistryError, match="in_channels is 768 .*projection_dim=64"):
        MMVGMXCLIPDetector(cfg)
    cfg = _config("mini")
    cfg["model"]["backbone"]["config"]["vision_config"]["mit_hidden_size"] = 32
    with pytest.raises(RegistryError, match="mit_hidden_size is 32"):
        MMVGMXCLIPDetector(cfg)
    cfg = _config("mini")
    size = cfg["model"]["backbone"]["config"]["vision_config"]["image_size"]
    assert size != 224 and cfg["input"]["size"] == size  # the valid mini, before the change
    cfg["input"]["size"] = 224
    with pytest.raises(RegistryError, match=f"input.size is 224 .*image_size={size}"):
        MMVGMXCLIPDetector(cfg)


def test_paper_input_spec_is_upstreams():
    paper = registry().get("mmvgm_xclip").config("paper")["input"]
    assert (paper["frames"], paper["sampling"], paper["size"]) == (8, "first", 224)
    # the published processor config (microsoft/xclip-large-patch14): ImageNet mean/std, PIL bilinear
    assert paper["mean"] == [123.675, 116.28, 103.53] and paper["std"] == [58.395, 57.12, 57.375]
    assert paper["interpolation"] == "pil_bilinear"


def test_mini_trains_through_mmaction_train_step():
    torch.manual_seed(0)
    det = _detector("mini")
    model = det.model
    before = model.backbone.model.vision_model.embeddings.patch_embedding.weight.clone()
    log_vars = train_step(model, _config("mini")["train"]["optimizer"], _inputs(det, 2, seed=8))
    assert torch.isfinite(log_vars["loss"])
    assert not torch.equal(model.backbone.model.vision_model.embeddings.patch_embedding.weight, before)
