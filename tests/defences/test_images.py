"""Input images, quality measures (against scikit-image), degradations, the perceptual term."""
import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from benchmark.defences.degrade import degrade
from benchmark.defences.images import SizeRule, match_size, prepare_images, rgb_array
from benchmark.defences.perceptual import build_perceptual, lpips_backbone_file
from benchmark.defences.quality import psnr, ssim, temporal_consistency, video_departure
from benchmark.errors import DefenceConfigError, ImageInputError


def _rgb(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("image, says", [
    (np.zeros((40, 40), np.uint8), "grayscale"),
    (np.zeros((40, 40, 4), np.uint8), r"\[H, W, 3\], got shape \(40, 40, 4\)"),
    (np.zeros((3, 40, 40), np.uint8), "channels-first"),
    (np.full((40, 40, 3), 2.0, np.float32), r"in \[0, 1\]"),
    (Image.new("RGBA", (40, 40)), "PIL mode 'RGBA'"),
    (Image.new("L", (40, 40)), "PIL mode 'L'"),
])
def test_not_rgb_is_refused_naming_the_image(image, says):
    with pytest.raises(ImageInputError, match=f"image 'cat': .*{says}"):
        rgb_array(image, "cat")


def test_smaller_than_the_model_input_is_refused():
    with pytest.raises(ImageInputError, match=r"image 'small': 20x40 is smaller than the model's "
                                              r"input 32x32"):
        prepare_images([_rgb(20, 40)], SizeRule((32, 32)), ["small"])
    with pytest.raises(ImageInputError, match="sides must be at least 64"):
        prepare_images([_rgb(50, 80)], SizeRule(None, 64))


def test_size_rules_resize_as_documented():
    fixed = prepare_images([_rgb(48, 96), Image.fromarray(_rgb(64, 64))], SizeRule((32, 32)))
    assert fixed.shape == (2, 3, 32, 32) and 0 <= fixed.min() and fixed.max() <= 1
    multiple = prepare_images([_rgb(130, 200)], SizeRule(None, 64))
    assert multiple.shape == (1, 3, 128, 192)  # floored to multiples of 64, as upstream
    exact = prepare_images([_rgb(32, 32, seed=3)], SizeRule((32, 32)))
    assert np.array_equal((exact[0].permute(1, 2, 0) * 255).round().byte().numpy(), _rgb(32, 32, seed=3))


def test_a_target_of_another_size_is_resized_and_reported():
    images = torch.rand(2, 3, 32, 32)
    targets, resized = match_size(torch.rand(1, 3, 50, 70), images)
    assert resized and targets.shape == images.shape
    same, resized = match_size(images[:1].clone(), images)
    assert not resized and torch.equal(same[1], images[0])
    with pytest.raises(ImageInputError, match="3 target images for 2 images"):
        match_size(torch.rand(3, 3, 32, 32), images)


def test_psnr_and_ssim_match_scikit_image():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(3, 3, 24, 31, generator=g, dtype=torch.float64)
    b = (a + 0.08 * torch.randn(a.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    for i in range(3):
        x, y = a[i].permute(1, 2, 0).numpy(), b[i].permute(1, 2, 0).numpy()
        assert psnr(a, b)[i].item() == pytest.approx(peak_signal_noise_ratio(x, y, data_range=1),
                                                     rel=1e-5)
        reference = structural_similarity(x, y, gaussian_weights=True, sigma=1.5, data_range=1,
                                          use_sample_covariance=False, channel_axis=2)
        assert ssim(a, b)[i].item() == pytest.approx(reference, abs=1e-9)


def test_video_measures():
    g = torch.Generator().manual_seed(1)
    still = torch.rand(1, 3, 1, 16, 16, generator=g).expand(2, 3, 4, 16, 16).contiguous()
    assert torch.allclose(temporal_consistency(still), torch.ones(2))
    noisy = (still + 0.1 * torch.randn(still.shape, generator=g)).clamp(0, 1)
    assert (temporal_consistency(noisy) < 0.95).all()
    same = video_departure(still, still)
    assert torch.allclose(same["ssim"], torch.ones(2)) and (same["frame_mae"] == 0).all()
    assert (video_departure(still, noisy)["psnr"] < 30).all()


def test_degradations_change_images_and_validate_levels():
    images = torch.from_numpy(_rgb(32, 32)).permute(2, 0, 1)[None].float() / 255
    for kind, level in (("jpeg", 50), ("resize", 0.5), ("blur", 1.0)):
        out = degrade(images, kind, level)
        assert out.shape == images.shape and 0 < (out - images).abs().mean() < 0.5
        assert torch.equal((out * 255).round(), out * 255)  # on the uint8 grid
    with pytest.raises(DefenceConfigError, match="level 1.5 is not a scale in"):
        degrade(images, "resize", 1.5)
    with pytest.raises(DefenceConfigError, match="'rotate' is not one of"):
        degrade(images, "rotate", 1)


def test_perceptual_fallback_is_one_minus_ssim_and_lpips_is_refused_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache
    auto = build_perceptual("auto", "vgg")
    assert auto.name == "1-ssim" and str(tmp_path) in auto.note
    a, b = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    assert torch.allclose(auto(a, b), 1 - ssim(a, b))
    with pytest.raises(DefenceConfigError, match="cannot run offline: its vgg backbone weights"):
        build_perceptual("lpips", "vgg")
    with pytest.raises(DefenceConfigError, match="perceptual 'lpipz'"):
        build_perceptual("lpipz")


@pytest.mark.slow
def test_lpips_is_used_when_its_backbone_file_is_in_the_hub_cache(tmp_path, monkeypatch):
    """Writes a (random) AlexNet where torchvision caches it: LPIPS must then load it offline."""
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = lpips_backbone_file("alex")
    import os
    os.makedirs(os.path.dirname(path))
    torch.save(torchvision.models.alexnet().state_dict(), path)
    metric = build_perceptual("auto", "alex")
    a = torch.rand(2, 3, 32, 32, requires_grad=True)
    d = metric(a, torch.rand(2, 3, 32, 32))
    d.sum().backward()
    assert metric.name == "lpips-alex" and d.shape == (2,) and a.grad.abs().sum() > 0
