"""Each perturbation changes pixels as declared: PSNR falls with severity, frame counts change only
where they should, the published parameters mean what DeeperForensics' code makes of them."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from benchmark.errors import VideoDecodeError
from benchmark.perturb import geometry, pixel
from benchmark.perturb.config import default_set, perturbation_rng
from benchmark.perturb.engine import apply
from benchmark.perturb.errors import PerturbationError

PSET = default_set()
SAME_COUNT = [n for n in PSET.names() if "frames" not in PSET.get(n).changes]
# A zoom-in (crop) is not "closer" to the clean frame at a milder level in PSNR terms: its severity
# is the share of the picture cut away, tested by geometry below.
GRADED = [n for n in SAME_COUNT if n != "crop"]


def perturbed(frames, name, level, video="clip"):
    return apply(frames, name, level, perturbation_rng(video, name, level))


@pytest.mark.parametrize("name", GRADED)
def test_psnr_falls_monotonically_with_severity(camera, name):
    values = []
    for level in range(1, len(PSET.get(name).levels) + 1):
        out = perturbed(camera, name, level)
        assert out.shape == camera.shape, f"{name} level {level} changed the shape"
        values.append(peak_signal_noise_ratio(camera, out, data_range=255))
    assert all(a > b for a, b in zip(values, values[1:])), f"{name}: PSNR by level {values}"
    assert values[-1] < 35.0, f"{name}: level 5 barely changes the clip ({values[-1]:.1f} dB)"


@pytest.mark.parametrize("name", SAME_COUNT)
def test_frame_count_kept(ramp, name):
    for level in (1, len(PSET.get(name).levels)):
        assert len(perturbed(ramp, name, level)) == len(ramp)


@pytest.mark.parametrize("ratio, expected", [
    (0.5, [0, 2, 4, 6, 8, 10]), (2.0, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11]),
    (0.8, [0, 1, 2, 3, 5, 6, 7, 8, 10, 11]), (1.25, [0, 0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9, 10, 11]),
])
def test_frame_rate_drops_and_repeats_frames(ratio, expected):
    frames = (np.arange(12, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8))
    out = geometry.frame_rate(frames, None, ratio)
    assert out[:, 0, 0, 0].tolist() == expected  # hand-worked: frame k shows floor(k / ratio)


def test_frame_rate_matches_ffmpeg_fps_filter_when_halving():
    """FFmpeg's ``fps`` filter (through PyAV) keeps the same frames for 30 -> 15 fps."""
    import fractions

    import av

    graph = av.filter.Graph()
    source = graph.add_buffer(width=8, height=8, format="rgb24", time_base=fractions.Fraction(1, 30))
    fps, sink = graph.add("fps", "fps=15"), graph.add("buffersink")
    source.link_to(fps)
    fps.link_to(sink)
    graph.configure()
    kept = []
    for i in list(range(12)) + [None]:
        if i is None:
            graph.push(None)
        else:
            frame = av.VideoFrame.from_ndarray(np.full((8, 8, 3), i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, fractions.Fraction(1, 30)
            graph.push(frame)
        while True:
            try:
                kept.append(int(graph.pull().to_ndarray()[0, 0, 0]))
            except (av.BlockingIOError, av.EOFError):
                break
    assert kept == geometry.frame_rate_indices(12, 0.5).tolist()


def test_frame_rate_levels_change_the_count(ramp):
    counts = [len(perturbed(ramp, "frame_rate_drop", k)) for k in range(1, 6)]
    assert counts == [round(6 * r) for r in (0.8, 0.6666667, 0.5, 0.3333333, 0.25)]
    assert [len(perturbed(ramp, "frame_rate_repeat", k)) for k in (1, 3, 5)] == [8, 12, 24]


def test_frame_rate_on_one_frame_is_a_per_video_failure(ramp):
    with pytest.raises(PerturbationError, match="needs at least 2 frames, the video has 1") as info:
        perturbed(ramp[:1], "frame_rate_drop", 1)
    assert isinstance(info.value, VideoDecodeError) and "frame_rate_drop' level 1" in info.value.reason


def test_per_video_failures_name_the_perturbation():
    tiny = np.zeros((2, 6, 6, 3), np.uint8)
    with pytest.raises(PerturbationError, match="'df_block' level 1 .*8px block does not fit in 6x6"):
        perturbed(tiny, "df_block", 1)
    with pytest.raises(PerturbationError, match="factor 6 leaves no pixel of 6x4"):
        perturbed(np.zeros((2, 4, 6, 3), np.uint8), "df_pixelation", 5)


def test_bad_frames_are_refused():
    with pytest.raises(ValueError, match="expected uint8 RGB frames .* got ndarray float64"):
        apply(np.zeros((2, 8, 8, 3)), "jpeg", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="got ndarray uint8 \\(0, 8, 8, 3\\)"):
        apply(np.zeros((0, 8, 8, 3), np.uint8), "jpeg", 1, np.random.default_rng(0))


def test_deterministic_per_video_perturbation_and_level(camera):
    for name in ("df_noise", "df_block", "h264", "social_media"):
        first, second = perturbed(camera, name, 3, "a"), perturbed(camera, name, 3, "a")
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(perturbed(camera, "df_noise", 3, "a"), perturbed(camera, "df_noise", 3, "b"))


def test_random_frames_do_not_depend_on_which_frames_are_perturbed(camera):
    rng = perturbation_rng("v", "df_noise", 2)
    whole = apply(camera, "df_noise", 2, rng)
    some = apply(camera[[7, 2]], "df_noise", 2, perturbation_rng("v", "df_noise", 2), frame_ids=[7, 2])
    np.testing.assert_array_equal(some, whole[[7, 2]])


# -- DeeperForensics semantics, against hand-worked values and reference implementations -----------
def test_saturation_zero_is_luma_and_one_is_identity(camera):
    grey = pixel.color_saturation(camera, None, 0.0)
    luma = np.rint(camera.astype(np.float64) @ [0.299, 0.587, 0.114])
    assert np.abs(grey[..., 0].astype(int) - luma).max() <= 1
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    assert np.abs(pixel.color_saturation(camera, None, 1.0).astype(int) - camera).max() <= 1


def test_contrast_is_a_gain():
    frames = np.array([0, 100, 200, 255], np.uint8).reshape(1, 1, 4, 1).repeat(3, axis=3)
    assert pixel.color_contrast(frames, None, 0.85)[0, 0, :, 0].tolist() == [0, 85, 170, 217]


def test_noise_std_in_ycbcr_units():
    """variance 0.01 in [0, 1] studio-range YCbCr: std 255 * 0.1 * 255 / 219 = 29.7 levels of Y."""
    frames = np.full((4, 128, 128, 3), 128, np.uint8)
    out = pixel.gaussian_noise_ycbcr(frames, np.random.default_rng(0), 0.01).astype(np.float64)
    luma = out @ [0.299, 0.587, 0.114]
    cb = 128 + (out[..., 2] - luma) * 0.564
    assert luma.std() == pytest.approx(255 * 0.1 * 255 / 219, rel=0.03)
    assert cb.std() == pytest.approx(255 * 0.1 * 255 / 224, rel=0.03)


def test_blur_matches_scipy_gaussian_filter(camera):
    from scipy.ndimage import gaussian_filter

    out = pixel.gaussian_blur(camera[:2], None, 9)
    ref = gaussian_filter(camera[:2].astype(np.float64), sigma=(0, 1.5, 1.5, 0), truncate=4 / 1.5,
                          mode="mirror")  # OpenCV's default border is scipy's "mirror"
    assert np.abs(out.astype(float) - ref).max() <= 1.0


def test_block_occlusion_counts(camera):
    out = pixel.block_occlusion(camera, np.random.default_rng(0), 16)
    grey = (out == 128).all(axis=3) & ~(camera == 128).all(axis=3)  # [T, H, W]
    assert 0.5 * 16 * 64 <= grey.sum(axis=(1, 2)).min() and grey.sum(axis=(1, 2)).max() <= 16 * 64
    assert not np.array_equal(grey[0], grey[1])  # new places in every frame
    big = np.zeros((1, 512, 600, 3), np.uint8)  # min side 512 -> 2 x blocks, as upstream
    covered = (pixel.block_occlusion(big, np.random.default_rng(1), 1) == 128).all(axis=3).sum()
    assert 64 < covered <= 128


def test_pixelate_is_bilinear_down_and_up():
    import cv2

    frame = np.random.default_rng(0).integers(0, 256, (1, 30, 40, 3), dtype=np.uint8)
    expected = cv2.resize(cv2.resize(frame[0], (13, 10), interpolation=cv2.INTER_LINEAR), (40, 30))
    np.testing.assert_array_equal(pixel.pixelate(frame, None, 3)[0], expected)


# -- other edits -------------------------------------------------------------------------------------
def test_gamma_and_sharpen_hand_worked():
    frames = np.full((1, 2, 2, 3), 128, np.uint8)
    assert pixel.gamma(frames, None, 2.0)[0, 0, 0, 0] == 64  # 255 * (128/255)^2 = 64.25
    assert pixel.gamma(frames, None, 1.0)[0, 0, 0, 0] == 128
    flat = np.full((1, 9, 9, 3), 90, np.uint8)
    np.testing.assert_array_equal(pixel.sharpen(flat, None, 3.0), flat)  # nothing to sharpen


def test_jpeg_quality_100_is_near_lossless(camera):
    assert peak_signal_noise_ratio(camera, pixel.jpeg(camera, None, 100), data_range=255) > 37  # 4:2:0 chroma


def test_crop_letterbox_and_platform_resolution(camera):
    kept = geometry.crop(camera, None, 0.5, restore=False)
    np.testing.assert_array_equal(kept, camera[:, 24:72, 32:96])
    assert geometry.crop(camera, None, 0.5).shape == camera.shape
    boxed = geometry.letterbox(camera, None, 0.5)
    assert boxed.shape == camera.shape and (boxed[:, :24] == 0).all() and (boxed[:, :, :32] == 0).all()
    assert boxed[:, 24:72, 32:96].mean() > 20
    assert geometry.fit_short_side(np.zeros((2, 480, 854, 3), np.uint8), None, 240).shape == (2, 240, 426, 3)
    np.testing.assert_array_equal(geometry.fit_short_side(camera, None, 240), camera)  # never enlarges


def test_sizes_change_only_where_declared():
    frames = np.zeros((3, 480, 640, 3), np.uint8)
    out = apply(frames, "social_media", 5, np.random.default_rng(0))
    assert out.shape == (3, 240, 320, 3)  # 360p upload, then a 240p re-share
