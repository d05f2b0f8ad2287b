"""MMVGM protection on the embedded target: budget, directions, bad inputs, beyond random noise."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmark.defences.perceptual import build_perceptual
from benchmark.errors import DefenceConfigError, ImageInputError
from detectors.mmvgm_protect.method import parse_budget
from detectors.mmvgm_protect.protect import (ProtectConfig, protect, protect_images,
                                             quantize_within, random_sign_noise)

FALLBACK = build_perceptual("fallback")


def _images(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, 3, 32, 32), generator=g).float() / 255)


@pytest.mark.parametrize("eps", [0, -0.1, 1.5, float("nan"), "4/255"])
def test_eps_outside_the_unit_interval_is_refused(eps):
    with pytest.raises(DefenceConfigError, match=r"eps: expected a budget in \(0, 1\]"):
        ProtectConfig(eps=eps)


def test_other_bad_settings_are_refused():
    with pytest.raises(DefenceConfigError, match="eps_space: expected one of"):
        ProtectConfig(eps_space="0,255")
    with pytest.raises(DefenceConfigError, match="steps: expected an int >= 0"):
        ProtectConfig(steps=-1)
    with pytest.raises(DefenceConfigError, match="'4/0'"):
        parse_budget("4/0", "eps")
    assert parse_budget("4/255", "eps") == pytest.approx(4 / 255)


def test_the_budget_space_is_explicit():
    upstream = ProtectConfig(eps=4 / 255, eps_space="-1,1", step_size=1 / 255)
    assert upstream.eps01 == pytest.approx(2 / 255) and upstream.step01 == pytest.approx(0.5 / 255)
    record = upstream.record()
    assert record["eps_space"] == "-1,1" and record["eps_01"] == pytest.approx(2 / 255)
    assert record["steps"] == 1000 and record["seed"] == 23 and record["mode"] == "directed"


@pytest.mark.parametrize("directed", [True, False])
def test_protection_stays_in_budget_and_moves_the_embedding_more_than_random_noise(tiny_target,
                                                                                   directed):
    x = _images()
    cfg = ProtectConfig(directed=directed, eps=4 / 255, steps=12, step_size=1 / 255)
    targets = _images(seed=9) if directed else None
    out = protect(tiny_target, x, cfg, targets, perceptual=FALLBACK, log_every=4)
    delta = out.images - x
    assert delta.abs().max() <= 4 / 255 + 1e-6 and out.record["linf_used_max"] <= 4 / 255 + 1e-6
    assert torch.equal((out.images * 255).round(), out.images * 255)  # quantised to the grid
    noise = random_sign_noise(x, 4 / 255, seed=0)
    assert (noise - x).abs().max() <= 4 / 255 + 1e-6
    with torch.no_grad():
        e0, ep, er = (tiny_target.embed(v) for v in (x, out.images, noise))
        if directed:
            et = tiny_target.embed(targets)
            gain = F.cosine_similarity(ep, et) - F.cosine_similarity(e0, et)
            noise_gain = F.cosine_similarity(er, et) - F.cosine_similarity(e0, et)
            assert gain.mean() > 0 and gain.mean() > 5 * noise_gain.abs().mean()
        else:
            away = 1 - F.cosine_similarity(ep, e0)
            assert away.mean() > 5 * (1 - F.cosine_similarity(er, e0)).mean()
    first, last = out.history[0], out.history[-1]
    objective = lambda h: h["embed"] + h["latent"]  # noqa: E731
    assert (objective(last) < objective(first)) if directed else (objective(last) > objective(first))
    assert [h["step"] for h in out.history] == [0, 4, 8, 11]
    assert out.record["perceptual"] == "1-ssim" and out.record["config"]["directed"] is directed


def test_protection_is_deterministic(tiny_target):
    cfg = ProtectConfig(directed=False, steps=3)
    a = protect(tiny_target, _images(2), cfg, perceptual=FALLBACK).images
    b = protect(tiny_target, _images(2), cfg, perceptual=FALLBACK).images
    assert torch.equal(a, b)


def test_quantising_never_leaves_the_budget():
    x0 = _images(2, seed=4)
    x = (x0 + (torch.rand(x0.shape) * 2 - 1) * (2.6 / 255)).clamp(0, 1)
    q = quantize_within(x, x0, 2.6 / 255)
    assert (q - x0).abs().max() <= 2.6 / 255 + 1e-6


def test_user_images_are_checked_and_the_target_image_resized(tiny_target):
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(2)]
    target = rng.integers(0, 256, (80, 50, 3), dtype=np.uint8)
    cfg = ProtectConfig(steps=1, perceptual="fallback")
    out = protect_images(tiny_target, photos, cfg, target_image=target, names=["a", "b"])
    assert out.images.shape == (2, 3, 32, 32) and out.record["target_resized"] is True
    with pytest.raises(ImageInputError, match="image 'gray'.*grayscale"):
        protect_images(tiny_target, [photos[0][..., 0]], cfg, target_image=target, names=["gray"])
    with pytest.raises(ImageInputError, match="image 'tiny': 16x16 is smaller"):
        protect_images(tiny_target, [photos[0][:16, :16]], cfg, target_image=target, names=["tiny"])
    with pytest.raises(ImageInputError, match="image 'target image'.*RGB"):
        protect_images(tiny_target, photos, cfg, target_image=target[..., :2])
    with pytest.raises(DefenceConfigError, match="directed protection needs a target image"):
        protect_images(tiny_target, photos, cfg)
    with pytest.raises(ImageInputError, match=r"expected a float tensor \[N, 3, H, W\]"):
        protect(tiny_target, torch.rand(2, 1, 32, 32), cfg, torch.rand(2, 1, 32, 32))


def test_embedded_target_is_cached_and_its_video_depends_on_the_image(tiny_target, tmp_path):
    x = _images(2)
    video = tiny_target.generate(x, seed=0)
    assert video.shape == (2, 3, 8, 32, 32) and 0 <= video.min() and video.max() <= 1
    assert torch.equal(video, tiny_target.generate(x, seed=0))
    other = tiny_target.generate(_images(2, seed=5), seed=0)
    reseeded = tiny_target.generate(x, seed=1)  # only the conditioning noise differs
    assert (video - other).abs().mean() > 5 * (video - reseeded).abs().mean()
    assert (video[:, :, 0] - video[:, :, -1]).abs().mean() > 0.005  # it moves
    info = tiny_target.describe()
    assert info["name"] == "embedded" and len(info["recipe_digest"]) == 16
