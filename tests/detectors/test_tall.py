"""TALL: the thumbnail layout and per-frame embedding against upstream's formulas, the training
cut-out, DeepfakeBench's checkpoint layout (keys and shapes dumped from its own code) loaded
strictly, renamed or reshaped keys refused by name, ImageNet Swin weights adapted as upstream."""
import copy
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from benchmark.detector import build_detector
from benchmark.errors import WeightsError
from benchmark.registry import registry
from detectors.tall.backbone import TALLSwin, cutout, thumbnail
from detectors.tall.imagenet import adapt_imagenet, resize_bias_table
from tests.detectors.common import (load_error, random_clips, randomize, refused_paper_run,
                                    train_step)

# key names and shapes of DeepfakeBench's TALLDetector(tall.yaml).state_dict(), dumped from its own
# code by tools/parity/tall_upstream.py (see the file's "source")
UPSTREAM_KEYS = Path(__file__).with_name("tall_upstream_keys.json")


def _config(name: str = "paper", **backbone) -> dict:
    cfg = copy.deepcopy(registry().get("tall").config(name))
    cfg["model"]["backbone"].update(backbone)
    if "embed_dim" in backbone:
        depth = len(cfg["model"]["backbone"]["depths"])
        cfg["model"]["cls_head"]["in_channels"] = backbone["embed_dim"] * 2 ** (depth - 1)
    return cfg


def _small_paper():
    """The paper layout (224 px, 2 x 2 thumbnail, windows 14-14-14-7, per-frame embedding) at width
    32 and two blocks per stage: a CPU-cheap model whose keys follow upstream's naming."""
    return build_detector("tall", _config(embed_dim=32, depths=[2, 2, 2, 2]))


def _upstream_state() -> dict:
    """Meta tensors with exactly the names and shapes of DeepfakeBench's ``tall.pth``."""
    keys = json.loads(UPSTREAM_KEYS.read_text())["keys"]
    return {k: torch.empty(shape, device="meta",
                           dtype=torch.int64 if k.endswith("_index") else torch.float32)
            for k, shape in keys.items()}


@pytest.fixture(scope="module")
def meta_paper():
    with torch.device("meta"):
        return build_detector("tall", "paper")


# -- the thumbnail layout ---------------------------------------------------------------------------
def test_thumbnail_is_upstreams_rearrange_in_row_major_order():
    from einops import rearrange

    x = torch.randn(2, 3, 4, 5, 5, generator=torch.Generator().manual_seed(0))  # [N, 3, T, H, W]
    # upstream: [B, T, 3, H, W] viewed as [B, T*3, H, W], then 'b (th tw c) h w -> b c (th h) (tw w)'
    theirs = rearrange(x.permute(0, 2, 1, 3, 4).reshape(2, 12, 5, 5),
                       "b (th tw c) h w -> b c (th h) (tw w)", th=2, c=3)
    ours = thumbnail(x, 2)
    assert torch.equal(ours, theirs)
    for t, (r, c) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):  # frame 0 top left, 1 top right
        assert torch.equal(ours[:, :, 5 * r:5 * r + 5, 5 * c:5 * c + 5], x[:, :, t])


def test_layout_resizes_frames_then_halves_the_thumbnail_like_upstream():
    net = TALLSwin(num_frames=4, thumbnail_rows=2, img_size=32, patch_size=4, embed_dim=8,
                   depths=[2], num_heads=[2], window_size=[4])
    x = torch.randn(1, 3, 4, 20, 20, generator=torch.Generator().manual_seed(1))
    frames = F.interpolate(x.permute(0, 2, 1, 3, 4).reshape(4, 3, 20, 20), size=32, mode="bilinear")
    tiled = thumbnail(frames.reshape(1, 4, 3, 32, 32).permute(0, 2, 1, 3, 4), 2)  # [1, 3, 64, 64]
    expected = F.interpolate(tiled, size=32, mode="bilinear")
    assert torch.equal(net.layout(x), expected)
    # a 2 x 2 layout of 32 px frames shown at 32 px: each frame is the mean of its 2 x 2 pixels
    same = torch.randn(1, 3, 4, 32, 32)
    assert torch.allclose(net.layout(same)[..., :16, :16], F.avg_pool2d(same[:, :, 0], 2), atol=1e-6)


def test_frame_embedding_is_upstreams_per_tile_map():
    net = TALLSwin(num_frames=4, thumbnail_rows=2, img_size=32, patch_size=4, embed_dim=8,
                   depths=[2], num_heads=[2], window_size=[4])
    grid = net.grid  # 8 tokens per side, 4 per tile
    ours = net.frame_embedding().view(grid, grid, -1)
    theirs = torch.zeros(grid, grid, 8)  # upstream create_image_pos_embed's loop
    rows = cols = grid // 2
    for i in range(4):
        r, c = (i // 2) * rows, (i % 2) * cols
        theirs[r:r + rows, c:c + cols] = net.frame_pos_embed[0, i].detach()
    assert torch.equal(ours.detach(), theirs)


def test_layout_refuses_shapes_upstream_cannot_build():
    with pytest.raises(ValueError, match="thumbnail_rows"):
        TALLSwin(num_frames=6, thumbnail_rows=2)
    with pytest.raises(ValueError, match="not a multiple of window_size"):
        TALLSwin(num_frames=4, img_size=96, patch_size=4, depths=[2], num_heads=[2],
                 window_size=[7])
    bad = _config("mini")
    bad["input"]["frames"] = 8
    with pytest.raises(Exception, match="input.frames is 8 but the TALLSwin backbone lays out "
                                        "num_frames=4"):
        build_detector("tall", bad)


# -- the training cut-out ---------------------------------------------------------------------------
def test_cutout_is_one_square_at_the_same_place_on_every_frame():
    torch.manual_seed(0)
    x = torch.zeros(6, 3, 4, 40, 40)
    out = cutout(x, 16)
    for clip in out:
        hit = clip == -1.0  # [3, 4, H, W]
        assert torch.equal(hit, hit[:1, :1].expand_as(hit))  # all channels and frames alike
        rows, cols = hit[0, 0].any(1).nonzero()[:, 0], hit[0, 0].any(0).nonzero()[:, 0]
        assert 0 < len(rows) <= 16 and 0 < len(cols) <= 16  # clipped at the border
        assert hit[0, 0].sum() == len(rows) * len(cols)  # a filled rectangle
    assert not x.eq(-1).any()  # the input is untouched


def test_cutout_applies_in_training_only():
    net = TALLSwin(num_frames=4, thumbnail_rows=2, img_size=32, patch_size=4, embed_dim=8,
                   depths=[2], num_heads=[2], window_size=[4], cutout_size=8, drop_path_rate=0.0)
    x = torch.randn(2, 3, 4, 32, 32)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    torch.manual_seed(1)
    a = net(x)
    torch.manual_seed(2)
    assert not torch.allclose(a, net(x))  # another square, another output


# -- the mini config --------------------------------------------------------------------------------
def test_mini_scores_and_trains_through_mmaction():
    det = build_detector("tall", "mini")
    clips = random_clips(2, 4, 64)
    scores = det.clip_scores(clips)
    assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()
    assert torch.equal(scores, det.clip_scores(clips))
    logs = train_step(det.model, {"type": "AdamW", "lr": 1e-3}, clips)
    assert torch.isfinite(logs["loss"])


# -- DeepfakeBench's checkpoint layout --------------------------------------------------------------
def test_paper_layout_is_deepfakebench_state_dict(meta_paper):
    dump = json.loads(UPSTREAM_KEYS.read_text())
    ours = {k: list(v.shape) for k, v in meta_paper.official_state_dict().items()}
    assert len(ours) == dump["num_keys"] == 356
    assert ours == dump["keys"]  # every name and shape
    assert list(ours) == list(dump["keys"])  # and the order
    assert sum(v.numel() for v in meta_paper.model.parameters()) == dump["num_params"]


def test_upstream_checkpoint_loads_strictly_into_the_paper_model(meta_paper):
    from benchmark.checkpoint import load_strict

    summary = load_strict(meta_paper.model, _upstream_state(), "tall.pth", meta_paper.key_map)
    assert summary.loaded == 356 and not summary.ignored


def test_renamed_key_is_refused_naming_file_and_key(meta_paper):
    from benchmark.checkpoint import load_strict

    state = _upstream_state()
    key = "model.layers.2.blocks.17.attn.qkv.weight"
    state["model.layers.2.blocks.17.attn.qkv.w"] = state.pop(key)
    with pytest.raises(WeightsError) as err:
        load_strict(meta_paper.model, state, "tall.pth", meta_paper.key_map)
    message = str(err.value)
    assert message.startswith("tall.pth: ") and key in message
    assert "model.layers.2.blocks.17.attn.qkv.w" in message


def test_reshaped_key_is_refused_naming_file_key_and_shapes(meta_paper):
    from benchmark.checkpoint import load_strict

    state = _upstream_state()
    state["model.frame_pos_embed"] = torch.empty(1, 8, 128, device="meta")  # an 8-frame layout
    with pytest.raises(WeightsError) as err:
        load_strict(meta_paper.model, state, "tall.pth", meta_paper.key_map)
    message = str(err.value)
    assert "model.frame_pos_embed: file (1, 8, 128) vs model (1, 4, 128)" in message


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    det = _small_paper()
    masks = {k: v.clone() for k, v in det.model.state_dict().items() if k.endswith("attn_mask")}
    randomize(det.model, seed=3)
    det.model.load_state_dict(masks, strict=False)  # the shifted-window masks stay what they are
    path = tmp_path_factory.mktemp("tall") / "tall.pth"
    torch.save(det.official_state_dict(), path)
    return det, path


def test_checkpoint_file_loads_strictly_and_gives_the_same_logits(small_checkpoint, tmp_path):
    det, path = small_checkpoint
    state = torch.load(path, weights_only=True)
    assert all(k.startswith("model.") for k in state) and "model.head.weight" in state
    fresh = _small_paper()
    assert fresh.load_weights(path).loaded == len(state)
    clips = random_clips(1, 4, 224, seed=2)
    assert torch.equal(fresh.clip_logits(clips), det.clip_logits(clips))
    ddp = tmp_path / "tall_ddp.pth"  # DDP training saves keys under ``module.``
    torch.save({f"module.{k}": v for k, v in state.items()}, ddp)
    assert fresh.load_weights(ddp).loaded == len(state)
    state["model.layers.1.downsample.norm.bias"] = torch.zeros(3)
    message = load_error(fresh, state, tmp_path / "reshaped.pth")
    assert "reshaped.pth" in message and "model.layers.1.downsample.norm.bias" in message


def test_a_renamed_key_fails_the_run_with_one_error_line(tmp_path, capsys):
    from benchmark.cli import main

    det = build_detector("tall", "mini")
    state = det.official_state_dict()
    state["model.norm.w"] = state.pop("model.norm.weight")
    bad = tmp_path / "bad_tall.pth"
    torch.save(state, bad)
    code = main(["run", "--protocol", "cross_generator", "--method", "tall", "--weights", str(bad),
                 "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("vbench: error:") == 1, err
    line = [x for x in err.splitlines() if x.startswith("vbench: error:")][0]
    assert "bad_tall.pth" in line and "model.norm.weight" in line


def test_a_paper_run_without_imagenet_or_trained_weights_is_refused(tmp_path, capsys):
    out = tmp_path / "runs"
    err = refused_paper_run(capsys, "tall", out)
    assert "model.backbone.pretrained is not set" in err and not out.exists()


# -- ImageNet Swin weights, as upstream's load_pretrained adapts them ----------------------------------
def test_bias_table_resize_is_upstreams_bilinear():
    table = torch.randn(13 * 13, 4, generator=torch.Generator().manual_seed(5))
    image = table.permute(1, 0).view(1, -1, 13, 13)  # upstream's steps, written out
    expected = F.interpolate(image, size=27, mode="bilinear").view(-1, 27 * 27).permute(1, 0)
    assert torch.equal(resize_bias_table(table, 27 * 27), expected)


def _imagenet_state(net: TALLSwin) -> dict:
    """An ImageNet Swin (window 7) state in the Microsoft / timm 0.6 layout for ``net``'s widths."""
    state = {k: v.clone() for k, v in net.state_dict().items() if k != "frame_pos_embed"}
    for key in [k for k in state if k.endswith("relative_position_bias_table")]:
        state[key] = torch.randn(13 * 13, state[key].shape[1])
    for key in [k for k in state if k.endswith("attn_mask")]:
        state[key] = torch.zeros(4, 49, 49)  # window-7 buffers: dropped, never loaded
    state["head.weight"], state["head.bias"] = torch.randn(1000, 256), torch.randn(1000)
    return state


def test_imagenet_weights_load_with_tables_resized_and_head_dropped(tmp_path):
    net = TALLSwin(embed_dim=32, depths=[2, 2, 2, 2])  # paper windows 14-14-14-7 at 224 px
    state = _imagenet_state(net)
    path = tmp_path / "swin_imagenet.pth"
    torch.save({"model": state}, path)  # the Microsoft release's wrapping
    pe = net.frame_pos_embed.detach().clone()
    net.pretrained = str(path)
    net.init_weights()
    ours = net.state_dict()
    key = "layers.0.blocks.1.attn.relative_position_bias_table"
    assert torch.equal(ours[key], resize_bias_table(state[key], 27 * 27))
    assert torch.equal(ours["layers.3.blocks.0.attn.relative_position_bias_table"],
                       state["layers.3.blocks.0.attn.relative_position_bias_table"])  # window 7
    assert torch.equal(ours["layers.1.blocks.0.attn.qkv.weight"], state["layers.1.blocks.0.attn.qkv.weight"])
    assert ours["layers.0.blocks.1.attn_mask"].shape == (16, 196, 196)  # rebuilt, not the file's
    assert ours["frame_pos_embed"].shape == pe.shape  # TALL's own: re-initialised, not loaded


def test_imagenet_weights_with_a_missing_or_foreign_key_are_refused(tmp_path):
    net = TALLSwin(embed_dim=32, depths=[2, 2, 2, 2])
    ours = net.state_dict()
    state = _imagenet_state(net)
    state.pop("layers.2.downsample.reduction.weight")
    with pytest.raises(WeightsError, match=r"in\.pth: 1 backbone keys are missing from the file, "
                                           r"first: layers\.2\.downsample\.reduction\.weight"):
        adapt_imagenet(state, ours, "in.pth")
    state = _imagenet_state(net)
    state["layers.0.downsample.reduction.weight"] = torch.zeros(64, 64)
    with pytest.raises(WeightsError, match=r"key 'layers\.0\.downsample\.reduction\.weight' has "
                                           r"shape \(64, 64\) but TALL's backbone has \(64, 128\)"):
        adapt_imagenet(state, ours, "in.pth")
    state = _imagenet_state(net)
    state["layers.0.blocks.0.attn.q_bias"] = torch.zeros(32)  # a Swin-V2 tensor
    with pytest.raises(WeightsError, match=r"key 'layers\.0\.blocks\.0\.attn\.q_bias' is not"):
        adapt_imagenet(state, ours, "in.pth")
