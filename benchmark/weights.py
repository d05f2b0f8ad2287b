"""``--weights``: the one parser of weights specifications, and the models runs save.

A spec is one of
- ``FILE``: one checkpoint in the method's official layout;
- ``FOLDER`` or ``part=file,part=file``: the files of a method released as several parts;
- ``RUN_DIR:UNIT`` or ``RUN_DIR``: a model a vbench run trained and saved (``RUN_DIR`` alone when
  the run holds exactly one).

Everything that can be checked before work is checked in `parse_weights`: the files exist, are
readable and not empty, and a stored model's recorded sha256 matches its file. Saved models are
plain state dicts in safetensors (no pickle) with a JSON card beside them, and load strictly.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import WeightsError
from benchmark.io import atomic_write_bytes, atomic_write_json, describe_os_error

MODELS_DIR = "models"
MODEL_SUFFIX = ".safetensors"


@dataclass(frozen=True)
class StoredModel:
    """A model saved by a run: its file and its card (the JSON beside it)."""

    run_dir: Path
    file: Path
    card: dict[str, Any]

    @property
    def unit(self) -> str:
        return str(self.card["unit"])


@dataclass(frozen=True)
class WeightsSpec:
    """A parsed ``--weights`` value.

    Attributes:
        text: as given on the command line.
        kind: ``file``, ``parts`` or ``stored``.
        files: every file it names.
        digest: sha256 of the file (``name:sha256,...`` for parts); part of the run key.
        stored: the stored model, for kind ``stored``.
    """

    text: str
    kind: str
    files: tuple[Path, ...]
    digest: str
    stored: StoredModel | None = None

    def describe(self) -> dict[str, Any]:
        """What run.json records about the weights."""
        out: dict[str, Any] = {"spec": self.text, "kind": self.kind, "sha256": self.digest,
                               "files": [str(f) for f in self.files]}
        if self.stored is not None:
            out.update(run_dir=str(self.stored.run_dir), unit=self.stored.unit,
                       trained_by=self.stored.card.get("run_id"),
                       trained_on=self.stored.card.get("data_hash"))
        return out

    def load_into(self, detector) -> str:
        """Loads the weights into ``detector`` strictly; returns a one-line summary."""
        if self.kind == "stored":
            return load_stored(detector, self.stored)
        if self.kind == "file":
            return str(detector.load_weights(self.files[0], sha256=self.digest))
        return str(detector.load_weights(self.text))


def _check_file(path: Path) -> Path:
    if not path.exists():
        raise WeightsError(f"weights file not found: {path}")
    if not path.is_file():
        raise WeightsError(f"weights path is not a file: {path}")
    try:
        with open(path, "rb") as handle:
            empty = not handle.read(1)
    except OSError as exc:
        raise WeightsError(describe_os_error(exc, "read weights file", path)) from None
    if empty:
        raise WeightsError(f"weights file is empty (0 bytes): {path}")
    return path


def _digest(files: list[Path], single: bool) -> str:
    from benchmark.checkpoint import sha256_file

    if single:
        return sha256_file(files[0])
    return ",".join(f"{f.name}:{sha256_file(f)}" for f in files)


def parse_weights(text: str) -> WeightsSpec:
    """Parses and checks a ``--weights`` value (see the module docstring).

    Raises:
        WeightsError: a missing, unreadable or empty file; an unknown unit of a stored run; a
            stored model whose file does not match its card.
    """
    stored = _stored_spec(text)
    if stored is not None:
        return WeightsSpec(text, "stored", (stored.file,), str(stored.card["sha256"]), stored)
    path = Path(text)
    if path.is_file() or (path.exists() and not path.is_dir()):
        return WeightsSpec(text, "file", (_check_file(path),), _digest([path], True))
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise WeightsError(f"weights folder holds no files: {path}")
    elif "=" in text:
        files = [Path(item.partition("=")[2].strip()) for item in text.split(",")]
    else:
        raise WeightsError(f"weights file not found: {text}")
    for f in files:
        _check_file(f)
    return WeightsSpec(text, "parts", tuple(files), _digest(files, False))


def _stored_spec(text: str) -> StoredModel | None:
    """``RUN_DIR:UNIT`` or ``RUN_DIR`` of a run that saved models, else None; the run must be a
    complete one (`benchmark.stored_run.read_info`)."""
    from benchmark.stored_run import read_info

    candidates = [(text, None)] + [(text[:i], text[i + 1:]) for i, c in enumerate(text) if c == ":"]
    for run_dir, unit in candidates:
        folder = Path(run_dir)
        if folder.is_dir() and (folder / MODELS_DIR).is_dir() and (folder / "run.json").is_file():
            read_info(folder)
            return _pick(folder, unit)
    return None


def stored_models(run_dir: str | Path) -> dict[str, StoredModel]:
    """Unit name → stored model of a run directory (from the cards in ``models/``)."""
    models = {}
    for card_path in sorted((Path(run_dir) / MODELS_DIR).glob("*.json")):
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{card_path}: unreadable model card ({exc})") from None
        models[str(card.get("unit"))] = StoredModel(Path(run_dir), card_path.with_suffix(MODEL_SUFFIX),
                                                    card)
    return models


def _pick(run_dir: Path, unit: str | None) -> StoredModel:
    from benchmark.checkpoint import sha256_file
    from benchmark.errors import UnknownKeyError

    models = stored_models(run_dir)
    if not models:
        raise WeightsError(f"{run_dir}: the run saved no models (evaluation-only runs save none)")
    if unit is None:
        if len(models) > 1:
            listed = ", ".join(f"{run_dir}:{name}" for name in models)
            raise WeightsError(f"{run_dir} holds {len(models)} models; name one: {listed}")
        unit = next(iter(models))
    if unit not in models:
        raise UnknownKeyError(f"unit of {run_dir}", unit, models)
    model = models[unit]
    _check_file(model.file)
    actual = sha256_file(model.file)
    if actual != model.card.get("sha256"):
        raise WeightsError(f"{model.file}: sha256 {actual} does not match its card "
                           f"({model.card.get('sha256')}); the file was changed after the run")
    return model


def save_model(run_dir: Path, stem: str, model, card: dict[str, Any]) -> dict[str, Any]:
    """Saves ``model``'s state dict as ``models/<stem>.safetensors`` with its card; returns the card.

    The card gets the file's sha256 and size; it is written after the weights, so a card always
    describes a complete file.
    """
    import hashlib

    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    data = save(state)
    path = Path(run_dir) / MODELS_DIR / f"{stem}{MODEL_SUFFIX}"
    atomic_write_bytes(path, data)
    card = {**card, "file": path.name, "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data), "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "format": "safetensors state_dict (vbench key names)"}
    atomic_write_json(path.with_suffix(".json"), card)
    return card


def check_compatible(stored: StoredModel, method: str, config: str) -> None:
    """A stored model loads only into the method and config that trained it."""
    trained = (stored.card.get("method"), stored.card.get("config"))
    if trained != (method, config):
        raise WeightsError(f"{stored.file}: this model was trained as {trained[0]}/{trained[1]}; "
                           f"evaluate it with --method {trained[0]} --config {trained[1]} "
                           f"(got {method}/{config})")


def load_stored(detector, stored: StoredModel) -> str:
    """Loads a stored model strictly (same keys and shapes, our key names)."""
    from safetensors.torch import load_file

    from benchmark.checkpoint import load_strict

    check_compatible(stored, detector.config.get("method"), detector.config.get("name"))
    try:
        state = load_file(str(stored.file))
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise WeightsError(f"{stored.file}: not a readable safetensors file ({exc})") from None
    summary = load_strict(detector.model, state, stored.file)
    return f"{summary} (stored model of unit {stored.unit!r}, config {stored.card.get('config')})"
