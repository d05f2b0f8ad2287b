"""Scores cached across runs by (model, video content, view): adding a perturbation level or
re-running after an interruption computes only what is new.

The key of a model is a digest of the method, its resolved config, the weights' sha256 (given or
trained by the run) and the inference precision; of a video, its content fingerprint; of a view,
the perturbation set's key of (perturbation, level) (`benchmark.perturb.config.PerturbationSet.key`)
or ``clean``. Stored in ``$VBENCH_CACHE/scores.sqlite``; a cache that cannot be opened or written
is skipped (with a warning), never an error.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from pathlib import Path

log = logging.getLogger("vbench.run")
SCHEMA = ("CREATE TABLE IF NOT EXISTS scores (model TEXT, video TEXT, view TEXT, score REAL, "
          "n_clips INTEGER, status TEXT, error TEXT, PRIMARY KEY (model, video, view))")


def model_key(method: str, config: dict, weights_sha256: str, precision: str = "fp32") -> str:
    blob = json.dumps({"method": method, "config": config, "weights": weights_sha256,
                       "precision": precision}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class ScoreCache:
    """``get``/``put`` of per-video scores; every call is a no-op when the file is unusable."""

    def __init__(self, path: str | Path | None = None):
        from benchmark.data.corpus import default_cache_dir

        self.path = Path(path) if path else default_cache_dir() / "scores.sqlite"
        self.db = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30)
            self.db.execute(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            log.warning("score cache %s unusable (%s); scoring without it", self.path, exc)
            self.db = None

    def get(self, model: str, videos: list[str], view: str) -> dict[str, tuple]:
        """``{video: (score, n_clips, status, error)}`` of the cached ones."""
        if self.db is None or not videos:
            return {}
        out = {}
        for start in range(0, len(videos), 500):
            chunk = videos[start:start + 500]
            rows = self.db.execute(
                f"SELECT video, score, n_clips, status, error FROM scores WHERE model = ? AND "
                f"view = ? AND video IN ({','.join('?' * len(chunk))})", [model, view, *chunk])
            out.update({r[0]: r[1:] for r in rows})
        return out

    def put(self, model: str, view: str, rows: list[tuple]) -> None:
        """Stores ``(video, score, n_clips, status, error)`` rows of one view."""
        if self.db is None or not rows:
            return
        try:
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    [(model, r[0], view, *r[1:]) for r in rows])
        except sqlite3.Error as exc:
            log.warning("score cache %s not written (%s)", self.path, exc)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
