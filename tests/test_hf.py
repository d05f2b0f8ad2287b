"""benchmark.hf: transformers video models as mmaction2 backbones, built from checked config dicts."""
from __future__ import annotations

import pytest
import torch

from benchmark.errors import RegistryError
from benchmark.hf import HFVideoBackbone, check_input_spec, expected_clip, hf_config

TINY_MAE = {"image_size": 32, "patch_size": 16, "num_frames": 4, "tubelet_size": 2,
            "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 32, "use_mean_pooling": False}


def test_config_fields_are_checked_with_their_path():
    with pytest.raises(RegistryError, match="unknown field 'hiden_size'"):
        hf_config("videomae", {**TINY_MAE, "hiden_size": 8})
    with pytest.raises(RegistryError, match=r"XCLIPConfig\)\.vision_config: unknown field 'patch'"):
        hf_config("xclip", {"vision_config": {"patch": 14}})
    with pytest.raises(RegistryError, match="arch 'vivit' is not one of"):
        hf_config("vivit", {})


def test_config_builds_the_given_values():
    cfg = hf_config("xclip", {"projection_dim": 32, "vision_config": {"num_frames": 4,
                                                                       "image_size": 64}})
    assert cfg.projection_dim == 32 and expected_clip(cfg) == (4, 64)
    assert expected_clip(hf_config("videomae", TINY_MAE)) == (4, 32)


def test_backbone_feeds_transformers_frames_first():
    torch.manual_seed(0)
    backbone = HFVideoBackbone("videomae", TINY_MAE).eval()
    x = torch.randn(2, 3, 4, 32, 32)  # [N, 3, T, H, W]
    with torch.inference_mode():
        ours = backbone(x)
        theirs = backbone.model(pixel_values=x.transpose(1, 2)).last_hidden_state  # [N, T, 3, H, W]
    assert ours.shape == (2, 2 * 2 * 2, 16)  # T/tubelet * (H/patch) * (W/patch) tokens
    assert torch.equal(ours, theirs)
    # swapping T and C gives other tokens: the permutation is not a no-op
    frames = torch.randn(1, 3, 4, 32, 32)
    with torch.inference_mode():
        assert not torch.allclose(backbone(frames), backbone(frames.flip(2)))


def test_backbone_refuses_clips_of_another_shape():
    backbone = HFVideoBackbone("videomae", TINY_MAE)
    with pytest.raises(ValueError, match="3x8x32x32 .* built for 3x4x32x32"):
        backbone(torch.zeros(1, 3, 8, 32, 32))


def test_input_spec_must_match_the_backbone_config():
    cfg = {"name": "mini", "input": {"frames": 8, "size": 32},
           "model": {"backbone": {"arch": "videomae", "config": TINY_MAE}}}
    with pytest.raises(RegistryError, match=r"input.frames is 8 .*config.num_frames=4"):
        check_input_spec(cfg, "m")
    cfg["input"]["frames"] = 4
    check_input_spec(cfg, "m")
    cfg["model"]["backbone"] = {"arch": "xclip", "config": {"vision_config": {"image_size": 64}}}
    with pytest.raises(RegistryError, match=r"input.size is 32 .*vision_config.image_size=64"):
        check_input_spec(cfg, "m")
