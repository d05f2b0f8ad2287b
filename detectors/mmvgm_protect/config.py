"""The closed config schema of MMVGM's protection (``configs/{mini,paper}.yaml``).

Unknown keys and wrongly typed values are refused in the file and in ``--cfg-options`` with the
messages of `benchmark.config`.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import Field

from benchmark.config import Section

Budget = Union[float, str]  # a number or a fraction such as "4/255"


class TargetSection(Section):
    """An image-to-video target: a `benchmark.generation.targets` plugin and its options."""

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
