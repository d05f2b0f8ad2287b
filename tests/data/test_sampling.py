"""Frame sampling strategies."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.sampling import STRATEGIES, ShortVideoError, sample_clips, segment_clips
from benchmark.errors import UnknownKeyError, VideoDecodeError


def test_first():
    np.testing.assert_array_equal(sample_clips(100, 4, "first"), [[0, 1, 2, 3]])
    np.testing.assert_array_equal(sample_clips(100, 3, "first", stride=2), [[0, 2, 4]])


def test_uniform_is_linspace_truncated():
    idx = sample_clips(100, 15, "uniform")
    assert idx.shape == (1, 15) and idx.dtype == np.int64
    np.testing.assert_array_equal(idx[0], np.linspace(0, 99, 15).astype(int))
    assert idx[0, 0] == 0 and idx[0, -1] == 99
    np.testing.assert_array_equal(sample_clips(4, 4, "uniform"), [[0, 1, 2, 3]])


def test_clips_cover_the_video_evenly():
    idx = sample_clips(32, 8, "clips", num_clips=4)  # StA: 32 frames = 4 clips of 8
    np.testing.assert_array_equal(idx[:, 0], [0, 8, 16, 24])
    np.testing.assert_array_equal(idx[0], np.arange(8))
    idx = sample_clips(101, 8, "clips", num_clips=3, stride=2)
    assert idx[0, 0] == 0 and idx[-1, -1] == 100
    assert (np.diff(idx, axis=1) == 2).all()


def test_clips_random_offsets_in_training():
    a = sample_clips(50, 8, "clips", num_clips=4, rng=np.random.default_rng(1))
    b = sample_clips(50, 8, "clips", num_clips=4, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert (np.diff(a[:, 0]) >= 0).all() and a.min() >= 0 and a.max() <= 49
    starts = {tuple(sample_clips(50, 8, "clips", num_clips=4, rng=np.random.default_rng(s))[:, 0])
              for s in range(5)}
    assert len(starts) > 1


def test_random():
    rng = np.random.default_rng(0)
    starts = [sample_clips(20, 5, "random", rng=rng)[0, 0] for _ in range(200)]
    assert min(starts) == 0 and max(starts) == 15
    np.testing.assert_array_equal(sample_clips(20, 5, "random"), [np.arange(7, 12)])  # centre


def test_all_tiles_the_video():
    np.testing.assert_array_equal(sample_clips(10, 3, "all"), [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    assert sample_clips(7, 1, "all").shape == (7, 1)


def test_uniform_repeats_frames_of_a_short_video_as_linspace_does():
    # GenConViT and DeepfakeBench call np.linspace(0, n - 1, k, dtype=int): a 5-frame video gives
    # 15 indices with repeats, which upstream decodes (and scores) as they come
    np.testing.assert_array_equal(sample_clips(5, 15, "uniform")[0],
                                  np.linspace(0, 4, 15, dtype=int))
    assert sample_clips(5, 15, "uniform")[0, -1] == 4
    np.testing.assert_array_equal(sample_clips(1, 3, "uniform"), [[0, 0, 0]])


def test_segment_clips_follow_deepfakebench():
    # 32 face frames, clips of 8: four non-overlapping clips covering every frame once
    np.testing.assert_array_equal(segment_clips(32, 8, 32)[:, 0], [0, 8, 16, 24])
    np.testing.assert_array_equal(segment_clips(32, 8, 32)[1], np.arange(8, 16))
    np.testing.assert_array_equal(segment_clips(45, 8, 32)[:, 0], [0, 8, 16, 24])  # first 32 only
    # 20 frames: k = 20 // 8 = 2 clips, step = (20 - 8) // 1 = 12
    np.testing.assert_array_equal(segment_clips(20, 8, 32)[:, 0], [0, 12])
    np.testing.assert_array_equal(segment_clips(9, 8, 32)[:, 0], [0])
    # training draws each start inside its slot, [i * step, min((i + 1) * step, n - T + 1))
    rng = np.random.default_rng(0)
    starts = np.stack([segment_clips(32, 8, 32, rng)[:, 0] for _ in range(200)])
    assert starts.min(0).tolist() == [0, 8, 16, 24] and starts.max(0).tolist() == [7, 15, 23, 24]
    with pytest.raises(ShortVideoError, match="video has 7 frames, clip needs 8"):
        segment_clips(7, 8, 32)


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s != "uniform"])
def test_short_video_is_an_error_not_a_drop(strategy):
    with pytest.raises(ShortVideoError, match="video has 5 frames, clip needs 8") as info:
        sample_clips(5, 8, strategy, num_clips=2 if strategy == "clips" else 1)
    assert isinstance(info.value, VideoDecodeError)


def test_stride_needs_a_longer_video():
    with pytest.raises(ShortVideoError, match="video has 10 frames, clip needs 15"):
        sample_clips(10, 8, "first", stride=2)


def test_bad_arguments():
    with pytest.raises(UnknownKeyError, match="Did you mean: uniform"):
        sample_clips(10, 2, "unifrom")
    with pytest.raises(ValueError, match="makes one clip"):
        sample_clips(10, 2, "first", num_clips=2)
    with pytest.raises(ValueError, match="clip_len must be a positive integer"):
        sample_clips(10, 0, "first")
