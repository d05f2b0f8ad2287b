"""The re-encoded stream really is the codec at the requested quality."""
from __future__ import annotations

import io

import numpy as np
import pytest

from benchmark.perturb import codec
from benchmark.perturb.config import default_set
from benchmark.perturb.errors import PerturbationSpecError

CODECS = [c for c in ("libx264", "libx265", "libvpx-vp9") if codec.has_encoder(c)]


def stream_codec(data: bytes) -> tuple[str, int, int, int]:
    """(codec name, width, height, frames) of the first video stream, as PyAV reads it."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return stream.codec_context.name, stream.codec_context.width, stream.codec_context.height, count


@pytest.mark.parametrize("name", CODECS)
def test_stream_is_the_requested_codec(camera, name):
    data = codec.encode_frames(camera, name, crf=30)
    assert stream_codec(data) == (codec.ENCODERS[name].stream_codec, 128, 96, len(camera))


@pytest.mark.parametrize("name, crf", [("libx264", 28), ("libx264", 35), ("libx265", 31)])
def test_x26x_write_the_requested_crf_into_the_stream(camera, name, crf):
    if name not in CODECS:
        pytest.skip(f"{name} not in this FFmpeg")
    info = codec.encoder_info(codec.encode_frames(camera, name, crf=crf, preset="fast"))
    assert info["encoder"].startswith(name[3:])  # "x264 - core ..." / "x265 (build ...)"
    assert float(info["crf"]) == crf
    assert info.get("preset", "fast") == "fast" and info.get("mbtree", "0") == "0"


@pytest.mark.parametrize("name", CODECS)
def test_higher_crf_means_fewer_bytes(camera, name):
    levels = [10, 20, 30, 40] if name != "libvpx-vp9" else [10, 25, 40, 55]
    sizes = [len(codec.encode_frames(camera, name, crf=q)) for q in levels]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 2 * sizes[-1], sizes


def test_bit_budget_sets_the_bitrate(camera):
    """bpp mode: the stream's payload follows the budget (x264 ABR over 12 frames is loose)."""
    sizes = {bpp: len(codec.encode_frames(camera, "libx264", bpp=bpp)) for bpp in (0.05, 0.2, 0.8)}
    assert sizes[0.05] < sizes[0.2] < sizes[0.8]
    target = 0.2 * 96 * 128 * len(camera) / 8  # bytes
    assert 0.5 * target < sizes[0.2] < 2.0 * target


def test_encoding_is_byte_reproducible(camera):
    for name in CODECS:
        assert codec.encode_frames(camera, name, crf=30) == codec.encode_frames(camera, name, crf=30)


def test_odd_sizes_round_trip(camera):
    odd = np.ascontiguousarray(camera[:, :95, :127])
    out = codec.reencode(odd, None, codec="libx264", crf=20)
    assert out.shape == odd.shape and np.abs(out.astype(int) - odd).mean() < 6


def test_default_set_codecs_use_the_engine(camera):
    pset = default_set()
    step = pset.get("df_compression").steps(2)[0]
    assert step.fn == "reencode" and step.kwargs == {"codec": "libx264", "crf": 32, "preset": "medium"}


def test_unknown_or_missing_codec_is_named(monkeypatch, camera):
    with pytest.raises(PerturbationSpecError, match="codec 'libaom' is not one the engine drives"):
        codec.encode_frames(camera, "libaom", crf=30)
    monkeypatch.setattr(codec, "has_encoder", lambda name: name == "libx264")
    with pytest.raises(PerturbationSpecError, match="'libvpx-vp9' is not in this FFmpeg build.*"
                                                    "available here: libx264"):
        codec.encode_frames(camera, "libvpx-vp9", crf=30)


def test_x265_small_frames_are_padded_in_reencode_and_refused_raw():
    """libx265 4.2 corrupts the heap on some frames under 64 px (see codec.X265_MIN_SIDE)."""
    if "libx265" not in CODECS:
        pytest.skip("libx265 not in this FFmpeg")
    small = np.random.default_rng(0).integers(0, 256, (4, 32, 48, 3), dtype=np.uint8)
    assert codec.reencode(small, None, codec="libx265", crf=20).shape == small.shape
    assert stream_codec(codec.encode_frames(small, "libx265", crf=20))[1:3] == (64, 64)
    with pytest.raises(PerturbationSpecError, match="at least 64 px a side.*got 48x32"):
        with codec.frame_writer(io.BytesIO(), 48, 32, "libx265", crf=20):
            pass
