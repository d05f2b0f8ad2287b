"""Reading checkpoints safely and loading them strictly through a key mapping.

Official checkpoints come in several wrappings (a raw state_dict, ``{"state_dict": ...}``,
``{"model": ...}``, keys prefixed ``module.`` by DataParallel). `read_state_dict` unwraps them;
`KeyMap` translates official names to ours and back; `load_strict` refuses any mismatch and names the
file and the first mismatching keys.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from benchmark.errors import WeightsError

WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "net", "module")
MAX_LISTED = 8


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_state_dict(path: str | Path, sha256: str | None = None) -> dict:
    """Loads a checkpoint file as a flat ``{name: tensor}`` dict.

    Args:
        path: the checkpoint file.
        sha256: expected hex digest; checked before unpickling when given.

    Raises:
        WeightsError: missing file, wrong sha256, unreadable file, or no tensors inside.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if sha256:
        actual = sha256_file(path)
        if actual.lower() != sha256.lower():
            raise WeightsError(f"{path}: sha256 mismatch: expected {sha256}, file has {actual}")
    try:
        # weights_only=True: checkpoints from the internet are untrusted pickles.
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: cannot be read as a torch checkpoint with weights_only=True "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0][:300]})") from exc
    return _unwrap(obj, path)


def _unwrap(obj, path: Path) -> dict:
    import torch

    while isinstance(obj, Mapping) and not _is_tensor_dict(obj):
        inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            raise WeightsError(f"{path}: no state_dict found; top-level keys: "
                               f"{_preview(obj.keys())} (looked for a tensor dict or one of {WRAPPER_KEYS})")
        obj = inner
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path}: expected a dict of tensors, found {type(obj).__name__}")
    state = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _is_tensor_dict(obj: Mapping) -> bool:
    import torch

    return bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def _preview(keys: Iterable[str], limit: int = MAX_LISTED) -> str:
    keys = list(keys)
    more = f" … (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(map(str, keys[:limit])) + more


@dataclass(frozen=True)
class KeyMap:
    """Ordered regex rules between an official checkpoint's key names and ours.

    Each rule is ``(official_pattern, ours_replacement)``; the first rule whose pattern matches a key
    rewrites it. The inverse direction uses ``inverse`` rules ``(ours_pattern, official_replacement)``
    so a model can be saved in the official layout (tests round-trip through it).
    """

    rules: tuple[tuple[str, str], ...] = ()
    inverse: tuple[tuple[str, str], ...] = ()

    @classmethod
    def prefixes(cls, pairs: Iterable[tuple[str, str]]) -> "KeyMap":
        """A map that renames key prefixes, e.g. ``[("head.", "cls_head.")]``."""
        pairs = list(pairs)
        return cls(tuple((f"^{re.escape(o)}", n) for o, n in pairs),
                   tuple((f"^{re.escape(n)}", o) for o, n in pairs))

    def to_ours(self, key: str) -> str:
        return _apply(self.rules, key)

    def to_official(self, key: str) -> str:
        return _apply(self.inverse, key)

    def owns(self, key: str) -> bool:
        """Whether one of our keys has an official name under this map (some inverse rule matches)."""
        return any(re.search(pattern, key) for pattern, _ in self.inverse)


def _apply(rules: tuple[tuple[str, str], ...], key: str) -> str:
    for pattern, repl in rules:
        new, count = re.subn(pattern, repl, key, count=1)
        if count:
            return new
    return key


@dataclass
class LoadSummary:
    """What a strict load did: how many tensors and which official keys it ignored on purpose."""

    path: str
    loaded: int
    ignored: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"loaded {self.loaded} tensors from {self.path}"
        return text + (f"; ignored {len(self.ignored)} unused keys ({_preview(self.ignored, 3)})"
                       if self.ignored else "")


def load_strict(model, state: dict, origin: str | Path, key_map: KeyMap | None = None,
                ignore: Iterable[str] = ()) -> LoadSummary:
    """Maps official names to ours and loads them, refusing missing/unexpected keys or shapes.

    Args:
        model: the ``torch.nn.Module`` to fill.
        state: official-layout state_dict (from `read_state_dict`).
        origin: the file it came from, named in errors.
        key_map: official → ours renaming; identity when None.
        ignore: regexes of official keys that are known to be unused (reported, not loaded).
    """
    key_map = key_map or KeyMap()
    ignored = [k for k in state if any(re.search(p, k) for p in ignore)]
    mapped = {key_map.to_ours(k): v for k, v in state.items() if k not in set(ignored)}
    expected = model.state_dict()
    problems = _mismatches(expected, mapped, key_map)
    if problems:
        raise WeightsError(f"{origin}: does not match the model ({problems})")
    model.load_state_dict(mapped, strict=True)
    return LoadSummary(str(origin), len(mapped), ignored)


def _mismatches(expected: dict, given: dict, key_map: KeyMap) -> str:
    missing = [key_map.to_official(k) for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    shapes = [f"{key_map.to_official(k)}: file {tuple(given[k].shape)} vs model {tuple(v.shape)}"
              for k, v in expected.items() if k in given and tuple(given[k].shape) != tuple(v.shape)]
    parts = []
    if missing:
        parts.append(f"{len(missing)} keys missing from the file, first: {_preview(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys, first: "
                     f"{_preview(key_map.to_official(k) for k in unexpected)}")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatches, first: {_preview(shapes)}")
    return "; ".join(parts)


def official_state_dict(model, key_map: KeyMap | None = None, only_mapped: bool = False) -> dict:
    """The model's weights renamed into the official checkpoint layout.

    Args:
        only_mapped: keep only the keys that ``key_map`` owns (one file of a multi-file release).
    """
    key_map = key_map or KeyMap()
    return {key_map.to_official(k): v for k, v in model.state_dict().items()
            if not only_mapped or key_map.owns(k)}


def resolve_parts(path, parts: Mapping[str, KeyMap], default_files: Mapping[str, str]) -> dict[str, Path]:
    """The file of each weight part, from ``{part: file}``, ``"part=file,part=file"`` or a folder.

    A folder must hold each part's official file name (``default_files``).

    Raises:
        WeightsError: a part without a file, an unknown part name, or a missing folder entry.
    """
    if isinstance(path, Mapping):
        files = {str(k): Path(v) for k, v in path.items()}
    elif "=" in str(path):
        files = {}
        for item in str(path).split(","):
            name, sep, file = item.partition("=")
            if not sep or not file.strip():
                raise WeightsError(f"weights '{path}': expected 'part=file' items separated by commas, "
                                   f"got '{item}'")
            files[name.strip()] = Path(file.strip())
    elif Path(path).is_dir():
        files = {part: Path(path) / default_files[part] for part in parts if part in default_files}
    else:
        raise WeightsError(f"weights '{path}': this method is released as {len(parts)} files "
                           f"({', '.join(parts)}); give 'part=file,...' or a folder holding "
                           f"{', '.join(default_files.get(p, p) for p in parts)}")
    unknown = sorted(set(files) - set(parts))
    missing = sorted(set(parts) - set(files))
    if unknown or missing:
        raise WeightsError(f"weights '{path}': parts must be exactly {sorted(parts)}; "
                           f"unknown: {unknown or 'none'}, missing: {missing or 'none'}")
    return files


def load_parts(model, states: Mapping[str, dict], files: Mapping[str, Path],
               parts: Mapping[str, KeyMap], ignore: Iterable[str] = ()) -> LoadSummary:
    """Loads several official files into one model, each through its own `KeyMap`, strictly.

    Every model key must belong to exactly one part (the part whose map `KeyMap.owns` it); each
    file must hold exactly its part's keys and shapes.
    """
    expected = model.state_dict()
    owners = {k: [p for p, m in parts.items() if m.owns(k)] for k in expected}
    unowned = [k for k, o in owners.items() if len(o) != 1]
    if unowned:
        raise WeightsError(f"model keys owned by no or several weight parts: {_preview(unowned)}")
    merged, ignored, problems = {}, [], []
    for part, state in states.items():
        key_map = parts[part]
        skip = {k for k in state if any(re.search(p, k) for p in ignore)}
        ignored += sorted(skip)
        mapped = {key_map.to_ours(k): v for k, v in state.items() if k not in skip}
        wanted = {k: v for k, v in expected.items() if owners[k] == [part]}
        text = _mismatches(wanted, mapped, key_map)
        if text:
            problems.append(f"{files[part]} ({part}): {text}")
        merged.update(mapped)
    if problems:
        raise WeightsError("weights do not match the model: " + "; ".join(problems))
    model.load_state_dict(merged, strict=True)
    return LoadSummary(", ".join(f"{p}={f}" for p, f in files.items()), len(merged), ignored)
