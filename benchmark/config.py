"""Closed, typed detector configs: every key is known, every value has its type.

A detector config (``detectors/<m>/configs/<name>.yaml``) is validated against its detector's
``config_schema`` (a `DetectorConfig` subclass) when it is loaded and again after ``--cfg-options``
overrides. Unknown keys are refused with the file (or the command-line option), the key, close
matches and the known keys; a value of the wrong type names the key and the expected type.

The ``model`` section is mmaction2's: every mapping in it with a ``type`` is checked against the
keyword arguments of the registered class it builds (following ``**kwargs`` to the base classes),
so ``model.backbone.widht`` is refused here rather than as a traceback inside mmaction2.
"""
from __future__ import annotations

import copy
import difflib
import inspect
import json
import re
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benchmark.data.augment import build_augmentation
from benchmark.errors import ConfigError, DataError, UnknownKeyError, unknown_key_message
from benchmark.registry import load_yaml

_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)$")  # 1e-4, which YAML 1.1 reads as text


class Section(BaseModel):
    """A closed config section: unknown keys and loosely typed values are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)


class ScoreConfig(Section):
    """How logits become P(generated): ``softmax`` (column ``fake_index``) or ``sigmoid``."""

    type: Literal["softmax", "sigmoid"] = "softmax"
    fake_index: int = Field(1, ge=0)


class TrainConfig(Section):
    """Training schedule (`benchmark.training`); the checkpoint kept is the best on validation."""

    epochs: int = Field(5, ge=1)
    batch_size: int = Field(8, ge=1)
    optimizer: dict[str, Any] = Field(
        default_factory=lambda: {"type": "AdamW", "lr": 5e-4, "weight_decay": 0.05})
    scheduler: Literal["cosine", "linear", "none"] = "cosine"
    warmup_ratio: float = Field(0.1, ge=0.0, lt=1.0)
    grad_clip: Optional[float] = Field(1.0, gt=0.0)
    balance: bool = True  # each epoch: every video of the smaller class, as many of the larger
    # clip-consistent augmentations (benchmark.data.augment), applied to training clips only
    augmentation: list[dict[str, Any]] = Field(default_factory=list)


class EvalConfig(Section):
    batch_size: int = Field(8, ge=1)


class DetectorConfig(Section):
    """The sections every detector config has; detectors extend it with their own sections."""

    name: str
    method: str
    model: dict[str, Any]
    input: dict[str, Any]
    score: ScoreConfig = Field(default_factory=ScoreConfig)
    aggregation: Literal["mean", "max", "median"] = "mean"
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)


def load_method_config(entry, name: str, path: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Loads, completes and validates one config of a registry entry; returns a plain dict.

    Args:
        entry: the `benchmark.registry.MethodEntry`.
        name: the config name (``mini``, ``paper``).
        path: its YAML file.
        overrides: dotted keys → values (``--cfg-options``), applied after the file is validated.
    """
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("model"), dict):
        raise ConfigError(f"{path}: a config needs a 'model' mapping")
    raw["input"] = {**copy.deepcopy(entry.input), **(raw.get("input") or {})}
    raw.setdefault("name", name)
    raw.setdefault("method", entry.key)
    cls = entry.load_class()
    schema = getattr(cls, "config_schema", DetectorConfig)
    config = validate_config(schema, raw, str(path))
    origin = str(path)
    if overrides:
        changed = apply_overrides(copy.deepcopy(raw), overrides)
        origin = "--cfg-options " + " ".join(f"{k}={v}" for k, v in overrides.items())
        config = validate_config(schema, changed, origin)
    if config["train"]["augmentation"] and not getattr(cls, "supports_augmentation", True):
        raise ConfigError(f"config error in {origin}: train.augmentation is not supported by "
                          f"{cls.__name__}'s clip reader; remove it")
    return config


def apply_overrides(config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Sets dotted keys in a raw config; missing sections are created (validation judges them)."""
    for dotted, value in overrides.items():
        node, path = config, dotted.split(".")
        for depth, part in enumerate(path[:-1]):
            if not isinstance(node.get(part, {}), dict):
                where = ".".join(path[: depth + 1])
                raise ConfigError(f"--cfg-options {dotted}: '{where}' is a value "
                                  f"({node[part]!r}), not a section")
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return config


def parse_value(text: str) -> Any:
    """A ``--cfg-options`` value: a YAML scalar or list, with ``1e-4`` read as a number."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--cfg-options: cannot parse value {text!r} ({exc})") from None
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    return value


def validate_config(schema: type[DetectorConfig], raw: dict[str, Any], origin: str) -> dict:
    """Validates ``raw`` against ``schema`` and the sections it leaves open; returns a plain dict."""
    try:  # JSON mode: strict about types, but YAML lists may fill tuple fields
        config = schema.model_validate_json(json.dumps(raw, default=str))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, schema, raw, origin)) from None
    out = config.model_dump()
    _check_input(out, origin)
    _check_optimizer(out["train"]["optimizer"], origin)
    _check_augmentation(out["train"]["augmentation"], origin)
    check_model_section(out["model"], "model", origin)
    return out


# ----------------------------------------------------------------------------- messages
def describe_validation_error(exc: ValidationError, schema: type[BaseModel], raw: dict,
                              origin: str) -> str:
    """The first validation error as one line: the key, where it came from, what was expected."""
    error = exc.errors()[0]
    loc = [str(p) for p in error["loc"]]
    key = ".".join(loc)
    more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
    if error["type"] == "extra_forbidden":
        known = _fields_at(schema, loc[:-1])
        return unknown_key(origin, key, loc[-1], known) + more
    if error["type"] == "missing":
        return f"config error in {origin}: required key '{key}' is missing{more}"
    expected = error["msg"].replace("Input should be", "expected").replace("Value error, ", "")
    got = error.get("input")
    return (f"config error in {origin}: '{key}' {expected}, got {got!r} "
            f"({type(got).__name__}){more}")


def unknown_key(origin: str, key: str, leaf: str, known: list[str]) -> str:
    close = difflib.get_close_matches(leaf, known, n=3, cutoff=0.5)
    prefix = key[: -len(leaf)]
    hint = f" Did you mean: {', '.join(prefix + c for c in close)}?" if close else ""
    section = f"'{prefix[:-1]}'" if prefix else "the top level"
    return (f"config error in {origin}: unknown key '{key}'.{hint} "
            f"Known keys of {section}: {', '.join(sorted(known)) or '(none)'}")


def _fields_at(schema: type[BaseModel], loc: list[str]) -> list[str]:
    model: Any = schema
    for part in loc:
        field = model.model_fields.get(part) if isinstance(model, type) else None
        model = getattr(field, "annotation", None)
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


# ----------------------------------------------------------------------------- open sections
def _check_input(config: dict, origin: str) -> None:
    from benchmark.data.spec import InputSpec

    try:
        InputSpec.from_dict(config["input"], origin=f"config error in {origin}")
    except UnknownKeyError as exc:
        if exc.kind.startswith("input field"):
            raise ConfigError(unknown_key(origin, f"input.{exc.key}", exc.key, exc.known)) from None
        kind = exc.kind.split(" in ")[0]  # from_dict adds the origin to the kind
        raise ConfigError(f"config error in {origin}: input: "
                          f"{unknown_key_message(kind, exc.key, exc.known)}") from None
    except DataError as exc:
        raise ConfigError(str(exc)) from None


def _check_optimizer(optimizer: dict[str, Any], origin: str) -> None:
    """``{type: AdamW, lr: ...}``: a torch optimizer and keyword arguments it takes, typed."""
    import torch

    name = optimizer.get("type")
    cls = getattr(torch.optim, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        known = [n for n, c in vars(torch.optim).items()
                 if isinstance(c, type) and issubclass(c, torch.optim.Optimizer) and c is not torch.optim.Optimizer]
        raise ConfigError(f"config error in {origin}: 'train.optimizer.type' "
                          f"{UnknownKeyError('optimizer', str(name), known)}")
    params = inspect.signature(cls.__init__).parameters
    for key, value in optimizer.items():
        if key == "type":
            continue
        if key not in params or key in ("self", "params"):
            known = [p for p in params if p not in ("self", "params")]
            raise ConfigError(unknown_key(origin, f"train.optimizer.{key}", key, known))
        _check_like_default(f"train.optimizer.{key}", value, params[key].default, origin)


def _check_like_default(key: str, value: Any, default: Any, origin: str) -> None:
    """A value must have the type of the parameter's default (numbers for numbers, ...)."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if isinstance(default, bool):
        ok, what = isinstance(value, bool), "true or false"
    elif isinstance(default, (int, float)):
        ok, what = number(value), "a number"
    elif isinstance(default, tuple):
        ok = isinstance(value, (list, tuple)) and len(value) == len(default) and all(map(number, value))
        what = f"a list of {len(default)} numbers"
    else:
        return
    if not ok:
        raise ConfigError(f"config error in {origin}: '{key}' expects {what}, got {value!r} "
                          f"({type(value).__name__})")


def _check_augmentation(steps: list[dict[str, Any]], origin: str) -> None:
    build_augmentation(steps, origin=f"{origin}: train.augmentation")


def check_model_section(node: Any, key: str, origin: str) -> None:
    """Every ``{type: X, ...}`` mapping under ``model`` uses only the arguments class X takes."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            check_model_section(item, f"{key}[{i}]", origin)
        return
    if not isinstance(node, dict):
        return
    if "type" in node and isinstance(node["type"], str):
        params = _init_params(node["type"], key, origin)
        for name in node:
            if params is not None and name != "type" and name not in params:
                raise ConfigError(unknown_key(origin, f"{key}.{name}", name, sorted(params)))
    for name, value in node.items():
        check_model_section(value, f"{key}.{name}", origin)


def _init_params(type_name: str, key: str, origin: str) -> set[str] | None:
    """Keyword arguments a registered model class accepts (None: it takes anything)."""
    from benchmark.compat import mmaction_models

    models = mmaction_models()
    cls = models.get(type_name)
    if cls is None:
        names, registry = set(), models
        while registry is not None:
            names |= set(registry.module_dict)
            registry = registry.parent
        raise ConfigError(f"config error in {origin}: '{key}.type': "
                          f"{UnknownKeyError('model class', type_name, names)}")
    params: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        signature = inspect.signature(vars(klass)["__init__"])
        params |= {p for p in signature.parameters if p != "self"}
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            return {p for p in params if p not in ("args", "kwargs")}
    return None
