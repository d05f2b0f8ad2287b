"""Per-pixel-format decoding: every file becomes the reference's 8-bit RGB (FFmpeg's swscale
through PyAV); the bit depth is read from the MP4/MOV header and agrees with PyAV's."""
import shutil
import subprocess

import numpy as np
import pytest

from benchmark.data.pixfmt import bit_depth
from benchmark.data.video import open_video, read_frames


def _encode(path, pix_fmt, codec="libx264", size="96x64", frames=10):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    done = subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                           f"testsrc2=size={size}:rate=25", "-frames:v", str(frames),
                           "-pix_fmt", pix_fmt, "-c:v", codec, "-threads", "1", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this ffmpeg's {codec} cannot encode {pix_fmt}: {done.stderr.strip()[-200:]}")
    return path


def _reference(path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _pyav_depth(path) -> int:
    import av

    with av.open(str(path)) as container:
        return max(c.bits for c in container.streams.video[0].codec_context.format.components)


def test_a_10_bit_h264_file_decodes_as_the_reference_within_one_grey_level(tmp_path):
    path = _encode(tmp_path / "ten.mp4", "yuv420p10le")
    assert _pyav_depth(path) == 10  # the encoder really wrote 10 bits
    video = open_video(str(path))
    frames = video.read([0, 3, 9])
    assert video.decoder == "pyav" and video.depth == 10
    diff = np.abs(frames.astype(np.int16) - _reference(path)[[0, 3, 9]].astype(np.int16))
    assert frames.dtype == np.uint8 and int(diff.max()) <= 1


def test_decord_would_not_match_the_reference_on_10_bit(tmp_path):
    # why 10-bit files are routed: the seeking decoder converts them differently
    decord = pytest.importorskip("decord")
    path = _encode(tmp_path / "ten.mp4", "yuv420p10le")
    reader = decord.VideoReader(str(path), num_threads=1)
    theirs = reader.get_batch(list(range(len(reader)))).asnumpy().astype(np.int16)
    assert np.abs(theirs - _reference(path).astype(np.int16)).max() > 1


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuvj420p", "yuv444p"])
def test_8_bit_files_decode_with_decord_pixel_identical_to_the_reference(tmp_path, pix_fmt):
    pytest.importorskip("decord")
    path = _encode(tmp_path / f"{pix_fmt}.mp4", pix_fmt)
    video = open_video(str(path))
    assert video.decoder == "decord" and video.depth == 8
    assert np.array_equal(video.read(list(range(video.num_frames))), _reference(path))


@pytest.mark.parametrize("pix_fmt, codec, name", [
    ("yuv420p", "libx264", "a.mp4"), ("yuv420p10le", "libx264", "b.mov"),
    ("yuv444p10le", "libx264", "c.mp4"), ("yuv420p10le", "libx265", "d.mp4"),
    ("yuv420p", "libx265", "e.mp4"), ("yuv420p10le", "libvpx-vp9", "f.mp4")])
def test_header_bit_depth_agrees_with_pyav(tmp_path, pix_fmt, codec, name):
    path = _encode(tmp_path / name, pix_fmt, codec)
    assert bit_depth(str(path)) == _pyav_depth(path)


def test_other_containers_and_broken_files_leave_it_to_pyav(tmp_path):
    webm = _encode(tmp_path / "ten.webm", "yuv420p10le", "libvpx-vp9")
    assert bit_depth(str(webm)) is None  # not read from the header ...
    assert open_video(str(webm)).decoder == "pyav"  # ... but PyAV's probe routes it
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 definitely not a video")
    assert bit_depth(str(broken)) is None
    np.testing.assert_array_equal(read_frames(str(webm), [1]), _reference(webm)[[1]])
