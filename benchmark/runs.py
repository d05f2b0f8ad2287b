"""The run store: one directory per (protocol, method, config, data, seed, weights) run.

A run directory holds ``run.json`` (what ran, on what, with which versions, how long), per-video
``scores.parquet``, ``metrics.json``/``metrics.csv``, ``run.log`` and ``report.html``. Every file is
written atomically (temp file + rename), finished pieces of long work are kept under ``parts/`` so an
interrupted run resumes, and a finished run with the same key is reused instead of recomputed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("vbench", "torch", "torchvision", "mmaction2", "mmengine", "mmcv-lite", "numpy",
            "decord", "av", "scikit-learn", "pandas", "opencv-python-headless", "timm",
            "transformers", "scikit-image")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())


def atomic_write_frame(path: Path, frame) -> None:
    """A DataFrame as parquet (``.parquet``) or CSV (anything else), atomically."""
    import io

    buffer = io.BytesIO()
    if str(path).endswith(".parquet"):
        frame.to_parquet(buffer, index=False)
    else:
        buffer.write(frame.to_csv(index=False).encode())
    atomic_write_bytes(path, buffer.getvalue())


def run_key(spec: dict[str, Any]) -> str:
    """A short stable hash of everything that determines a run's scores."""
    blob = json.dumps(spec, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


class Run:
    """One run directory."""

    def __init__(self, out_dir: Path, protocol: str, method: str, config: str, key: str):
        self.key = key
        self.dir = Path(out_dir) / protocol / f"{method}-{config}" / key
        self.dir.mkdir(parents=True, exist_ok=True)

    @property
    def info_path(self) -> Path:
        return self.dir / "run.json"

    def info(self) -> dict[str, Any]:
        return json.loads(self.info_path.read_text()) if self.info_path.is_file() else {}

    def is_complete(self) -> bool:
        return self.info().get("status") == "complete" and (self.dir / "scores.parquet").is_file()

    def part_path(self, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return self.dir / "parts" / f"{safe}.parquet"

    def load_part(self, name: str):
        """A stored part, or None; under torchrun rank 0 reads it and every rank gets the same."""
        import pandas as pd

        from benchmark.distributed import broadcast, is_main

        path = self.part_path(name)
        return broadcast(pd.read_parquet(path) if is_main() and path.is_file() else None)

    def save_part(self, name: str, frame) -> None:
        from benchmark.distributed import is_main

        if is_main():
            atomic_write_frame(self.part_path(name), frame)

    @contextmanager
    def logging_to_file(self) -> Iterator[Path]:
        """Copies the ``vbench`` loggers into ``run.log`` while the block runs (rank 0 only)."""
        from benchmark.distributed import is_main

        path = self.dir / "run.log"
        if not is_main():
            yield path
            return
        handler = logging.FileHandler(path)
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


def git_commit() -> str:
    """HEAD of the vbench checkout, with ``-dirty`` when the tree has local changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_info(device) -> dict[str, Any]:
    import torch

    info = {"device": str(device), "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if str(device).startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info
