"""The run store: one directory per run key (protocol, options, method, config, data, seed,
weights, code).

A run directory holds ``run.json`` (what ran, on what, with which code and versions, how long),
``manifest.csv`` (the videos it used), per-video ``scores.parquet``, ``metrics.json``/``metrics.csv``,
``run.log``, the reports, ``parts/`` (the score table of each finished unit, so an interrupted run
resumes) and ``models/`` (the best-on-validation weights of each trained unit). One process writes a
run directory at a time (``.lock``); files are written atomically (`benchmark.io`), and
``run.json`` says ``complete`` only after every other file is written.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import platform
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from benchmark.errors import RunLockedError, StoreError
from benchmark.io import (atomic_write_frame, atomic_write_json, describe_os_error, make_dir,
                          remove_debris)

PACKAGES = ("vbench", "torch", "torchvision", "mmaction2", "mmengine", "mmcv-lite", "numpy",
            "decord", "av", "scikit-learn", "pandas", "opencv-python-headless", "timm",
            "transformers", "scikit-image", "safetensors", "pydantic")
LOCK = ".lock"
log = logging.getLogger("vbench.run")


def run_key(spec: dict[str, Any]) -> str:
    """A short stable hash of everything that determines a run's scores."""
    blob = json.dumps(spec, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


class Run:
    """One run directory (created when it is locked, not before)."""

    def __init__(self, out_dir: Path, protocol: str, method: str, config: str, key: str):
        self.key = key
        self.out_dir = Path(out_dir)
        self.dir = self.out_dir / protocol / f"{method}-{config}" / key
        self._lock_fd: int | None = None

    @property
    def info_path(self) -> Path:
        return self.dir / "run.json"

    def info(self) -> dict[str, Any]:
        if not self.info_path.is_file():
            return {}
        try:
            return json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # a damaged record: the run is recomputed

    def is_complete(self) -> bool:
        return self.info().get("status") == "complete" and (self.dir / "scores.parquet").is_file()

    # -- one writer at a time ----------------------------------------------------------------
    @contextmanager
    def locked(self, command: str = "") -> Iterator["Run"]:
        """Holds the run directory's lock for the block; a second writer gets `RunLockedError`.

        Creating the directory and the lock is the first write of a run; leftovers of a killed
        writer (temporary files) are removed once the lock is held.
        """
        make_dir(self.dir, "run directory")
        path = self.dir / LOCK
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise StoreError(describe_os_error(exc, "create the lock file", path)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown process"
            os.close(fd)
            raise RunLockedError(f"{self.dir} is being written by another vbench run ({holder}); "
                                 f"wait for it to finish, or use another --out") from None
        holder = (f"pid {os.getpid()} on {socket.gethostname()} since "
                  f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {command or ' '.join(sys.argv)}")
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode("utf-8", "replace"), 0)
        self._lock_fd = fd
        try:
            for debris in remove_debris(self.dir):
                log.info("removed %s, left by a killed writer", debris)
            yield self
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            self._lock_fd = None

    # -- parts: the score table of each finished unit -------------------------------------------
    def part_path(self, unit) -> Path:
        return self.dir / "parts" / f"{unit.stem}.parquet"

    def load_part(self, unit):
        """The stored table of ``unit``, or None; rank 0 reads it and every rank gets the same."""
        import pandas as pd

        from benchmark.distributed import broadcast, is_main

        frame = None
        if is_main():
            path, meta = self.part_path(unit), self.part_path(unit).with_suffix(".json")
            if path.is_file() and meta.is_file():
                try:
                    same = json.loads(meta.read_text(encoding="utf-8")).get("unit") == unit.to_json()
                    frame = pd.read_parquet(path) if same else None
                except (OSError, ValueError):
                    frame = None  # a damaged part is recomputed
        return broadcast(frame)

    def part_record(self, unit) -> dict[str, Any]:
        """The stored record of a finished unit (seconds, code version, cost), or {}."""
        try:
            record = json.loads(self.part_path(unit).with_suffix(".json").read_text(
                encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def save_part(self, unit, frame, meta: dict[str, Any]) -> None:
        """Writes a finished unit's table, then its record (a part counts once both exist)."""
        from benchmark.distributed import is_main

        if is_main():
            path = self.part_path(unit)
            atomic_write_frame(path, frame)
            atomic_write_json(path.with_suffix(".json"), {"unit": unit.to_json(), **meta})

    def clear_parts(self) -> None:
        for folder in ("parts", "models"):
            for path in (self.dir / folder).glob("*"):
                if path.is_file():
                    path.unlink()

    # -- log ------------------------------------------------------------------------------------
    @contextmanager
    def logging_to_file(self) -> Iterator[Path]:
        """Copies the ``vbench`` loggers into ``run.log`` while the block runs (rank 0 only)."""
        from benchmark.distributed import is_main

        path = self.dir / "run.log"
        if not is_main():
            yield path
            return
        try:
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError as exc:
            raise StoreError(describe_os_error(exc, "write", path)) from None
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler.setLevel(logging.INFO)
        logger = logging.getLogger("vbench")
        level = logger.level
        logger.setLevel(logging.INFO)  # the file keeps INFO even when the console is quieter
        logger.addHandler(handler)
        try:
            yield path
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            handler.close()


def package_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def device_info(device) -> dict[str, Any]:
    import torch

    info = {"device": str(device), "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if str(device).startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info
