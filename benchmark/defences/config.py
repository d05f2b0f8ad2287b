"""Closed, typed configs of the defences (``kind: defence`` in registry.yaml).

Each defence class names its schema (``config_schema``, a `benchmark.config.Section`); unknown keys
and wrongly typed values are refused in the file and in ``--cfg-options`` with the messages of
`benchmark.config`.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import Field, ValidationError

from benchmark.config import Section, apply_overrides
from benchmark.errors import ConfigError

Budget = Union[float, str]  # a number or a fraction such as "4/255"


class TargetSection(Section):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class ProtectSection(Section):
    modes: list[Literal["directed", "undirected"]] = Field(default_factory=lambda: ["directed",
                                                                                    "undirected"])
    eps: Budget = "4/255"
    eps_space: Literal["0,1", "-1,1"] = "0,1"
    steps: int = Field(1000, ge=0)
    step_size: Budget = "1/255"
    seed: int = 23
    perceptual: Literal["auto", "lpips", "fallback"] = "auto"
    lpips_net: Literal["vgg", "alex"] = "vgg"
    undirected_perceptual: Literal["ascend", "descend"] = "ascend"
    quantize: bool = True


class ImagesSection(Section):
    count: int = Field(8, ge=1)
    target_photo: str = "moon"


class MMVGMProtectConfig(Section):
    name: str
    method: str
    target: TargetSection
    transfer_target: Optional[TargetSection] = None
    protect: ProtectSection = Field(default_factory=ProtectSection)
    images: ImagesSection = Field(default_factory=ImagesSection)


class LVDMData(Section):
    source: Literal["embedded", "upstream"]
    embedded: dict[str, Any] = Field(default_factory=dict)  # detectors.lvdm.data.EmbeddedSpec
    steps: int = Field(50, ge=1)
    categories: dict[str, str] = Field(default_factory=dict)
    normal: Optional[str] = None


class LVDMDetector(Section):
    method: str = "mmvgm_mae"
    config: str = "mini"
    overrides: dict[str, Any] = Field(default_factory=dict)


class LVDMSweep(Section):
    etas: list[int]
    lambdas: list[float]


class LVDMRule(Section):
    eta: int = Field(ge=1)
    # JSON mode reads YAML's 0.6 fine; "lambda" is a Python keyword, hence the alias
    lam: float = Field(alias="lambda", gt=0, le=1)
    threshold: Union[float, Literal["val"]] = 0.5
    balance: bool = True
    sweep: LVDMSweep


class LVDMConfig(Section):
    name: str
    method: str
    seed: int = 0
    data: LVDMData
    detector: LVDMDetector = Field(default_factory=LVDMDetector)
    rule: LVDMRule


def load_defence_config(entry, name: str, path: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Loads and validates one defence config (plus ``--cfg-options`` overrides) as a plain dict."""
    from benchmark.config import _describe
    from benchmark.registry import load_yaml

    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config must be a mapping")
    raw.setdefault("name", name)
    raw.setdefault("method", entry.key)
    schema = getattr(entry.load_class(), "config_schema", None)
    if schema is None:
        raise ConfigError(f"{entry.entry_point} declares no config_schema")
    origin = str(path)
    if overrides:
        raw = apply_overrides(copy.deepcopy(raw), overrides)
        origin = "--cfg-options " + " ".join(f"{k}={v}" for k, v in overrides.items())
    try:
        config = schema.model_validate_json(json.dumps(raw, default=str))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, schema, raw, origin)) from None
    return config.model_dump(by_alias=True)
