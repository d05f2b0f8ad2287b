"""Input specs, clip datasets, collation and loaders."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.data.dataset import Batch, ClipDataset, center_crop_pad, collate_clips, make_loader, spatial
from benchmark.data.spec import IMAGENET_MEAN, InputSpec
from benchmark.errors import DataError, UnknownKeyError


def levels(clips: torch.Tensor) -> np.ndarray:
    """Grey level of each frame of each clip, ``[K, T]`` (frame i is filled with 10 * i)."""
    return (clips.float().mean(dim=(1, 3, 4)) / 10).round().int().numpy() * 10


# -- InputSpec ---------------------------------------------------------------------------------

def test_spec_from_dict_defaults_and_roundtrip():
    d = {"frames": 8, "sampling": "clips", "num_clips": 4, "mean": [1, 2, 3.5]}
    spec = InputSpec.from_dict(d, "a.yaml")
    assert spec.size == 224 and spec.mean == (1, 2, 3.5) and spec.clip_shape == (3, 8, 224, 224)
    assert InputSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("d, error, message", [
    ({"frames": 8, "frmes": 8}, UnknownKeyError, "Unknown input field in cfg.yaml: 'frmes'"),
    ({"sampling": "first"}, DataError, "cfg.yaml: the input spec needs 'frames'"),
    ({"frames": 0}, DataError, "cfg.yaml: input.frames must be a positive integer, got 0"),
    ({"frames": True}, DataError, "input.frames must be a positive integer"),
    ({"frames": 8, "size": "224"}, DataError, "input.size must be a positive integer, got '224'"),
    ({"frames": 8, "sampling": "unifrom"}, UnknownKeyError, "Did you mean: uniform"),
    ({"frames": 8, "resize": "crop"}, UnknownKeyError, "Unknown resize mode in cfg.yaml: 'crop'"),
    ({"frames": 8, "sampling": "first", "num_clips": 4}, DataError, "makes one clip per video"),
    ({"frames": 8, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}, DataError, "0-1 scale"),
    ({"frames": 8, "mean": [1, 2]}, DataError, "input.mean must be 3 numbers"),
    ({"frames": 8, "std": [1, 0, 1]}, DataError, "input.std must be > 0"),
    ({"frames": 8, "face_crop": "yes"}, DataError, "input.face_crop must be true or false"),
])
def test_spec_errors(d, error, message):
    with pytest.raises(error) as info:
        InputSpec.from_dict(d, "cfg.yaml")
    assert message in str(info.value)


# -- spatial processing ---------------------------------------------------------------------------

def test_center_crop_pad_matches_torchvision():
    tf = pytest.importorskip("torchvision.transforms.functional")
    rng = np.random.default_rng(0)
    for h, w, size in [(48, 64, 32), (47, 63, 32), (20, 30, 25), (10, 40, 16), (9, 9, 12)]:
        frames = rng.integers(0, 256, (2, h, w, 3), dtype=np.uint8)
        ours = center_crop_pad(frames, size)
        ref = tf.center_crop(torch.from_numpy(frames).permute(0, 3, 1, 2), [size, size]).permute(0, 2, 3, 1)
        np.testing.assert_array_equal(ours, ref.numpy())


def test_short_side_center_crop_keeps_the_centre():
    frames = np.zeros((1, 40, 80, 3), np.uint8)
    frames[:, :, :20] = 255  # left quarter white: outside the centre square
    frames[:, :, 60:] = 255
    out = spatial(frames, 20, "short_side_center_crop")
    assert out.shape == (1, 20, 20, 3) and out.max() == 0
    assert spatial(frames, 20, "resize").shape == (1, 20, 20, 3)
    assert spatial(frames, 30, "resize").mean() == pytest.approx(frames.mean(), abs=3)


# -- ClipDataset -------------------------------------------------------------------------------

def test_item_holds_uint8_clips_in_order(mp4, manifest_of):
    spec = InputSpec(frames=4, sampling="clips", num_clips=3, size=32)
    item = ClipDataset(manifest_of({"a/clip": mp4}), spec)[0]
    assert item["error"] is None and (item["index"], item["video_id"], item["label"]) == (0, "a/clip", 0)
    clips = item["clips"]
    assert clips.dtype == torch.uint8 and clips.shape == (3, 3, 4, 32, 32)  # [K, 3, T, H, W]
    expected = [[0, 10, 20, 30], [100, 110, 120, 130], [200, 210, 220, 230]]
    np.testing.assert_array_equal(levels(clips), expected)


def test_frame_folder_item_center_crop_pads(tmp_path, write_frames, manifest_of):
    folder = write_frames(tmp_path / "v", n=12, h=40, w=50)
    spec = InputSpec(frames=3, sampling="first", size=64, resize="center_crop")
    clips = ClipDataset(manifest_of({"v": folder}), spec)[0]["clips"]
    assert clips.shape == (1, 3, 3, 64, 64)
    assert clips[..., :12, :].max() == 0  # 40 rows padded to 64: 12 zero rows above
    assert clips[..., 12:52, 7:57].float().mean((0, 1, 3, 4)).tolist() == [0, 10, 20]


@pytest.mark.parametrize("name, reason", [
    ("missing", "file not found"),
    ("empty", "file is empty (0 bytes)"),
    ("random", "undecodable: "),
    ("truncated", "truncated: expected 24 frames, decoded "),
    ("audio", "no video stream"),
])
def test_failures_are_recorded_not_raised(bad_videos, manifest_of, name, reason):
    spec = InputSpec(frames=4, sampling="clips", num_clips=3, size=16)
    item = ClipDataset(manifest_of({name: bad_videos[name]}), spec)[0]
    assert item["clips"] is None and item["error"].startswith(reason), item["error"]


def test_short_video_is_recorded(mp4, manifest_of):
    item = ClipDataset(manifest_of({"a": mp4}), InputSpec(frames=32, sampling="first", size=16))[0]
    assert item["clips"] is None and item["error"] == "video has 24 frames, clip needs 32"


def test_training_offsets_are_seeded_per_item_and_epoch(mp4, manifest_of):
    spec = InputSpec(frames=2, sampling="random", size=16)
    ds = ClipDataset(manifest_of({"a": mp4}), spec, train=True, seed=5)
    firsts = []
    for epoch in range(6):
        ds.set_epoch(epoch)
        a, b = levels(ds[0]["clips"]), levels(ds[0]["clips"])
        np.testing.assert_array_equal(a, b)
        firsts.append(int(a[0, 0]))
    assert len(set(firsts)) > 1
    assert levels(ClipDataset(manifest_of({"a": mp4}), spec)[0]["clips"])[0, 0] == 110  # eval: centre clip


def test_transform_gets_the_clip_tensor(mp4, manifest_of):
    seen = []
    flip = lambda clips: seen.append(clips.shape) or clips.flip(-1)  # noqa: E731
    item = ClipDataset(manifest_of({"a": mp4}), InputSpec(frames=2, size=16), transform=flip)[0]
    assert seen == [(1, 3, 2, 16, 16)] and item["clips"].shape == (1, 3, 2, 16, 16)


def test_collate_mixes_decoded_and_failed(mp4, bad_videos, manifest_of):
    df = manifest_of({"ok1": mp4, "bad": bad_videos["empty"], "ok2": mp4}, labels={"ok2": 1})
    ds = ClipDataset(df, InputSpec(frames=2, sampling="clips", num_clips=2, size=16))
    batch = collate_clips([ds[i] for i in range(3)])
    assert batch.clips.shape == (4, 3, 2, 16, 16)
    assert batch.video_index.tolist() == [0, 0, 1, 1] and batch.video_index.dtype == torch.long
    assert batch.indices == [0, 2] and batch.video_ids == ["ok1", "ok2"] and batch.labels.tolist() == [0, 1]
    assert batch.failures == [("bad", "file is empty (0 bytes)")] and batch.failed_indices == [1]
    assert batch.num_videos == 2 and batch.to("cpu").clips.shape == batch.clips.shape
    empty = collate_clips([ds[1]])
    assert len(empty.clips) == 0 and empty.clips.dim() == 5 and empty.clips.dtype == torch.uint8
    assert empty.video_index.numel() == 0 and empty.labels.numel() == 0 and empty.num_videos == 0


def test_loader_with_workers_is_deterministic(mp4, bad_videos, manifest_of):
    paths = {f"v{i}": mp4 for i in range(6)}
    paths["broken"] = bad_videos["truncated"]
    ds = ClipDataset(manifest_of(paths), InputSpec(frames=2, sampling="clips", num_clips=2, size=16),
                     train=True, seed=1)

    def run():
        loader = make_loader(ds, batch_size=3, shuffle=True, num_workers=2, seed=7)
        batches = list(loader)
        assert all(isinstance(b, Batch) for b in batches)
        order = [vid for b in batches for vid in b.video_ids + [f for f, _ in b.failures]]
        clips = torch.cat([b.clips for b in batches if len(b.clips)])
        return order, clips, [f for b in batches for f in b.failures]

    order, clips, failures = run()
    assert sorted(order) == sorted(paths) and len(failures) == 1 and failures[0][0] == "broken"
    order2, clips2, _ = run()
    assert order == order2 and torch.equal(clips, clips2)


def test_imagenet_defaults():
    assert InputSpec(frames=1).mean == IMAGENET_MEAN


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_loader_pins_memory_on_cuda(mp4, manifest_of):
    ds = ClipDataset(manifest_of({"a": mp4, "b": mp4}), InputSpec(frames=2, size=16))
    batch = next(iter(make_loader(ds, batch_size=2, num_workers=1)))
    assert batch.clips.is_pinned() and batch.to("cuda", non_blocking=True).clips.is_cuda
