"""Content fingerprints: changed files change the run key; reruns hit the cache."""
from __future__ import annotations

import os

import pandas as pd

from benchmark.data import fingerprint as fp
from benchmark.data.fingerprint import (MISSING, FingerprintCache, add_fingerprints, compute_fingerprint,
                                        fingerprint_paths)
from benchmark.data.manifest import manifest_hash


def aged(path, seconds: float = 10) -> None:
    """Moves the mtime back so the entry is not 'racy' (written within the last 2 s)."""
    t = os.stat(path).st_mtime - seconds
    os.utime(path, (t, t))


def test_small_file_is_hashed_whole_and_content_only(tmp_path):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"abc" * 100)
    b.write_bytes(b"abc" * 100)
    assert compute_fingerprint(str(a)) == compute_fingerprint(str(b))  # names and times do not count
    b.write_bytes(b"abd" + b"abc" * 99)
    assert compute_fingerprint(str(a)) != compute_fingerprint(str(b))
    assert compute_fingerprint(str(tmp_path / "nope.mp4")) == MISSING


def test_large_file_reads_three_windows(tmp_path):
    big = tmp_path / "big.mp4"
    data = bytearray(os.urandom(8 * fp.WINDOW))
    big.write_bytes(bytes(data))
    first = compute_fingerprint(str(big))
    for offset in (10, 4 * fp.WINDOW - 5, 8 * fp.WINDOW - 1):  # head, middle, tail windows
        changed = bytearray(data)
        changed[offset] ^= 0xFF
        big.write_bytes(bytes(changed))
        assert compute_fingerprint(str(big)) != first, offset
    big.write_bytes(bytes(data) + b"x")  # size
    assert compute_fingerprint(str(big)) != first


def test_frame_folder_changes_with_any_frame(tmp_path, write_frames):
    folder = write_frames(tmp_path / "v", n=4)
    first = compute_fingerprint(str(folder))
    (folder / "2.png").write_bytes((folder / "2.png").read_bytes() + b"\0")
    second = compute_fingerprint(str(folder))
    assert second != first
    (folder / "2.png").rename(folder / "9.png")
    assert compute_fingerprint(str(folder)) != second
    assert compute_fingerprint(str(folder / "[1-2].png")) != compute_fingerprint(str(folder))  # a frame set
    many = write_frames(tmp_path / "many", n=20)  # 8 of 20 frames are read; all names and sizes count
    before = compute_fingerprint(str(many))
    (many / "7.png").write_bytes((many / "7.png").read_bytes() + b"\0")
    assert compute_fingerprint(str(many)) != before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert compute_fingerprint(str(empty)) == MISSING


def test_cache_hits_and_invalidation(tmp_path):
    cache_file = tmp_path / "cache.sqlite"
    files = []
    for i in range(5):
        files.append(tmp_path / f"{i}.mp4")
        files[-1].write_bytes(bytes([i]) * 1000)
        aged(files[-1])
    cache = FingerprintCache(cache_file)
    first = fingerprint_paths([str(f) for f in files], cache)
    assert (cache.hits, cache.misses) == (0, 5)
    cache.close()
    cache = FingerprintCache(cache_file)
    assert fingerprint_paths([str(f) for f in files], cache) == first
    assert (cache.hits, cache.misses) == (5, 0)
    files[0].write_bytes(b"changed in place")  # new size and mtime: recomputed, not reused
    again = fingerprint_paths([str(f) for f in files], cache)
    assert again[str(files[0])] != first[str(files[0])] and cache.misses == 1
    fingerprint_paths([str(files[0])], cache)  # written just now: 'racy', so not cached
    assert cache.misses == 2
    cache.close()


def test_unwritable_cache_is_skipped(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = FingerprintCache(blocker / "sub" / "cache.sqlite")  # parent is a file: cannot be made
    (tmp_path / "v.mp4").write_bytes(b"v")
    assert fingerprint_paths([str(tmp_path / "v.mp4")], cache)[str(tmp_path / "v.mp4")].startswith("b2v1:")


def test_changed_file_changes_the_manifest_hash(tmp_path, manifest_of):
    paths = {f"v{i}": tmp_path / f"v{i}.mp4" for i in range(3)}
    for i, p in enumerate(paths.values()):
        p.write_bytes(bytes([i]) * 100)
    manifest = add_fingerprints(manifest_of(paths))
    before = manifest_hash(manifest)
    assert before == manifest_hash(add_fingerprints(manifest_of(paths)))
    paths["v1"].write_bytes(b"overwritten in place")
    after = add_fingerprints(manifest_of(paths))
    assert manifest_hash(after) != before
    assert manifest_hash(pd.DataFrame(manifest).drop(columns="fingerprint")) != before
