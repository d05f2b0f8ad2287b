"""The closed config schema of LVDM (``configs/{mini,paper}.yaml``).

Unknown keys and wrongly typed values are refused in the file and in ``--cfg-options`` with the
messages of `benchmark.config`.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import Field

from benchmark.config import Section


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
