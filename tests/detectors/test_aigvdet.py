"""AIGVDet: official two-file layout, strict part loading, the fused head, the flow clip reader."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.errors import DataError, RegistryError, VideoDecodeError, WeightsError
from benchmark.flow import OpenCVFlow, flow_images
from benchmark.registry import registry
from tests.detectors.common import (upstream_dump, random_clips as _clips, randomize as _randomize,
                                   train_step)

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_FILES = {"rgb": "aigvdet_rgb.json", "flow": "aigvdet_flow.json"}
OFFICIAL_FILES = {"rgb": "original.pth", "flow": "optical.pth"}


def _config(name: str, frames: int | None = None, cache_dir: Path | None = None) -> dict:
    cfg = registry().get("aigvdet").config(name)
    if frames is not None:
        cfg["model"]["backbone"]["num_frames"] = cfg["input"]["frames"] = frames
    if cache_dir is not None:
        cfg["flow"]["cache_dir"] = str(cache_dir)
    return cfg


def _detector(name: str = "mini", **kwargs):
    from detectors.aigvdet import AIGVDetDetector

    return AIGVDetDetector(_config(name, **kwargs))


@pytest.fixture
def empty_paper(monkeypatch):
    """Builds paper detectors (T=2) without the random initialisation that loading overwrites
    anyway: He-initialising two ResNet-50s costs seconds on one core."""
    from detectors.aigvdet.trunk import ResNetTrunk

    monkeypatch.setattr(ResNetTrunk, "_init_weights", lambda self: None)
    return lambda: _detector("paper", frames=2)


# -- paper config: the two official files ----------------------------------------------------------
@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """A paper-config (ResNet-50 pair) detector at T=2 with random weights, saved as upstream does:
    ``original.pth`` raw and ``optical.pth`` under ``"model"``."""
    from detectors.aigvdet.trunk import ResNetTrunk

    with pytest.MonkeyPatch.context() as patch:  # every tensor is randomised below anyway
        patch.setattr(ResNetTrunk, "_init_weights", lambda self: None)
        det = _detector("paper", frames=2)
    _randomize(det.model)
    folder = tmp_path_factory.mktemp("aigvdet_paper")
    states = det.official_state_dict()
    torch.save(states["rgb"], folder / OFFICIAL_FILES["rgb"])
    torch.save({"model": states["flow"]}, folder / OFFICIAL_FILES["flow"])
    clips = _clips(1, 3, 64, seed=1)  # 2 RGB frames + 1 flow image, 64 px
    return det, folder, clips, det.clip_logits(clips)


@pytest.mark.parametrize("part", ["rgb", "flow"])
def test_paper_official_layout_matches_upstream_keys(paper, part):
    det, _, _, _ = paper
    state = det.official_state_dict()[part]
    assert len(state) == 320 and list(state)[-2:] == ["fc.weight", "fc.bias"]
    assert tuple(state["fc.weight"].shape) == (1, 2048)
    expected = upstream_dump(UPSTREAM_FILES[part])["keys"]
    assert list(state) == list(expected)  # same names, same order
    assert {k: list(v.shape) for k, v in state.items()} == expected


@pytest.mark.parametrize("form", ["folder", "dict", "string"])
def test_paper_parts_reload_strictly_with_identical_outputs(paper, empty_paper, form):
    det, folder, clips, logits = paper
    files = {part: folder / name for part, name in OFFICIAL_FILES.items()}
    given = {"folder": folder, "dict": files,
             "string": ",".join(f"{p}={f}" for p, f in files.items())}[form]
    fresh = empty_paper()
    summary = fresh.load_weights(given)
    assert summary.loaded == 640
    ours, theirs = det.model.state_dict(), fresh.model.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert torch.equal(fresh.clip_logits(clips), logits)


def _tampered(paper, tmp_path, part: str, edit) -> Path:
    det, folder, _, _ = paper
    for name in OFFICIAL_FILES.values():
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    state = det.official_state_dict()[part]
    edit(state)
    torch.save(state, tmp_path / OFFICIAL_FILES[part])
    return tmp_path / OFFICIAL_FILES[part]


def test_renamed_key_is_refused_naming_file_and_key(paper, empty_paper, tmp_path):
    def rename(state):
        state["layer3.1.conv9.weight"] = state.pop("layer3.1.conv2.weight")

    path = _tampered(paper, tmp_path, "flow", rename)
    with pytest.raises(WeightsError) as err:
        empty_paper().load_weights(tmp_path)
    message = str(err.value)
    assert str(path) in message and "layer3.1.conv2.weight" in message
    assert "layer3.1.conv9.weight" in message


def test_wrong_shape_is_refused_naming_file_and_key(paper, empty_paper, tmp_path):
    def reshape(state):
        state["fc.weight"] = torch.zeros(2, 2048)

    path = _tampered(paper, tmp_path, "rgb", reshape)
    with pytest.raises(WeightsError) as err:
        empty_paper().load_weights(tmp_path)
    message = str(err.value)
    assert str(path) in message and "fc.weight" in message and "(2, 2048)" in message


def test_part_maps_route_keys_to_their_branch():
    from detectors.aigvdet import AIGVDetDetector

    rgb, flow = AIGVDetDetector.weight_parts["rgb"], AIGVDetDetector.weight_parts["flow"]
    assert rgb.to_ours("fc.weight") == "cls_head.rgb_fc.weight"
    assert flow.to_ours("layer1.0.downsample.1.running_var") == \
        "backbone.flow.layer1.0.downsample.1.running_var"
    assert flow.to_official("cls_head.flow_fc.bias") == "fc.bias"
    assert rgb.owns("backbone.rgb.conv1.weight") and not rgb.owns("backbone.flow.conv1.weight")
    assert not flow.owns("cls_head.rgb_fc.weight")


# -- model -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mini():
    torch.manual_seed(0)
    det = _detector("mini")
    _randomize(det.model, seed=3, scale=0.2)
    return det


def test_score_is_the_mean_of_the_two_branch_frame_means(mini):
    clips = _clips(3, 7, mini.spec.size, seed=2)  # 4 RGB frames + 3 flow images
    x = mini.normalize(clips)
    with torch.inference_mode():
        rgb, flow = mini.model.cls_head.frame_logits(mini.model.backbone(x))  # [3, 4], [3, 3]
    assert rgb.shape == (3, 4) and flow.shape == (3, 3)
    expected = 0.5 * rgb.sigmoid().mean(1) + 0.5 * flow.sigmoid().mean(1)
    scores = mini.clip_scores(clips)
    assert torch.allclose(scores, expected, atol=1e-5)
    assert (rgb.sigmoid().std() > 1e-3)  # the frames really differ: the mean is not trivial


def test_flow_frames_go_to_the_flow_trunk_only(mini):
    clips = _clips(2, 7, mini.spec.size, seed=4)
    changed = clips.clone()
    changed[:, :, 4:] = 255 - changed[:, :, 4:]  # touch only the 3 flow images
    with torch.inference_mode():
        a = mini.model.backbone(mini.normalize(clips))
        b = mini.model.backbone(mini.normalize(changed))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[1], b[1])


def test_rgb_clips_get_their_flow_computed(mini):
    size = mini.spec.size
    rgb = _clips(2, 4, size, seed=5)
    frames = rgb.permute(0, 2, 3, 4, 1).numpy()  # [2, 4, H, W, 3]
    flow = np.stack([flow_images(f, OpenCVFlow("farneback")) for f in frames])  # mini: rgb order
    full = torch.cat([rgb, torch.from_numpy(flow).permute(0, 4, 1, 2, 3)], dim=2)
    assert torch.equal(mini.clip_logits(rgb), mini.clip_logits(full))
    expected = rf"\[N, 3, 4, H, W\].*\[N, 3, 7, H, W\].*\(2, 3, 5, {size}, {size}\)"
    with pytest.raises(DataError, match=expected):
        mini.clip_logits(_clips(2, 5, size))


def test_backbone_refuses_a_clip_of_the_wrong_length(mini):
    with pytest.raises(ValueError, match=r"\[N, 3, 7, H, W\]"):
        mini.model.backbone(torch.zeros(1, 3, 6, 32, 32))


def test_input_spec_must_match_the_backbone():
    from detectors.aigvdet import AIGVDetDetector

    cfg = _config("mini")
    cfg["input"]["frames"] = 8
    with pytest.raises(RegistryError, match="num_frames=4"):
        AIGVDetDetector(cfg)


def test_mini_trains_both_branches_through_mmaction_train_step():
    torch.manual_seed(1)
    det = _detector("mini")
    model = det.model
    before = [model.cls_head.rgb_fc.weight.clone(), model.cls_head.flow_fc.weight.clone()]
    # clips of T RGB frames then T-1 flow images: [2, 3, 2T-1, H, W]
    clips = _clips(2, 7, det.spec.size, seed=6)
    log_vars = train_step(model, _config("mini")["train"]["optimizer"], clips)
    assert torch.isfinite(log_vars["loss"]) and {"loss_rgb", "loss_flow"} <= set(log_vars)
    assert not torch.equal(model.cls_head.rgb_fc.weight, before[0])
    assert not torch.equal(model.cls_head.flow_fc.weight, before[1])


def test_head_logit_round_trips_the_fused_probability():
    from detectors.aigvdet.head import AIGVDetHead

    head = AIGVDetHead(in_channels=8)
    feats = (torch.randn(5, 3, 8) * 50, torch.randn(5, 2, 8) * 50)  # saturating logits
    p = head.fused_probability(feats)
    logit = head(feats)
    assert logit.shape == (5, 1) and torch.isfinite(logit).all()
    assert torch.allclose(logit[:, 0].sigmoid(), p.clamp(1e-6, 1 - 1e-6), atol=1e-6)


# -- clip reader -----------------------------------------------------------------------------------
def _frame_folder(root: Path, n: int, size: int = 40) -> Path:
    """A textured scene panning right by 2 px per frame, stored as PNG frames."""
    import cv2

    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.integers(0, 256, (size, size + 2 * n, 3)).astype(np.uint8),
                             (5, 5), 1.5)
    folder = root / f"video_{n}"
    folder.mkdir()
    for i in range(n):
        frame = scene[:, 2 * (n - i): 2 * (n - i) + size]  # content moves +x over time
        cv2.imwrite(str(folder / f"{i:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture
def reader(tmp_path):
    from detectors.aigvdet.reader import FlowClipReader
    from benchmark.data.spec import InputSpec

    spec = InputSpec(frames=3, sampling="all", size=32, resize="center_crop")
    return FlowClipReader(spec, {"opencv": "farneback", "channel_order": "upstream_bgr",
                                 "cache_dir": str(tmp_path / "cache")})


def test_reader_returns_frames_then_their_flow_images(reader, tmp_path):
    from benchmark.data.dataset import center_crop_pad
    from benchmark.data.video import open_video

    folder = _frame_folder(tmp_path, 8)
    # 8 frames, T=3, "all": clips at frames 0-2, 2-4, 4-6, 6-7(+pad), sharing one frame, so the
    # 7 flow images split exactly: 0-1, 2-3, 4-5, 6(+pad)
    clips, valid = reader(str(folder))
    assert clips.shape == (4, 3, 5, 32, 32) and clips.dtype == torch.uint8
    assert valid.tolist() == [[1, 1, 1, 1, 1], [0, 1, 1, 1, 1], [0, 1, 1, 1, 1], [0, 1, 0, 1, 0]]
    frames = open_video(str(folder)).read(range(8))  # [8, 40, 40, 3]
    flows = center_crop_pad(flow_images(frames, OpenCVFlow(), "upstream_bgr"), 32)  # [7, 32, 32, 3]
    out = clips.permute(0, 2, 3, 4, 1).numpy()  # [K, 5, S, S, 3]
    assert np.array_equal(out[1, :3], center_crop_pad(frames[2:5], 32))
    assert np.array_equal(out[1, 3:], flows[2:4])  # flows 2->3 and 3->4
    assert np.array_equal(out[0, 3:], flows[0:2])
    assert np.array_equal(out[3, :3], center_crop_pad(frames[[6, 7, 7]], 32))  # padded, masked
    assert np.array_equal(out[3, 3:], flows[[6, 6]])
    counted = valid[:, :3].sum().item(), valid[:, 3:].sum().item()
    assert counted == (8, 7)  # every frame and every flow image exactly once
    # a rightward pan, rendered in upstream's swapped order: red lands in the last channel
    assert np.median(out[0, 3, 8:-8, 8:-8, 2]) == 255 and np.median(out[0, 3, 8:-8, 8:-8, 0]) < 150


def test_flow_is_cached_once_per_video(reader, tmp_path):
    folder = _frame_folder(tmp_path, 6)
    first, _ = reader(str(folder))
    cached = list((tmp_path / "cache").rglob("*.npy"))
    assert len(cached) == 1 and np.load(cached[0]).shape == (5, 32, 32, 3)
    assert not list((tmp_path / "cache").rglob("*.tmp*"))  # renamed into place

    class Refuse(OpenCVFlow):
        def pairs(self, frames):
            raise AssertionError("flow recomputed despite a cache entry")

    reader.estimator = Refuse()  # same identity, so the same cache key
    assert torch.equal(reader(str(folder))[0], first)


def test_damaged_cache_entry_is_recomputed(reader, tmp_path):
    folder = _frame_folder(tmp_path, 6)
    first, _ = reader(str(folder))
    (entry,) = (tmp_path / "cache").rglob("*.npy")
    np.save(entry, np.zeros((2, 32, 32, 3), np.uint8))  # wrong length for a 6-frame video
    assert torch.equal(reader(str(folder))[0], first)
    assert np.load(entry).shape == (5, 32, 32, 3)  # rewritten
    entry.write_bytes(b"not an array")
    assert torch.equal(reader(str(folder))[0], first)


def test_cache_key_follows_video_and_settings(reader, tmp_path):
    from detectors.aigvdet.reader import FlowClipReader

    folder = _frame_folder(tmp_path, 5)
    key = reader.cache_key(str(folder))
    assert reader.cache_key(str(folder)) == key
    for change in ({"channel_order": "rgb"}, {"opencv": "dis"},
                   {"opencv_params": {"winsize": 9}}):
        other = FlowClipReader(reader.spec, {**reader.flow_cfg, **change})
        assert other.cache_key(str(folder)) != key, change
    import dataclasses

    resized = FlowClipReader(dataclasses.replace(reader.spec, size=24), reader.flow_cfg)
    assert resized.cache_key(str(folder)) != key
    os.utime(folder, ns=(1, 1))  # the video changed on disk
    assert reader.cache_key(str(folder)) != key


def test_every_frame_layout_counts_each_frame_and_flow_once():
    from detectors.aigvdet.reader import every_frame_layout

    for n in range(2, 30):
        for t in (2, 3, 8):
            frames, flows, valid = every_frame_layout(n, t)
            assert frames.max() == n - 1 and flows.max() == n - 2
            assert sorted(frames[valid[:, :t]].tolist()) == list(range(n)), (n, t)
            assert sorted(flows[valid[:, t:]].tolist()) == list(range(n - 1)), (n, t)


def test_video_score_is_upstreams_frame_and_flow_means(tmp_path):
    """video_scores over masked clips = 0.5 mean(all frames) + 0.5 mean(all flow images)."""
    from benchmark.data.dataset import center_crop_pad
    from benchmark.data.spec import InputSpec
    from benchmark.data.video import open_video
    from detectors.aigvdet.reader import FlowClipReader

    detector = _detector("mini")
    _randomize(detector.model, seed=3, scale=0.5)
    spec = InputSpec(frames=4, sampling="all", size=32, resize="center_crop")
    reader = FlowClipReader(spec, {"opencv": "farneback", "cache_dir": str(tmp_path / "c")})
    folder = _frame_folder(tmp_path, 11)  # K = ceil(10 / 3) = 4 clips
    clips, valid = reader(str(folder))
    score = detector.video_scores(clips, torch.zeros(len(clips), dtype=torch.long), 1, valid)
    frames = center_crop_pad(open_video(str(folder)).read(range(11)), 32)  # every frame, once
    flows = reader.video_flow(str(folder))  # every flow image, once
    model, pre = detector.model, detector.model.data_preprocessor

    def probs(images, trunk, fc):  # one image at a time, as upstream's demo scores them
        x = (torch.from_numpy(images).permute(0, 3, 1, 2).float() - pre.mean[:, 0]) / pre.std[:, 0]
        with torch.inference_mode():
            return fc(trunk(x)).sigmoid()[:, 0]

    rgb = probs(frames, model.backbone.rgb, model.cls_head.rgb_fc)  # [11]
    flow = probs(flows, model.backbone.flow, model.cls_head.flow_fc)  # [10]
    assert rgb.std() > 1e-3 and flow.std() > 1e-3  # frames differ, so a dropped one would show
    assert torch.allclose(score, 0.5 * rgb.mean() + 0.5 * flow.mean(), atol=1e-6)


def test_too_short_video_is_a_decode_failure(reader, tmp_path):
    folder = _frame_folder(tmp_path, 1)
    with pytest.raises(VideoDecodeError, match="1 frames, clip needs 2"):
        reader(str(folder))
    assert not (tmp_path / "cache").exists()  # nothing computed for a video that cannot be read
