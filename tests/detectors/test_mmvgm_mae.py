"""MMVGM VideoMAE: official checkpoint layout (both head layouts), strict loading, transformers parity."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from benchmark.errors import RegistryError
from benchmark.registry import registry
from tests.detectors.common import (load_error, upstream_dump, random_clips as _clips, randomize as _randomize,
                                   train_step)

REPO_ROOT = Path(__file__).resolve().parents[2]
KEYS_FILE = "mmvgm_videomae.json"


def _config(name: str = "mini", num_classes: int | None = None, mean_pooling: bool | None = None):
    cfg = registry().get("mmvgm_mae").config(name)
    if num_classes is not None:
        cfg["model"]["cls_head"]["num_classes"] = num_classes
    if mean_pooling is not None:
        cfg["model"]["backbone"]["config"]["use_mean_pooling"] = mean_pooling
        cfg["model"]["cls_head"]["use_mean_pooling"] = mean_pooling
    return cfg


def _detector(name: str = "mini", **overrides):
    from detectors.mmvgm_mae import MMVGMVideoMAEDetector

    return MMVGMVideoMAEDetector(_config(name, **overrides))


def _upstream_keys() -> dict:
    return upstream_dump(KEYS_FILE)


# -- paper config: the official checkpoint layout --------------------------------------------------
@pytest.fixture(scope="module")
def paper_checkpoint(tmp_path_factory):
    """The paper model with the dump's 9 source-tracing classes, random weights, saved officially."""
    torch.manual_seed(0)
    det = _detector("paper", num_classes=9)
    _randomize(det.model)
    path = tmp_path_factory.mktemp("mmvgm_mae") / "checkpoints.pt"
    torch.save(det.official_state_dict(), path)
    yield det, path
    del det


def test_paper_official_layout_matches_upstream_keys(paper_checkpoint):
    det, _ = paper_checkpoint
    dump = _upstream_keys()
    state = det.official_state_dict()
    ours = {k: list(v.shape) for k, v in state.items()}
    assert len(ours) == dump["num_keys"] == 186
    assert set(ours) == set(dump["keys"])
    assert ours == dump["keys"]  # names and shapes
    assert sum(v.numel() for v in state.values()) == dump["state_dict_numel_total"]


def test_paper_checkpoint_round_trip_gives_identical_outputs(paper_checkpoint):
    det, path = paper_checkpoint
    fresh = _detector("paper", num_classes=9)
    summary = fresh.load_weights(path)
    assert summary.loaded == 186
    clip = _clips(1, 16, 224, seed=1)
    logits = fresh.clip_logits(clip)
    assert logits.shape == (1, 9)
    assert torch.equal(det.clip_logits(clip), logits)


# -- key map and strict-load errors (mini config: the same names, cheaper) -------------------------
def test_key_map_renames_transformers_4_attention_biases():
    from detectors.mmvgm_mae.detector import MAE_KEY_MAP

    prefix = "videomae.encoder.layer.11.attention.attention."
    ours = "backbone.model.encoder.layer.11.attention.attention."
    assert MAE_KEY_MAP.to_ours(prefix + "q_bias") == ours + "query.bias"
    assert MAE_KEY_MAP.to_ours(prefix + "v_bias") == ours + "value.bias"
    assert MAE_KEY_MAP.to_official(ours + "value.bias") == prefix + "v_bias"
    assert MAE_KEY_MAP.to_official(ours + "query.weight") == prefix + "query.weight"
    assert MAE_KEY_MAP.to_ours("classifier.weight") == "cls_head.fc_cls.weight"
    assert MAE_KEY_MAP.to_official("cls_head.fc_norm.bias") == "fc_norm.bias"


@pytest.fixture
def mini_state(tmp_path):
    det = _detector("mini")
    return det, det.official_state_dict(), tmp_path / "mae_mini.pt"


def test_renamed_key_is_refused_naming_file_and_key(mini_state):
    det, state, path = mini_state
    key = "videomae.encoder.layer.1.attention.attention.q_bias"
    state["videomae.encoder.layer.1.attention.attention.query_bias"] = state.pop(key)
    message = load_error(det, state, path)
    assert str(path) in message and key in message and "query_bias" in message


def test_changed_shape_is_refused_naming_file_and_key(mini_state):
    det, state, path = mini_state
    state["classifier.weight"] = torch.zeros(9, 64)
    message = load_error(det, state, path)
    assert str(path) in message and "classifier.weight" in message and "(9, 64)" in message


# -- both head layouts ------------------------------------------------------------------------------
def test_mean_pooling_layout_has_fc_norm_and_no_final_layernorm():
    first = _detector("mini").official_state_dict()
    mean = _detector("mini", mean_pooling=True).official_state_dict()
    assert {"videomae.layernorm.weight", "videomae.layernorm.bias"} <= set(first)
    assert not any(k.startswith("fc_norm.") for k in first)
    assert {"fc_norm.weight", "fc_norm.bias"} <= set(mean)
    assert not any(k.startswith("videomae.layernorm.") for k in mean)


def test_checkpoint_head_layout_wins_over_the_config(tmp_path):
    source = _detector("mini", mean_pooling=True)
    _randomize(source.model, seed=4)
    torch.save(source.official_state_dict(), tmp_path / "mean.pt")
    target = _detector("mini")  # first-token layout in its config
    target.load_weights(tmp_path / "mean.pt")
    assert target.use_mean_pooling and target.model.cls_head.fc_norm is not None
    clips = _clips(2, target.spec.frames, target.spec.size, seed=5)
    assert torch.equal(source.clip_logits(clips), target.clip_logits(clips))


@pytest.mark.parametrize("mean_pooling", [False, True])
def test_logits_equal_transformers_video_classification(mean_pooling):
    """Same weights in transformers' own VideoMAEForVideoClassification give the same logits."""
    from transformers import VideoMAEForVideoClassification

    from benchmark.hf import hf_config

    det = _detector("mini", mean_pooling=mean_pooling)
    _randomize(det.model, seed=6)
    cfg = _config("mini", mean_pooling=mean_pooling)["model"]["backbone"]["config"]
    reference_cfg = hf_config("videomae", cfg)
    reference_cfg.num_labels = 2
    reference = VideoMAEForVideoClassification(reference_cfg)
    # transformers 5 names: ours without our prefixes (no q_bias renaming needed)
    renamed = {k.replace("backbone.model.", "videomae.").replace("cls_head.fc_cls.", "classifier.")
               .replace("cls_head.fc_norm.", "fc_norm."): v for k, v in det.model.state_dict().items()
               if not k.startswith("data_preprocessor.")}
    reference.load_state_dict(renamed, strict=True)
    reference.eval()
    x = det.normalize(_clips(2, det.spec.frames, det.spec.size, seed=7))  # [N, 3, T, H, W]
    with torch.inference_mode():
        theirs = reference(pixel_values=x.permute(0, 2, 1, 3, 4)).logits  # [N, T, 3, H, W]
        ours = det.forward_logits(x)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_head_reads_the_first_token_or_the_mean():
    from detectors.mmvgm_mae.head import VideoMAEClsHead

    tokens = torch.randn(2, 5, 8)  # [N, L, C]
    first = VideoMAEClsHead(3, 8, use_mean_pooling=False).eval()
    changed = tokens.clone()
    changed[:, 1:] += torch.randn(2, 4, 8)  # only tokens after the first
    assert torch.equal(first(tokens), first(changed))
    mean = VideoMAEClsHead(3, 8, use_mean_pooling=True).eval()
    assert not torch.allclose(mean(tokens), mean(changed))


# -- config checks and training ------------------------------------------------------------------
def test_config_errors_name_the_fields():
    from detectors.mmvgm_mae import MMVGMVideoMAEDetector

    cfg = _config("mini")
    cfg["model"]["cls_head"]["use_mean_pooling"] = True
    with pytest.raises(RegistryError, match="cls_head.use_mean_pooling is True"):
        MMVGMVideoMAEDetector(cfg)
    cfg = _config("mini")
    frames = cfg["model"]["backbone"]["config"]["num_frames"]
    cfg["input"]["frames"] = 2 * frames
    with pytest.raises(RegistryError, match=f"input.frames is {2 * frames} .*num_frames={frames}"):
        MMVGMVideoMAEDetector(cfg)


def test_paper_input_spec_is_upstreams():
    spec = _detector("mini").spec
    paper = registry().get("mmvgm_mae").config("paper")["input"]
    assert (paper["frames"], paper["sampling"], paper["size"]) == (16, "first", 224)
    assert paper["mean"] == [123.675, 116.28, 103.53]  # ImageNet x 255
    mini = _config("mini")["model"]["backbone"]["config"]  # the mini reads what its model takes
    assert (spec.frames, spec.size) == (mini["num_frames"], mini["image_size"])
    assert spec.size < paper["size"] and spec.frames < paper["frames"]


def test_mini_trains_through_mmaction_train_step():
    torch.manual_seed(0)
    det = _detector("mini")
    model = det.model
    before = model.backbone.model.embeddings.patch_embeddings.projection.weight.clone()
    clips = _clips(2, det.spec.frames, det.spec.size, seed=8)
    log_vars = train_step(model, _config("mini")["train"]["optimizer"], clips)
    assert torch.isfinite(log_vars["loss"])
    after = model.backbone.model.embeddings.patch_embeddings.projection.weight
    assert not torch.equal(after, before)
