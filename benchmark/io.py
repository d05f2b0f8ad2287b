"""The one way vbench writes files: atomically, with the user's umask, failures named.

Every file is written to a hidden temporary sibling (``.<name>.<random>.tmp``), flushed and renamed
over the target, so a reader (or a killed run) sees the old file or the new one, never half of one.
`remove_debris` deletes the temporaries a killed writer left behind.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from benchmark.errors import StoreError

TMP_SUFFIX = ".tmp"


@lru_cache(maxsize=None)
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def describe_os_error(exc: OSError, action: str, path: str | os.PathLike) -> str:
    """"cannot write /x/y: No space left on device (errno 28)"."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    errno = f" (errno {exc.errno})" if exc.errno else ""
    return f"cannot {action} {os.fsdecode(path)}: {cause}{errno}"


def make_dir(path: str | os.PathLike, what: str = "folder") -> Path:
    """``mkdir -p`` whose failures (a file in the way, no permission, ...) are a `StoreError`."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreError(f"cannot create {what} {path}: a file of that name is in the way") from None
    except OSError as exc:
        raise StoreError(describe_os_error(exc, f"create {what}", path)) from None
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that readers see the old file or the new one, never half.

    Raises:
        StoreError: the folder cannot be created or written (read-only, full disk, name too long).
    """
    path = Path(path)
    make_dir(path.parent)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:80]}.", suffix=TMP_SUFFIX)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise StoreError(describe_os_error(exc, "write", path)) from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def atomic_write_frame(path: str | os.PathLike, frame) -> None:
    """A DataFrame as parquet (``.parquet``) or CSV (anything else), atomically.

    CSV cells that a spreadsheet would run as formulas are neutralised
    (`benchmark.safe_text.csv_frame`; `benchmark.safe_text.read_csv_text` reads them back).
    """
    buffer = io.BytesIO()
    if str(path).endswith(".parquet"):
        frame.to_parquet(buffer, index=False)
    else:
        from benchmark.safe_text import csv_frame

        text = csv_frame(frame).to_csv(index=False, lineterminator="\n")
        buffer.write(text.encode("utf-8"))
    atomic_write_bytes(path, buffer.getvalue())


def remove_debris(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Deletes the ``.<name>.<random>.tmp`` files killed writers left in ``folder``.

    Only call it on folders this process owns (a locked run directory, a report folder being
    rewritten): a concurrent writer's temporary file looks the same.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = "**/.*" + TMP_SUFFIX if recursive else ".*" + TMP_SUFFIX
    removed = []
    for path in folder.glob(pattern):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
