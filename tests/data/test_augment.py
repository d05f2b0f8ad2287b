"""Clip-consistent training augmentations: one parameter draw per clip, every frame alike."""
import numpy as np
import pytest

from benchmark.data.augment import TRANSFORMS, Augmentation, build_augmentation
from benchmark.errors import ConfigError

STA_PAPER = [
    {"type": "HorizontalFlip", "p": 0.5},
    {"type": "Rotate", "limit": [-10, 10], "p": 0.5},
    {"type": "GaussianBlur", "blur_limit": [3, 7], "p": 0.5},
    {"type": "IsotropicResize", "max_side": 32, "p": 1.0},
    {"type": "OneOf", "p": 0.5, "transforms": [
        {"type": "RandomBrightnessContrast", "brightness_limit": [-0.1, 0.1], "contrast_limit": [-0.1, 0.1]},
        {"type": "FancyPCA"}, {"type": "HueSaturationValue"}]},
    {"type": "ImageCompression", "quality_lower": 40, "quality_upper": 100, "p": 0.5},
]


def _clip(frames=4, size=32, seed=0):
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return np.repeat(frame[None], frames, axis=0)  # identical frames: [F, H, W, 3]


@pytest.mark.parametrize("name", TRANSFORMS.names())
def test_each_transform_is_clip_consistent_and_changes_pixels(name):
    params = {"transforms": [{"type": "FancyPCA", "alpha": 0.5}]} if name == "OneOf" else {}
    if name == "IsotropicResize":
        params["max_side"] = 24
    step = build_augmentation([{"type": name, "p": 1.0, **params}])
    clip = _clip()
    out = step(clip, np.random.default_rng(3))
    assert out.dtype == np.uint8 and out.shape[0] == clip.shape[0]
    assert all(np.array_equal(out[0], f) for f in out[1:]), "frames of one clip got different draws"
    assert out.shape != clip.shape or not np.array_equal(out, clip), f"{name} changed nothing"


def test_paper_chain_keeps_shapes_is_seeded_and_differs_between_clips():
    chain = Augmentation(STA_PAPER)
    clip = _clip()
    a = chain(clip, np.random.default_rng(7))
    b = chain(clip, np.random.default_rng(7))
    assert np.array_equal(a, b) and a.shape == clip.shape
    outs = {chain(clip, np.random.default_rng(s)).tobytes() for s in range(12)}
    assert len(outs) > 6  # draws differ from clip to clip


def test_probability_zero_is_identity():
    clip = _clip()
    chain = Augmentation([{"type": name, "p": 0.0} for name in ("HorizontalFlip", "Rotate")])
    assert np.array_equal(chain(clip, np.random.default_rng(0)), clip)


@pytest.mark.parametrize("steps, expected", [
    ([{"type": "Rotat"}], "Unknown augmentation 'Rotat'. Did you mean: Rotate"),
    ([{"type": "Rotate", "limt": 5}], "Rotate has no parameter 'limt'"),
    ([{"type": "Rotate", "p": 1.5}], "Rotate.p"),
    ([{"type": "GaussianBlur", "blur_limit": [7, 3]}], "wrong order"),
    ([{"p": 0.5}], "a mapping with a 'type'"),
    ([{"type": "OneOf", "transforms": [{"type": "Nope"}]}], "Unknown augmentation 'Nope'"),
])
def test_bad_steps_are_refused_with_the_step_named(steps, expected):
    with pytest.raises(ConfigError, match=expected):
        build_augmentation(steps, origin="cfg: train.augmentation")


def test_training_reader_augments_and_evaluation_reader_does_not():
    from benchmark.detector import build_detector
    from benchmark.registry import registry

    cfg = registry().get("sta").config("mini", {"train.augmentation": [{"type": "HorizontalFlip", "p": 1.0}],
                                               "model.backbone.layers": 1})
    detector = build_detector("sta", cfg)
    assert detector.clip_reader(train=True).augment and detector.clip_reader().augment is None
    with pytest.raises(ConfigError, match="not supported by AIGVDetDetector"):
        registry().get("aigvdet").config("mini", {"train.augmentation": [{"type": "HorizontalFlip"}]})
