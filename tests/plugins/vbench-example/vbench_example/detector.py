"""`ExampleDiffDetector`: vbench's detector interface over an mmaction2 ``Recognizer3D``
(``mmaction.ActionDataPreprocessor`` → `FrameDiff3D` → `PooledLinearHead`).

There are no official weights: ``--weights`` takes a state dict under the model's own names (what
`official_state_dict` writes), so the key map is the identity.
"""
from __future__ import annotations

from typing import Any, ClassVar

from benchmark.api import ConfigError, Detector, KeyMap

from vbench_example import backbone as _backbone  # noqa: F401  registers FrameDiff3D
from vbench_example import head as _head  # noqa: F401  registers PooledLinearHead


class ExampleDiffDetector(Detector):
    """P(generated) = softmax(logits)[:, 1].

    Args:
        config: see `benchmark.api.Detector`; ``cls_head.in_channels`` must be the backbone's last
            stage width.
    """

    key_map: ClassVar[KeyMap] = KeyMap()

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        width, head = self.model.backbone.out_channels, self.model.cls_head.in_channels
        if head != width:
            raise ConfigError(f"config {config.get('method')}/{config.get('name')}: "
                              f"cls_head.in_channels is {head} but the FrameDiff3D backbone "
                              f"outputs {width} channels (its last channels entry)")
        if self.spec.frames < 2:
            raise ConfigError(f"config {config.get('method')}/{config.get('name')}: "
                              f"input.frames is {self.spec.frames}; frame differences need 2 or more")
