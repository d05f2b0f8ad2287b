"""What code made a number: the vbench version and a digest of the source that computes scores.

Run keys include `code_version()`, so scores computed by other code (an older release, a bug fix,
a local edit) are never reused silently. The digest covers the Python and YAML files of
``benchmark/``, ``detectors/`` (with its ``registry.yaml``), ``protocols/`` and ``layouts/``: everything that
decides a score, and nothing that only changes how it is shown (templates, README). A run whose
method or protocol comes from an outside plugin adds the digest of that plugin's folders
(`code_version`'s ``extra``), so editing a plugin invalidates its stored scores too. The git commit is
recorded beside it, but not used in keys: a commit changes with every README edit, and a dirty
tree has no commit that names its code.
"""
from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("benchmark", "detectors", "protocols", "layouts")
SOURCE_SUFFIXES = (".py", ".yaml", ".yml")


def source_files() -> list[Path]:
    """The files `source_digest` covers, in a fixed order."""
    files: list[Path] = []
    for folder in SOURCE_DIRS:
        files += [p for p in (ROOT / folder).rglob("*")
                  if p.suffix in SOURCE_SUFFIXES and p.is_file() and "__pycache__" not in p.parts]
    return sorted(files, key=lambda p: p.relative_to(ROOT).as_posix())


@lru_cache(maxsize=None)
def source_digest() -> str:
    """sha256 over the relative path and bytes of every `source_files` entry."""
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def folder_digest(folders: Sequence[Path]) -> str:
    """sha256 over the Python and YAML files under ``folders`` (paths relative to each folder)."""
    digest = hashlib.sha256()
    for folder in sorted({Path(f).resolve() for f in folders}):
        files = sorted(p for p in folder.rglob("*") if p.suffix in SOURCE_SUFFIXES and p.is_file()
                       and "__pycache__" not in p.parts)
        for path in files:
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_version(extra: Sequence[Path] = ()) -> str:
    """``"<vbench version>+<first 12 hex of the source digest>"``, e.g. ``0.1.0+3f2a9c1b7d4e``;
    with ``extra`` (an outside plugin's folders) ``+plugin-<12 hex>`` follows."""
    from benchmark import __version__

    version = f"{__version__}+{source_digest()[:12]}"
    return f"{version}+plugin-{folder_digest(extra)[:12]}" if extra else version


def git_commit() -> str:
    """HEAD of the vbench checkout, with ``-dirty`` when the tree has local changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"


def code_info(extra: Sequence[Path] = ()) -> dict[str, Any]:
    """The provenance of the code, as run.json records it (``extra``: an outside plugin's
    folders, as in `code_version`)."""
    from benchmark import __version__

    info = {"vbench": __version__, "code_version": code_version(extra),
            "source_digest": source_digest(), "git_commit": git_commit()}
    if extra:
        info["plugin_folders"] = sorted(str(Path(f).resolve()) for f in extra)
        info["plugin_digest"] = folder_digest(extra)
    return info
