"""The bit depth of a video's pixels, read cheaply, so that decoding can be routed by it.

decord and PyAV's swscale (``frame.to_ndarray(format="rgb24")``) give identical RGB on 8-bit files
(yuv420p, yuvj420p, yuv422p, yuv444p, BT.709-tagged; ``tools/bench_decoders.py``), but not on
10-bit yuv420p10le, where decord is off by 4 grey levels on average (up to 170). So
`benchmark.data.video` sends files deeper than 8 bits to PyAV, the reference.

`bit_depth` walks an MP4/MOV file's boxes (seeking past the media data, reading a few hundred
bytes) to the sample entry's decoder configuration: the H.264 SPS in ``avcC``, ``hvcC``'s
``bitDepthLumaMinus8``, ``vpcC``'s ``bitDepth``, ``av1C``'s ``high_bitdepth``/``twelve_bit``.
That costs a few tens of microseconds; opening the file with PyAV costs 3-5 ms (2 cores). Any
other container or codec returns None, and the caller asks PyAV.
"""
from __future__ import annotations

import struct
from typing import BinaryIO

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
_ISO_EXTS = (".mp4", ".m4v", ".mov")
# H.264 profiles whose SPS carries chroma_format_idc and bit_depth_luma_minus8
_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def bit_depth(path: str) -> int | None:
    """Luma bit depth of the first video track of an MP4/MOV file, or None where not found
    this cheap way (other containers or codecs, a damaged file)."""
    if not path.lower().endswith(_ISO_EXTS):
        return None
    try:
        with open(path, "rb") as f:
            entry = _sample_entry(f, _end(f))
    except (OSError, ValueError, IndexError, struct.error):
        return None
    return None if entry is None else _entry_depth(*entry)


def _end(f: BinaryIO) -> int:
    f.seek(0, 2)
    end = f.tell()
    f.seek(0)
    return end


def _boxes(f: BinaryIO, start: int, end: int):
    """(type, payload start, box end) of the boxes between ``start`` and ``end``."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        size, kind = struct.unpack(">I4s", f.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", f.read(8))[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError("bad box size")
        yield kind, pos + header, pos + size
        pos += size


def _sample_entry(f: BinaryIO, end: int, start: int = 0) -> tuple[bytes, bytes] | None:
    """(codec box type, decoder configuration payload) of the first video sample entry."""
    for kind, body, stop in _boxes(f, start, end):
        if kind in _CONTAINERS:
            found = _sample_entry(f, stop, body)
            if found is not None:
                return found
        elif kind == b"stsd":
            f.seek(body + 8)  # version, flags, entry count
            for codec, entry_body, entry_stop in _boxes(f, body + 8, stop):
                # a visual sample entry: 78 bytes of fields before its child boxes
                for child, child_body, child_stop in _boxes(f, entry_body + 78, entry_stop):
                    if child in (b"avcC", b"hvcC", b"vpcC", b"av1C"):
                        f.seek(child_body)
                        return child, f.read(min(child_stop - child_body, 512))
                return None
    return None


def _entry_depth(kind: bytes, config: bytes) -> int | None:
    if kind == b"hvcC":
        return (config[17] & 0x07) + 8
    if kind == b"vpcC":
        return config[6] >> 4  # after version and flags: profile, level, bitDepth (4 bits)
    if kind == b"av1C":
        high, twelve = (config[2] >> 6) & 1, (config[2] >> 5) & 1
        return 12 if high and twelve else 10 if high else 8
    return _avc_depth(config)


def _avc_depth(config: bytes) -> int | None:
    """bit_depth_luma from the first SPS of an ``avcC`` record."""
    if config[5] & 0x1F < 1:
        return None
    length = struct.unpack(">H", config[6:8])[0]
    sps = config[8:8 + length].replace(b"\x00\x00\x03", b"\x00\x00")  # emulation prevention
    profile = sps[1]
    if profile not in _HIGH_PROFILES:
        return 8  # Baseline, Main, Extended: 8-bit 4:2:0 only
    bits = _Bits(sps[4:])  # after NAL header, profile, constraints, level
    bits.ue()  # seq_parameter_set_id
    if bits.ue() == 3:  # chroma_format_idc 4:4:4
        bits.bit()  # separate_colour_plane_flag
    return bits.ue() + 8


class _Bits:
    """An Exp-Golomb reader over bytes."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def bit(self) -> int:
        byte = self.data[self.pos >> 3]
        value = (byte >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code")
        value = 0
        for _ in range(zeros):
            value = (value << 1) | self.bit()
        return (1 << zeros) - 1 + value
