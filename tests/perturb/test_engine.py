"""Videos read through a perturbation: what clip readers (plain, flow, faces) will see."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.dataset import ClipReader
from benchmark.data.spec import InputSpec
from benchmark.data.video import open_video
from benchmark.errors import VideoDecodeError
from benchmark.perturb.config import perturbation_rng, perturbation_seed
from benchmark.perturb.engine import DecodedVideo, PerturbedVideo, apply, open_perturbed
from benchmark.perturb.errors import PerturbationError, PerturbationSpecError


def test_frame_scope_reads_only_the_asked_frames(camera):
    calls = []

    class Counting(DecodedVideo):
        def read(self, indices):
            calls.append(list(indices))
            return super().read(indices)

    video = PerturbedVideo(Counting(camera), "df_noise", 2, seed=perturbation_seed("v", "df_noise", 2))
    assert video.num_frames == 12 and not video.whole_video
    out = video.read([3, 3, 9])
    assert calls == [[3, 3, 9]]
    whole = apply(camera, "df_noise", 2, perturbation_rng("v", "df_noise", 2))
    np.testing.assert_array_equal(out, whole[[3, 3, 9]])


def test_video_scope_decodes_once_and_changes_the_count(camera):
    calls = []

    class Counting(DecodedVideo):
        def read(self, indices):
            calls.append(len(list(indices)))
            return super().read(indices)

    video = PerturbedVideo(Counting(camera, fps=30.0), "frame_rate_drop", 3, seed=1)
    assert video.num_frames == 6 and video.info.fps == pytest.approx(15.0)
    np.testing.assert_array_equal(video.read([0, 5]), camera[[0, 10]])
    assert calls == [12]  # the whole source, once
    with pytest.raises(VideoDecodeError, match="requested frame 6 but the video has 6 frames"):
        video.read([6])


def test_bad_level_fails_before_decoding(camera):
    with pytest.raises(PerturbationSpecError, match="level 9 of perturbation 'h264'"):
        PerturbedVideo(DecodedVideo(camera), "h264", 9, seed=0)


def test_one_frame_video_fails_with_its_path(tmp_path, write_mp4):
    path = write_mp4(tmp_path / "still.mp4", n=1)
    video = open_perturbed(str(path), "still", "frame_rate_drop", 1)
    with pytest.raises(PerturbationError) as info:
        video.num_frames
    assert str(path) in str(info.value) and "needs at least 2 frames" in info.value.reason
    assert isinstance(info.value, VideoDecodeError)  # readers mark the row failed and go on


def test_clip_reader_decodes_through_a_perturbed_video(tmp_path, write_mp4, camera):
    path = str(write_mp4(tmp_path / "clip.mp4", n=24, h=48, w=64, noise=True))
    reader = ClipReader(InputSpec(frames=4, sampling="clips", num_clips=2, size=32, resize="resize"))
    clean_video = open_video(path)
    indices = reader.frame_indices(clean_video.num_frames, None)
    clean, index = reader.decode(clean_video, indices, None)
    blurred_video = open_perturbed(path, "clip", "df_blur", 5)
    blurred, index2 = reader.decode(blurred_video, indices, None)
    np.testing.assert_array_equal(index, index2)
    assert blurred.shape == clean.shape and np.abs(blurred.astype(int) - clean).mean() > 5
    # decode once, perturb many: the same frames from memory
    decoded = DecodedVideo(clean_video.read(range(clean_video.num_frames)), path)
    again, _ = reader.decode(PerturbedVideo(decoded, "df_blur", 5, perturbation_seed("clip", "df_blur", 5)),
                             indices, None)
    np.testing.assert_array_equal(again, blurred)


def test_aigvdet_flow_sees_the_perturbation(tmp_path, write_mp4):
    """The flow images of a blurred video differ from the clean ones when flow is computed from the
    perturbed frames (FlowClipReader._compute reads through the video object)."""
    from detectors.aigvdet.reader import FlowClipReader

    path = str(write_mp4(tmp_path / "clip.mp4", n=6, h=48, w=64, noise=True))
    reader = FlowClipReader(InputSpec(frames=2, sampling="all", size=48, resize="resize"),
                            {"cache_dir": str(tmp_path / "cache")})
    clean = reader._compute(open_video(path))
    blurred = reader._compute(open_perturbed(path, "clip", "df_blur", 5))
    assert clean.shape == blurred.shape == (5, 48, 48, 3)
    assert np.abs(clean.astype(int) - blurred).mean() > 5
