"""Building an embedded dataset once into the cache: staging, marker, publish, a spawn pool.

Shared by the embedded corpora (`benchmark.data.corpus`: vbench-mini;
`benchmark.data.footage`: vbench-mini-footage). A build renders into a hidden
``.<name>.<pid>.<random>.partial`` sibling folder, writes a marker holding the digest of its spec
last, and is renamed into place only when complete, so an interrupted build never leaves a half
corpus; a folder whose marker matches the digest is reused without work.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

MARKER = ".complete"  # written last; holds the digest of the build spec


def default_cache_dir() -> Path:
    """``$VBENCH_CACHE`` if set, else ``~/.cache/vbench``."""
    env = os.environ.get("VBENCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vbench"


def is_complete(folder: Path, digest: str) -> bool:
    """True when ``folder`` holds a finished build whose marker matches ``digest``."""
    marker = Path(folder) / MARKER
    return marker.is_file() and marker.read_text().strip() == digest


def code_digest(*files: Path) -> str:
    """sha256 of source files, so a cached build made by other rendering code is rebuilt."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def build_once(final: Path, digest: str, build: Callable[[Path], None], force: bool = False) -> Path:
    """Runs ``build(staging_folder)`` unless ``final`` already holds a build of ``digest``.

    Args:
        final: the published folder.
        digest: sha256 of everything that determines the build's bytes.
        build: fills the staging folder it is given (everything but the marker).
        force: rebuild even when a finished build exists.

    Returns:
        ``final``.
    """
    if not force and is_complete(final, digest):
        return final
    root = final.parent
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(root)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".partial",
                                    dir=root))
    try:
        build(staging)
        (staging / MARKER).write_text(digest + "\n")
        _publish(staging, final, digest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def remove_stale_builds(root: Path) -> list[Path]:
    """Deletes ``.<name>.<pid>.<random>.partial`` folders whose building process is gone (a killed
    build); a build still running in another process keeps its folder."""
    removed = []
    for folder in Path(root).glob(".*.partial"):
        parts = folder.name.split(".")
        pid = int(parts[-3]) if len(parts) >= 4 and parts[-3].isdigit() else None
        if pid is not None and pid != os.getpid() and _alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _publish(staging: Path, final: Path, digest: str) -> None:
    """Moves a finished build into place, replacing a stale or forced-out previous build."""
    stale = None
    if final.exists():
        stale = final.with_name(f".{final.name}.stale-{uuid.uuid4().hex[:8]}")
        os.replace(final, stale)
    try:
        os.replace(staging, final)
    except OSError:
        if not is_complete(final, digest):  # a concurrent build of the same spec may have won
            raise
    finally:
        if stale is not None:
            shutil.rmtree(stale, ignore_errors=True)


def run_jobs(render: Callable[[Any, Path], dict], jobs: Iterable[Any], folder: Path, workers: int,
             progress: bool, desc: str) -> list[dict]:
    """``render(job, folder)`` for every job, in-process or on a spawn pool of ``workers``.

    ``render`` must be a module-level function (the pool pickles it). Rows come back in
    completion order; callers sort them.
    """
    from tqdm.auto import tqdm

    jobs = list(jobs)
    rows = []
    with tqdm(total=len(jobs), desc=desc, unit="video", disable=not progress) as bar:
        if workers == 1 or not _main_is_importable():
            for job in jobs:
                rows.append(render(job, folder))
                bar.update()
            return rows
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(workers, mp_context=_pool_context(),
                                 initializer=_init_worker) as pool:
            futures = [pool.submit(render, job, folder) for job in jobs]
            for future in as_completed(futures):
                rows.append(future.result())
                bar.update()
    return rows


def _pool_context():
    """spawn: a forked child can inherit a thread pool (OpenCV's, BLAS's) mid-lock and hang.

    Like any spawn pool, scripts that build at import time need an ``if __name__ ==
    "__main__":`` guard (or ``workers=1``).
    """
    import multiprocessing

    return multiprocessing.get_context("spawn")


def _main_is_importable() -> bool:
    """False when spawned workers could not re-import ``__main__`` (code piped to ``python -``)."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.isfile(main_file)


def _init_worker() -> None:
    """One thread per worker: the pool provides the parallelism."""
    import cv2

    cv2.setNumThreads(1)
