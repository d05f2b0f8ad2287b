"""benchmark.flow: the Middlebury colour wheel, OpenCV flow, torchvision RAFT from a local file."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from benchmark.errors import DataError, WeightsError
from benchmark.flow import (OpenCVFlow, RaftFlow, build_flow, color_wheel, flow_images,
                            flow_to_color)


def _uniform(dx: float, dy: float, size: int = 6) -> np.ndarray:
    flow = np.zeros((size, size, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def _textured(h: int = 64, w: int = 80, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    return cv2.GaussianBlur(image, (5, 5), 1.5)  # smooth texture: trackable by every method


# -- colour wheel ----------------------------------------------------------------------------------
def test_wheel_has_the_standard_segments():
    wheel = color_wheel()
    assert wheel.shape == (55, 3)  # RY 15 + YG 6 + GC 4 + CB 11 + BM 13 + MR 6
    anchors = {0: (255, 0, 0), 15: (255, 255, 0), 21: (0, 255, 0), 25: (0, 255, 255),
               36: (0, 0, 255), 49: (255, 0, 255)}
    for index, rgb in anchors.items():
        assert tuple(wheel[index]) == rgb, index
    assert tuple(wheel[54]) == (255, 0, 43)  # last MR step: floor(255 * 5 / 6) = 212 off blue


@pytest.mark.parametrize("dx, dy, colour", [
    (3.0, 0.0, (255, 0, 0)),      # +x: angle 0, the wheel's first entry
    (-2.0, 0.0, (0, 209, 255)),   # -x: half a turn, wheel entry 27
    (0.0, 5.0, (255, 229, 0)),    # +y (down): a quarter turn, between entries 13 and 14
])
def test_known_directions_render_their_wheel_colour(dx, dy, colour):
    image = flow_to_color(_uniform(dx, dy))
    assert image.dtype == np.uint8 and image.shape == (6, 6, 3)
    assert (image == np.array(colour, np.uint8)).all()


def test_signed_zero_seam_matches_raft_flow_viz():
    # RAFT's flow_viz takes the wheel position from atan2(-dy, -dx): pointing along +x with
    # dy = -0.0 lands on the last entry (255, 0, 43), with dy = +0.0 on the first (pure red)
    minus_zero = _uniform(3.0, 0.0)
    minus_zero[..., 1] = -0.0
    assert (flow_to_color(minus_zero) == (255, 0, 43)).all()
    assert (flow_to_color(_uniform(3.0, 0.0)) == (255, 0, 0)).all()


def test_rendering_keeps_float32_arithmetic():
    # a vector just inside the normalising radius: float32 and float64 inputs may differ in the
    # last grey level, and float32 (RAFT's output dtype) is what upstream rendered
    flow = np.random.default_rng(3).normal(size=(9, 11, 2)).astype(np.float32)
    assert flow_to_color(flow).dtype == np.uint8
    assert np.abs(flow_to_color(flow).astype(int) - flow_to_color(flow.astype(np.float64))).max() <= 1


def test_zero_flow_renders_white():
    assert (flow_to_color(_uniform(0.0, 0.0)) == 255).all()


def test_each_image_is_normalised_by_its_own_largest_motion():
    flow = _uniform(2.0, 0.0, size=4)
    flow[2:] = (1.0, 0.0)  # half the peak magnitude: halfway to white
    image = flow_to_color(flow)
    assert (image[:2] == (255, 0, 0)).all() and (image[2:] == (255, 127, 127)).all()
    batch = flow_to_color(np.stack([flow, flow * 10]))  # [2, H, W, 3]: scale-free per image
    assert np.array_equal(batch[0], image) and np.array_equal(batch[1], image)


def test_fixed_normalisation_dims_vectors_beyond_it():
    image = flow_to_color(_uniform(2.0, 0.0), max_magnitude=1.0)
    assert (image == (191, 0, 0)).all()  # floor(255 * 0.75)


def test_upstream_channel_order_reverses_the_channels():
    flow = np.random.default_rng(1).normal(size=(5, 7, 2))
    rgb, swapped = flow_to_color(flow), flow_to_color(flow, channel_order="upstream_bgr")
    assert np.array_equal(swapped, rgb[..., ::-1])
    assert (flow_to_color(_uniform(1.0, 0.0), channel_order="upstream_bgr") == (0, 0, 255)).all()
    with pytest.raises(DataError, match="channel_order"):
        flow_to_color(flow, channel_order="bgr")


def test_bad_flow_shape_is_refused():
    with pytest.raises(DataError, match=r"\[\.\.\., H, W, 2\]"):
        flow_to_color(np.zeros((4, 4, 3)))


# -- OpenCV ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["farneback", "dis"])
def test_opencv_flow_recovers_a_shift(method):
    image = _textured()
    frames = np.stack([image, np.roll(image, 3, axis=1), np.roll(image, 6, axis=1)])
    flow = OpenCVFlow(method).pairs(frames)
    assert flow.shape == (2, 64, 80, 2) and flow.dtype == np.float32
    inner = flow[:, 16:-16, 16:-16]  # away from the wrapped border
    assert np.allclose(np.median(inner[..., 0], axis=(1, 2)), 3.0, atol=0.3)
    assert np.allclose(np.median(inner[..., 1], axis=(1, 2)), 0.0, atol=0.3)


def test_flow_images_of_a_rightward_pan_are_red():
    image = _textured()
    rendered = flow_images(np.stack([image, np.roll(image, 3, axis=1)]), OpenCVFlow())
    assert rendered.shape == (1, 64, 80, 3) and rendered.dtype == np.uint8
    red = rendered[0, 16:-16, 16:-16].reshape(-1, 3).astype(int)
    assert np.median(red[:, 0]) == 255 and np.median(red[:, 0] - red[:, 2]) > 100


def test_opencv_settings_are_checked_and_named_in_the_identity():
    with pytest.raises(DataError, match="farneback"):
        OpenCVFlow("lucas_kanade")
    with pytest.raises(DataError, match="winsz"):
        OpenCVFlow("farneback", {"winsz": 9})
    with pytest.raises(DataError, match="preset"):
        OpenCVFlow("dis", {"preset": "slow"})
    assert OpenCVFlow("farneback", {"winsize": 9}).identity() != OpenCVFlow("farneback").identity()
    with pytest.raises(DataError, match="at least 2"):
        OpenCVFlow().pairs(np.zeros((1, 8, 8, 3), np.uint8))


# -- RAFT ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raft_file(tmp_path_factory):
    """Random torchvision raft_large weights saved as a local state dict."""
    from torchvision.models.optical_flow import raft_large

    torch.manual_seed(0)
    model = raft_large(weights=None, progress=False).eval()
    path = tmp_path_factory.mktemp("raft") / "raft_large_random.pth"
    torch.save(model.state_dict(), path)
    return path, model


def test_raft_from_a_local_file_matches_torchvision(raft_file):
    path, model = raft_file
    frames = np.stack([_textured(64, 64, seed=s) for s in (0, 1)])
    estimator = build_flow({"raft_weights": str(path), "raft_iterations": 20})
    assert isinstance(estimator, RaftFlow)
    flow = estimator.pairs(frames)
    assert flow.shape == (1, 64, 64, 2) and np.isfinite(flow).all()
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1  # RAFT's [-1, 1] input
    x = torch.nn.functional.pad(x, (32, 32, 32, 32), mode="replicate")  # RAFT's 128 px minimum
    with torch.inference_mode():
        direct = model(x[:1], x[1:], num_flow_updates=20)[-1][:, :, 32:96, 32:96]
    assert np.allclose(flow, direct.permute(0, 2, 3, 1).numpy(), atol=1e-4)


def test_raft_pads_as_input_padder_and_crops_back(raft_file):
    from benchmark.flow import _raft_padding

    # (before, after, returned side): InputPadder's -side % 8 split low half first, then
    # torchvision's 128 px minimum around it
    assert _raft_padding(130, False) == (3, 3, 130) and _raft_padding(130, True) == (3, 3, 136)
    assert _raft_padding(1080, True) == (0, 0, 1080) and _raft_padding(64, False) == (32, 32, 64)
    assert _raft_padding(61, True) == (1 + 32, 2 + 32, 64)
    path, _ = raft_file
    frames = np.stack([_textured(60, 68, seed=s) for s in (3, 4)])
    flow = RaftFlow(path, iterations=2).pairs(frames)
    assert flow.shape == (1, 60, 68, 2) and np.isfinite(flow).all()
    padded = RaftFlow(path, iterations=2, keep_padding=True).pairs(frames)  # AIGVDet renders this
    assert padded.shape == (1, 64, 72, 2)
    np.testing.assert_allclose(padded[:, 2:62, 2:70], flow, atol=1e-5)  # same field, 2 px rim


def test_raft_weights_must_be_a_readable_local_file(raft_file, tmp_path):
    path, _ = raft_file
    with pytest.raises(WeightsError, match="not found"):
        RaftFlow(tmp_path / "missing.pth")
    bad = tmp_path / "pickled_object.pth"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "cfg": _Unsafe()}, bad)
    with pytest.raises(WeightsError, match="weights_only"):
        RaftFlow(bad).model()
    wrong = tmp_path / "wrong_keys.pth"
    torch.save({"fnet.conv1.weight": torch.zeros(64, 3, 7, 7)}, wrong)
    with pytest.raises(WeightsError, match="wrong_keys.pth"):
        RaftFlow(wrong).model()


def test_raft_estimator_pickles_without_its_model(raft_file):
    path, _ = raft_file
    estimator = RaftFlow(path, iterations=2)
    estimator.model()
    clone = pickle.loads(pickle.dumps(estimator))
    assert clone._model is None and clone.identity() == estimator.identity()
    assert "weights_sha256" in estimator.identity()


def test_build_flow_defaults_to_opencv():
    assert isinstance(build_flow(None), OpenCVFlow)
    assert build_flow({"raft_weights": None, "opencv": "dis"}).name == "dis"


class _Unsafe:
    """An arbitrary pickled object: refused by ``torch.load(weights_only=True)``."""
