"""WaveRep: the released checkpoint's layouts (upstream's timm model, Lightning-wrapped or bare)
loaded strictly, bad keys refused by name, upstream's frame preprocessing and logit pooling, and
the wavelet band replacement against an independent Haar transform."""
import copy

import numpy as np
import pytest
import torch

from benchmark.cli import main
from benchmark.detector import build_detector
from benchmark.errors import WeightsError
from benchmark.registry import registry
from detectors.waverep.wavelet import band_masks, haar_matrix, wave_replace
from tests.detectors.common import random_clips, randomize, refused_paper_run
from tests.run_helpers import placeholder_manifest

# the paper architecture at a test size: upstream's arch name with a smaller frame and depth
SMALL = {"img_size": 56, "depth": 2}


def _config(name="mini", **timm_args):
    cfg = copy.deepcopy(registry().get("waverep").config(name))
    cfg["model"]["backbone"]["timm_args"].update(timm_args)
    if "img_size" in timm_args:
        cfg["input"]["size"] = timm_args["img_size"]
    return cfg


def _upstream_model(cfg, seed=0):
    """The network as upstream's ``create_model`` builds it (``num_classes=1``), seeded."""
    import timm

    backbone = cfg["model"]["backbone"]
    model = timm.create_model(backbone["arch"], pretrained=False, num_classes=1,
                              **backbone["timm_args"]).eval()
    randomize(model, seed)
    return model


def _lightning(model) -> dict:
    """As a Lightning checkpoint holds it: ``state_dict`` of ``model.<timm key>``, plus extras."""
    return {"epoch": 3, "global_step": 10,
            "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}}


@pytest.mark.parametrize("layout", ["lightning", "bare"])
def test_released_layouts_load_strictly_and_give_upstreams_logits(tmp_path, layout):
    cfg = _config("paper", **SMALL)
    upstream = _upstream_model(cfg)
    path = tmp_path / "weights.ckpt"
    torch.save(_lightning(upstream) if layout == "lightning" else upstream.state_dict(), path)
    detector = build_detector("waverep", cfg)
    summary = detector.load_weights(path)
    assert summary.loaded == len(upstream.state_dict())
    clips = random_clips(3, 1, 56, seed=2)  # three one-frame clips [3, 3, 1, 56, 56]
    x = detector.normalize(clips)[:, :, 0]  # [3, 3, 56, 56]
    with torch.no_grad():
        theirs = upstream(x)[:, -1]  # upstream's evaluate: model(frame)[0, -1], per frame
    ours = detector.clip_logits(clips)[:, 0]
    assert (ours - theirs).abs().max() < 1e-5
    video = detector.video_scores(clips, torch.tensor([0, 0, 1]), 2)
    expected = torch.stack([theirs[:2].mean(), theirs[2]]).sigmoid()  # expit(mean frame logit)
    assert torch.allclose(video, expected, atol=1e-6)


def test_paper_keys_and_shapes_are_upstreams_at_504():
    """Every tensor upstream's timm ViT-B/14-reg4 at img_size 504 holds, by name and shape."""
    import timm

    with torch.device("meta"):
        upstream = timm.create_model("vit_base_patch14_reg4_dinov2", num_classes=1, img_size=504)
    theirs = {f"model.{k}": tuple(v.shape) for k, v in upstream.state_dict().items()}
    ours = {k: tuple(v.shape) for k, v in build_detector("waverep", "paper").official_state_dict().items()}
    assert ours == theirs
    assert theirs["model.pos_embed"] == (1, 36 * 36, 768) and theirs["model.reg_token"] == (1, 4, 768)


def _bad_checkpoints(tmp_path):
    cfg = _config("mini")
    state = _lightning(_upstream_model(cfg))
    key = "model.blocks.0.mlp.fc1.weight"
    renamed = copy.deepcopy(state)
    renamed["state_dict"]["model.blocks.0.mlp.fc_1.weight"] = renamed["state_dict"].pop(key)
    reshaped = copy.deepcopy(state)
    reshaped["state_dict"][key] = reshaped["state_dict"][key][:-1].clone()
    stray = copy.deepcopy(state)
    stray["state_dict"]["criterion.pos_weight"] = torch.ones(1)  # upstream drops it silently
    files = {}
    for name, value in (("renamed", renamed), ("reshaped", reshaped), ("stray", stray)):
        files[name] = tmp_path / f"{name}.ckpt"
        torch.save(value, files[name])
    return files


@pytest.mark.parametrize("bad, named", [
    ("renamed", r"missing from the file, first: model\.blocks\.0\.mlp\.fc1\.weight; 1 unexpected "
                r"keys, first: model\.blocks\.0\.mlp\.fc_1\.weight"),
    ("reshaped", r"shape mismatches, first: model\.blocks\.0\.mlp\.fc1\.weight: file \(255, 64\)"),
    ("stray", r"unexpected keys, first: criterion\.pos_weight"),
])
def test_a_bad_key_is_refused_by_name(tmp_path, bad, named):
    path = _bad_checkpoints(tmp_path)[bad]
    with pytest.raises(WeightsError, match=named):
        build_detector("waverep", "mini").load_weights(path)


def test_a_renamed_key_exits_2_with_one_line_naming_file_and_key(tmp_path, capsys):
    path = _bad_checkpoints(tmp_path)["renamed"]
    data = placeholder_manifest(tmp_path, ["g1"])
    code = main(["run", "--protocol", "cross_generator", "--method", "waverep", "--data", str(data),
                 "--weights", str(path), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("vbench: error:") == 1 and err.count("\n") == 1, err
    assert str(path) in err and "model.blocks.0.mlp.fc_1.weight" in err


def test_a_paper_run_without_weights_is_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "runs"
    err = refused_paper_run(capsys, "waverep", out)
    assert "waverep config paper: no weights to start from" in err and not out.exists()


def test_preprocessing_is_upstreams_centre_crop_of_every_frame():
    """Every frame, CenterCrop(504) with torchvision's offsets and zero padding, ImageNet units."""
    import torchvision.transforms as T
    from PIL import Image

    spec = build_detector("waverep", "paper").spec
    assert (spec.frames, spec.sampling, spec.size, spec.resize) == (1, "all", 504, "center_crop")
    reader = build_detector("waverep", "paper").clip_reader()
    rng = np.random.default_rng(0)
    for h, w in ((720, 1280), (480, 360), (505, 900)):  # larger, smaller than 504, odd margin
        frames = rng.integers(0, 256, (3, h, w, 3), dtype=np.uint8)
        ours = reader.transform(frames)  # [3, 504, 504, 3]
        crop = T.CenterCrop((504, 504))
        theirs = np.stack([np.asarray(crop(Image.fromarray(f))) for f in frames])
        assert np.array_equal(ours, theirs), (h, w)
    from benchmark.data.sampling import sample_clips

    index = sample_clips(37, spec.frames, spec.sampling, spec.num_clips, spec.stride)
    assert index[:, 0].tolist() == list(range(37))  # one clip per frame, all of them


def test_normalisation_is_torchvisions_imagenet():
    import torchvision.transforms as T

    detector = build_detector("waverep", "mini")
    clips = random_clips(1, 4, 64, seed=4)
    ours = detector.normalize(clips)[0, :, 0]  # [3, 64, 64]
    frame = clips[0, :, 0].float() / 255  # ToTensor
    theirs = T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])(frame)
    assert (ours - theirs).abs().max() < 1e-5


def _haar_reference(x: torch.Tensor, levels: int, dim: int) -> list[torch.Tensor]:
    """Bands ``[A_L, D_L, ..., D_1]`` along ``dim`` by pairwise sums, level by level."""
    out, low = [], x.double()
    for _ in range(levels):
        even, odd = low.narrow(dim, 0, low.shape[dim] // 2 * 2).unfold(dim, 2, 2).unbind(-1)
        out.insert(0, (odd - even) / 2 ** 0.5)
        low = (even + odd) / 2 ** 0.5
    return [low, *out]


def test_band_replacement_matches_a_level_by_level_haar():
    gen = torch.Generator().manual_seed(0)
    fake, real = torch.rand(2, 3, 2, 32, 48, generator=gen).unbind(0)  # [3, T, H, W] each
    labels = torch.tensor([1, 0])
    # grey levels 100-155: the mixed frames stay inside 0-255, so only rounding moves them
    clips = (torch.stack([fake, real]) * 55 + 100).round().to(torch.uint8)
    out = wave_replace(clips, labels, 1.0, 3, torch.Generator().manual_seed(1))
    assert torch.equal(out[1], clips[1])  # the real clip is untouched

    def bands(x):  # rows first, then columns of every row band: [[(i, j) band]]
        return [_haar_reference(b, 3, -1) for b in _haar_reference(x, 3, -2)]

    got, f, r = bands(out[0].double()), bands(clips[0].double()), bands(clips[1].double())
    for i in range(4):
        for j in range(4):
            source = r if (i == 0 or j == 0) else f  # approximation and low/high bands: the real's
            # rounding to uint8 moves a coefficient by at most 64 pixels x 1/8 x 0.5 = 4
            assert (got[i][j] - source[i][j]).abs().max() <= 4, (i, j)
    assert torch.allclose(haar_matrix(48, 3) @ haar_matrix(48, 3).T, torch.eye(48, dtype=torch.float64))
    approx, mixed = band_masks(32, 48, 3)  # A_3 is 4 x 6 coefficients
    assert approx.sum() == 4 * 6 and mixed.sum() == 4 * (48 - 6) + (32 - 4) * 6


def test_band_replacement_at_p0_and_without_a_real_clip_is_the_identity():
    clips = random_clips(4, 2, 32, seed=3)
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(wave_replace(clips, torch.tensor([0, 1, 0, 1]), 0.0, 3, gen), clips)
    assert torch.equal(wave_replace(clips, torch.ones(4, dtype=torch.long), 1.0, 3, gen), clips)


def test_frame_sizes_that_do_not_split_into_the_levels_are_refused():
    with pytest.raises(ValueError, match="multiple of 8"):
        haar_matrix(60, 3)


def _timm_folder(tmp_path, arch="vit_small_patch14_reg4_dinov2", img_size=72):
    """A DINOv2 release as timm publishes it (config.json + model.safetensors, no head), at
    another image size than the config's, so that loading must resample the position grid."""
    import json

    import timm
    from safetensors.torch import save_file

    args = dict(registry().get("waverep").config("mini")["model"]["backbone"]["timm_args"])
    model = timm.create_model(arch, pretrained=False, num_classes=0, **{**args, "img_size": img_size})
    randomize(model, seed=7)
    folder = tmp_path / "dinov2"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({"architecture": f"{arch}.lvd142m"}))
    return folder, model


def test_the_dinov2_start_point_loads_from_a_timm_folder(tmp_path):
    folder, released = _timm_folder(tmp_path)
    cfg = _config("mini")
    cfg["model"]["backbone"]["pretrained"] = str(folder)
    detector = build_detector("waverep", cfg)
    detector.model.init_weights()  # as training does before its first step
    vit = detector.model.backbone.vit
    assert torch.equal(vit.blocks[1].attn.qkv.weight, released.blocks[1].attn.qkv.weight)
    assert vit.pos_embed.shape == (1, 64, 64) and released.pos_embed.shape == (1, 81, 64)


def test_a_timm_folder_of_another_architecture_is_refused(tmp_path):
    folder, _ = _timm_folder(tmp_path, arch="vit_small_patch14_dinov2")
    cfg = _config("mini")
    cfg["model"]["backbone"]["pretrained"] = str(folder)
    with pytest.raises(WeightsError, match=r"config\.json: architecture 'vit_small_patch14_dinov2"):
        build_detector("waverep", cfg).model.init_weights()
