"""Spatial transforms: the processors' geometry, the named filters, and each paper config's choice."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.spatial import INTERPOLATIONS, resize_image, short_side_shape, spatial
from benchmark.data.spec import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, InputSpec
from benchmark.errors import UnknownKeyError


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    import cv2

    rng = np.random.default_rng(0)  # smooth texture: filters differ, but not by chance alone
    return np.stack([cv2.GaussianBlur(rng.integers(0, 256, (270, 481, 3), dtype=np.uint8), (7, 7), 2)
                     for _ in range(2)])


def test_short_side_shape_truncates_the_long_side_as_transformers():
    # 224 * 481 / 270 = 399.05 -> 399; portrait frames swap the roles
    assert short_side_shape(270, 481, 224) == (224, 399)
    assert short_side_shape(481, 270, 224) == (399, 224)
    assert short_side_shape(720, 1280, 224) == (224, 398)  # 398.2 -> 398, not rounded to 398.2
    assert short_side_shape(300, 300, 224) == (224, 224)


def test_pil_bilinear_is_resize_then_floor_centre_crop(frames):
    from PIL import Image

    out = spatial(frames, 224, "short_side_center_crop", interpolation="pil_bilinear")
    assert out.shape == (2, 224, 224, 3) and out.dtype == np.uint8
    # reference: PIL's own bilinear resize of the whole frame, then the crop at (0, (399-224)//2)
    ref = np.asarray(Image.fromarray(frames[0]).resize((399, 224), Image.BILINEAR))[:, 87:311]
    np.testing.assert_array_equal(out[0], ref)


@pytest.mark.parametrize("name, flag", [("cv2_bicubic", "INTER_CUBIC"), ("cv2_area", "INTER_AREA"),
                                        ("cv2_linear", "INTER_LINEAR")])
def test_cv2_filters_are_the_named_opencv_flags_shrinking_and_enlarging(frames, name, flag):
    import cv2

    for size in (64, 600):  # area averaging is used even to enlarge (GenConViT's crops)
        ref = cv2.resize(frames[0], (size, size), interpolation=getattr(cv2, flag))
        np.testing.assert_array_equal(resize_image(frames[0], size, size, name), ref)


def test_filters_differ_and_auto_is_area_when_shrinking(frames):
    import cv2

    outs = {name: resize_image(frames[0], 100, 100, name) for name in INTERPOLATIONS}
    np.testing.assert_array_equal(outs["auto"], outs["cv2_area"])
    assert not np.array_equal(outs["pil_bilinear"], outs["cv2_linear"])  # antialiased vs not
    assert not np.array_equal(outs["cv2_bicubic"], outs["cv2_area"])
    np.testing.assert_array_equal(resize_image(frames[0], 600, 700, "auto"),
                                  cv2.resize(frames[0], (700, 600), interpolation=cv2.INTER_LINEAR))
    assert np.shares_memory(resize_image(frames[0], 270, 481, "pil_bicubic"), frames)  # untouched


@pytest.mark.slow
def test_matches_transformers_videomae_processor(frames):
    """The reference MMVGM used, in the installed transformers (upstream's 4.32.1: tools/parity)."""
    transformers = pytest.importorskip("transformers")
    processor = transformers.VideoMAEImageProcessor(size=224, resample=2)
    ref = processor(list(frames), return_tensors="np", do_rescale=False,
                    do_normalize=False)["pixel_values"][0].transpose(0, 2, 3, 1)
    ours = spatial(frames, 224, "short_side_center_crop", interpolation="pil_bilinear")
    assert np.abs(ours.astype(float) - ref).max() <= 1  # 5.x rounds a few pixels differently


def test_spec_refuses_unknown_interpolation_and_preset():
    with pytest.raises(UnknownKeyError, match="Unknown interpolation in a.yaml: 'bilinear'"):
        InputSpec.from_dict({"frames": 8, "interpolation": "bilinear"}, "a.yaml")
    with pytest.raises(UnknownKeyError, match="Unknown input preset in a.yaml: 'deepfake'"):
        InputSpec.from_dict({"frames": 8, "preset": "deepfake"}, "a.yaml")
    spec = InputSpec.from_dict({"frames": 8, "interpolation": "pil_bilinear",
                                "preset": "deepfakebench"}, "a.yaml")
    assert InputSpec.from_dict(spec.to_dict()) == spec


# -- each paper config's published preprocessing ---------------------------------------------------
def _paper(method: str) -> dict:
    from benchmark.registry import registry

    return registry().get(method).config("paper")


@pytest.mark.parametrize("method", ["mmvgm_i3d", "mmvgm_xclip", "mmvgm_mae"])
def test_mmvgm_paper_configs_follow_the_published_processor(method):
    # microsoft/xclip-large-patch14 and MCG-NJU/videomae-base preprocessor_config.json:
    # VideoMAEFeatureExtractor, size 224 (shortest edge), centre crop, resample 2, ImageNet mean/std
    cfg = _paper(method)
    spec = InputSpec.from_dict(cfg["input"])
    assert (spec.sampling, spec.resize, spec.interpolation) == ("first", "short_side_center_crop",
                                                               "pil_bilinear")
    assert spec.mean == IMAGENET_MEAN and spec.std == IMAGENET_STD
    pre = cfg["model"]["data_preprocessor"]
    assert tuple(pre["mean"]) == IMAGENET_MEAN and tuple(pre["std"]) == IMAGENET_STD


def test_sta_paper_config_reads_through_deepfakebench_preprocessing():
    from benchmark.registry import registry

    cfg = _paper("sta")
    spec = InputSpec.from_dict(cfg["input"])
    assert (spec.preset, spec.resize, spec.interpolation) == ("deepfakebench", "resize", "cv2_bicubic")
    assert (spec.frames, spec.num_clips, spec.sampling) == (8, 4, "clips")
    assert spec.mean == CLIP_MEAN and spec.std == CLIP_STD  # clip_adapter.yaml's mean/std
    mini = registry().get("sta").config("mini")["input"]
    assert InputSpec.from_dict(mini).preset is None  # the mini (rendered scenes) finds no faces


def test_genconvit_and_aigvdet_paper_configs():
    gen = _paper("genconvit")
    assert InputSpec.from_dict(gen["input"]).interpolation == "cv2_area"
    assert gen["face_detector"]["type"] == "auto" and gen["face_detector"]["upsample"] == 0
    assert gen["face_detector"]["channel_order"] == "bgr"
    aig = _paper("aigvdet")
    spec = InputSpec.from_dict(aig["input"])
    assert (spec.resize, spec.size, spec.sampling) == ("center_crop", 448, "all")
    assert aig["flow"]["raft_keep_padding"] is True and aig["flow"]["channel_order"] == "upstream_bgr"
