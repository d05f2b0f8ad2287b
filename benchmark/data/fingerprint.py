"""Content fingerprints of video files and frame folders, cached by path, size and mtime.

A fingerprint says "same bytes" cheaply enough to compute for every video of a run:

- a file of up to 3 MiB: blake2b over its size and all its bytes;
- a larger file: blake2b over its size and its first, middle and last 1 MiB. A video re-encoded
  or cut in place changes there (or in size) in practice; a same-size edit confined elsewhere
  would go unseen, the price of not reading gigabytes on every run;
- a frame folder, frame set or single image: blake2b over every image's name and size, and the
  content of 8 of them (first, last and evenly spaced between; each as a file above). Renamed,
  added or removed frames always change it, and so does an edited frame in practice (a PNG or
  JPEG whose pixels change changes size); reading every frame of every video on a first run would
  cost several times the decoding the run itself does.

Fingerprints are content only (no paths, no times): a copied dataset keeps them. The cache (a
SQLite file, ``$VBENCH_CACHE/fingerprints.sqlite``, or ``$VBENCH_FINGERPRINT_CACHE``; that variable
set to an empty string turns the cache off) maps (path, size, mtime, ...) to a fingerprint;
an entry whose file changed less than 2 s ago is not stored, since a second write within the
file system's time resolution could leave size and mtime unchanged. A cache that cannot be opened
or written (read-only folder) is skipped: fingerprints are then computed every time.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterable

import numpy as np

MISSING = "missing"
WINDOW = 1 << 20  # 1 MiB
_FULL_LIMIT = 3 * WINDOW
_RACY_SECONDS = 2.0
_SAMPLED_FRAMES = 8
_VERSION = "b2v1"  # bump when the recipe changes: cached and stored fingerprints then differ


def _hash_file(path: str, size: int, digest) -> None:
    digest.update(size.to_bytes(8, "little"))
    with open(path, "rb") as f:
        if size <= _FULL_LIMIT:
            digest.update(f.read())
            return
        for start in (0, (size - WINDOW) // 2, size - WINDOW):
            f.seek(start)
            digest.update(f.read(WINDOW))


def _frames(path: str) -> tuple[str, list[str]] | None:
    from benchmark.data.video import frame_files, is_frames

    return frame_files(path) if is_frames(path) else None


def _stat_key(path: str) -> tuple[str, float] | None:
    """(cache key, newest mtime) from stat calls only; None when the path does not exist."""
    frames = _frames(path)
    try:
        if frames is None:
            st = os.stat(path)
            return f"f:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}", st.st_mtime
        folder, names = frames
        stats = [os.stat(os.path.join(folder, n)) for n in names]
    except OSError:
        return None
    if not stats:
        return None
    newest = max(s.st_mtime_ns for s in stats)
    listing = hashlib.blake2b("\0".join(names).encode("utf-8", "surrogateescape"), digest_size=8)
    return f"d:{len(stats)}:{sum(s.st_size for s in stats)}:{newest}:{listing.hexdigest()}", newest / 1e9


def compute_fingerprint(path: str) -> str:
    """The fingerprint of a video file, frame folder, frame set or image; `MISSING` if absent."""
    digest = hashlib.blake2b(digest_size=16)
    frames = _frames(path)
    try:
        if frames is None:
            _hash_file(path, os.path.getsize(path), digest)
        else:
            folder, names = frames
            if not names:
                return MISSING
            sampled = set(np.linspace(0, len(names) - 1, min(len(names), _SAMPLED_FRAMES)).round().astype(int))
            for i, name in enumerate(names):
                full = os.path.join(folder, name)
                size = os.path.getsize(full)
                digest.update(name.encode("utf-8", "surrogateescape") + b"\0" + size.to_bytes(8, "little"))
                if i in sampled:
                    _hash_file(full, size, digest)
    except OSError:
        return MISSING
    return f"{_VERSION}:{digest.hexdigest()}"


def cache_file() -> Path | None:
    """The default cache file (None when ``VBENCH_FINGERPRINT_CACHE`` is set empty)."""
    chosen = os.environ.get("VBENCH_FINGERPRINT_CACHE")
    if chosen is not None:
        return Path(chosen).expanduser() if chosen else None
    from benchmark.data.corpus import default_cache_dir

    return default_cache_dir() / "fingerprints.sqlite"


class FingerprintCache:
    """(path, stat key) → fingerprint in a small SQLite file; silently inert where unwritable."""

    def __init__(self, file: str | os.PathLike | None = None, table: str = "prints"):
        file = cache_file() if file is None else file
        self.file, self._db, self.hits, self.misses = file and Path(file), None, 0, 0
        self.table = table  # "prints", or "sha256" for full checksums (dataset cards)
        if not file:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.file), timeout=30)
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {table} (path TEXT PRIMARY KEY, "
                             "stat TEXT NOT NULL, print TEXT NOT NULL)")
        except (OSError, sqlite3.Error):
            self._db = None

    def lookup(self, paths: list[str]) -> dict[str, tuple[str, str]]:
        """path → (stat key, fingerprint) of the cached entries."""
        if self._db is None:
            return {}
        found: dict[str, tuple[str, str]] = {}
        try:
            for i in range(0, len(paths), 500):  # SQLite's bound-parameter limit
                chunk = paths[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for path, stat, value in self._db.execute(
                        f"SELECT path, stat, print FROM {self.table} WHERE path IN ({marks})", chunk):
                    found[path] = (stat, value)
        except sqlite3.Error:
            return {}
        return found

    def store(self, entries: list[tuple[str, str, str]]) -> None:
        """Stores (path, stat key, fingerprint) rows; failures only cost the next run time."""
        if self._db is None or not entries:
            return
        try:
            with self._db:
                self._db.executemany(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?, ?)",
                                     entries)
        except sqlite3.Error:
            pass

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def compute_sha256(path: str) -> str:
    """The sha256 of every byte of a file; of a frame folder or frame set, the sha256 of its
    ``sha256sum`` listing (``<sha256 of the frame>  <frame name>\n`` per frame, in order);
    `MISSING` if absent."""
    frames = _frames(path)
    files = [(os.path.basename(path), path)] if frames is None else [
        (name, os.path.join(frames[0], name)) for name in frames[1]]
    try:
        digests = []
        for name, full in files:
            digest = hashlib.sha256()
            with open(full, "rb") as handle:
                for block in iter(lambda: handle.read(WINDOW), b""):
                    digest.update(block)
            digests.append((name, digest.hexdigest()))
    except OSError:
        return MISSING
    if frames is None:
        return digests[0][1]
    listing = "".join(f"{d}  {name}\n" for name, d in digests)
    return hashlib.sha256(listing.encode("utf-8", "surrogateescape")).hexdigest() if digests else MISSING


def sha256_paths(paths: Iterable[str]) -> dict[str, str]:
    """path → `compute_sha256`, cached by stat key like fingerprints (the cache's sha256 table)."""
    return fingerprint_paths(paths, FingerprintCache(table="sha256"), compute=compute_sha256,
                             close=True)


def fingerprint_paths(paths: Iterable[str], cache: FingerprintCache | None = None,
                      compute=compute_fingerprint, close: bool = False) -> dict[str, str]:
    """path → fingerprint for every path (`MISSING` for absent ones), using and filling the cache.

    Args:
        paths: video files, frame folders, frame sets or images (absolute paths).
        cache: the cache to use; None opens the default one (and closes it after).
        compute: the digest of one path (`compute_fingerprint`; `compute_sha256` for cards).
        close: close ``cache`` after.
    """
    paths = list(dict.fromkeys(os.path.abspath(p) for p in paths))
    own = cache is None or close
    cache = cache or FingerprintCache()
    try:
        known, out, new = cache.lookup(paths), {}, []
        now = time.time()
        for path in paths:
            stat = _stat_key(path)
            if stat is None:
                out[path] = MISSING
            elif path in known and known[path][0] == stat[0]:
                out[path], cache.hits = known[path][1], cache.hits + 1
            else:
                out[path], cache.misses = compute(path), cache.misses + 1
                if now - stat[1] > _RACY_SECONDS and out[path] != MISSING:
                    new.append((path, stat[0], out[path]))
        cache.store(new)
    finally:
        if own:
            cache.close()
    return out


# Columns of other files a row's scores depend on (a layout's own, e.g. DecepTIV's perturbed copy
# in ``perturbed_path``): each gets a ``<column>_fingerprint`` beside it, part of the manifest hash.
COMPANION_COLUMNS = ("perturbed_path",)


def add_fingerprints(manifest, cache: FingerprintCache | None = None):
    """A copy of ``manifest`` with a ``fingerprint`` column (`MISSING` for absent files), and a
    ``<column>_fingerprint`` for each companion file column it has (empty where no file is named),
    so a file changed in place, the video or its companion, is never "reused"."""
    prints = fingerprint_paths(manifest["path"], cache)
    out = manifest.assign(fingerprint=[prints[os.path.abspath(p)] for p in manifest["path"]])
    for column in (c for c in COMPANION_COLUMNS if c in manifest.columns):
        named = [str(p) for p in manifest[column] if isinstance(p, str) and p]
        found = fingerprint_paths(named, cache) if named else {}
        out[f"{column}_fingerprint"] = [found[os.path.abspath(p)] if isinstance(p, str) and p else ""
                                        for p in manifest[column]]
    return out
