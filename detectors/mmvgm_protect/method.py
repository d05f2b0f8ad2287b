"""MMVGM misuse prevention as a vbench defence: a target plugin plus protection settings.

Built from ``configs/{mini,paper}.yaml`` (see the README card)::

    defence = build_defence("mmvgm_protect", "mini")
    target = defence.target()                        # the image-to-video model attacked
    result = defence.protect(images, "directed", target_images)
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

from benchmark.defence import ImageProtection
from benchmark.errors import DefenceConfigError
from detectors.mmvgm_protect.config import MMVGMProtectConfig
from detectors.mmvgm_protect.protect import ProtectConfig, ProtectResult, protect, random_sign_noise

MODES = ("directed", "undirected")
BUDGET_KEYS = ("eps", "step_size")


def parse_budget(value: Any, name: str) -> float:
    """A budget given as a number or a fraction string (``"4/255"``, as papers write it)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(Fraction(str(value).replace(" ", "")))
    except (ValueError, ZeroDivisionError) as exc:
        raise DefenceConfigError(f"protect.{name}: expected a number or a fraction like '4/255', "
                                 f"got {value!r}") from exc


class MMVGMProtect(ImageProtection):
    """VGMShield's directed/undirected protection against a configured image-to-video target.

    Args:
        config: ``target`` / ``transfer_target`` (``name`` + ``options`` of a
            `benchmark.generation.targets` plugin), ``protect`` (modes and `ProtectConfig` fields;
            ``eps``/``step_size`` may be fractions), ``images`` (the embedded default's images).
    """

    config_schema = MMVGMProtectConfig

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self._targets: dict[str, Any] = {}
        modes = self.config.get("protect", {}).get("modes", list(MODES))
        bad = [m for m in modes if m not in MODES]
        if bad:
            raise DefenceConfigError(f"mmvgm_protect protect.modes: unknown {bad}; known {MODES}")
        self.modes = list(modes)
        self.setting(self.modes[0])  # validates the budget now, before any work

    def setting(self, mode: str, **overrides: Any) -> ProtectConfig:
        """The `ProtectConfig` of ``mode`` (``directed``/``undirected``), fields overridable."""
        if mode not in MODES:
            raise DefenceConfigError(f"mmvgm_protect: mode '{mode}' is not one of {MODES}")
        fields = {k: v for k, v in self.config.get("protect", {}).items() if k != "modes"}
        fields.update(overrides)
        for key in BUDGET_KEYS:
            if key in fields:
                fields[key] = parse_budget(fields[key], key)
        try:
            return ProtectConfig(directed=mode == "directed", **fields)
        except TypeError as exc:
            raise DefenceConfigError(f"mmvgm_protect protect: {exc}") from exc

    def _load(self, key: str):
        from benchmark.generation.targets import load_target

        if key not in self._targets:
            spec = self.config.get(key)
            if not spec:
                raise DefenceConfigError(f"mmvgm_protect config has no '{key}'")
            self._targets[key] = load_target(spec["name"], **spec.get("options", {}))
        return self._targets[key]

    def target(self):
        """The target the protection is computed on."""
        return self._load("target")

    def transfer_target(self):
        """Another target (not attacked) to test transfer on, or None when none is configured."""
        return self._load("transfer_target") if self.config.get("transfer_target") else None

    def protect(self, images, mode: str, target_images=None, **overrides: Any) -> ProtectResult:
        """Protects a prepared batch ``[N, 3, H, W]`` (see `protect.protect`)."""
        return protect(self.target(), images, self.setting(mode, **overrides), target_images)

    def evaluation_images(self) -> tuple[int, str]:
        images = self.config["images"]
        return images["count"], images["target_photo"]

    def perceptual_name(self) -> str:
        return self.setting("directed").perceptual

    def check_budget(self, eps: Any) -> None:
        self.setting(self.modes[0], eps=eps)

    def protected(self, images, references, mode: str, eps: Any, steps: int = 0, seed: int = 0):
        """One setting's protected images and record (``random``: the random-sign control)."""
        overrides = {"eps": eps, **({"steps": steps} if steps else {})}
        if mode == "random":
            cfg = self.setting(self.modes[0], **overrides)
            noisy = random_sign_noise(images, cfg.eps01, seed)
            return noisy, {"config": {**cfg.record(), "mode": "random"}, "perceptual": None}
        cfg = self.setting(mode, **overrides)
        refs = references if cfg.directed else None
        result = protect(self.target(), images, cfg, refs, log_every=max(cfg.steps // 10, 1))
        return result.images, {**result.record, "history": result.history}

    def record(self) -> dict[str, Any]:
        return {"config": self.config, "modes": self.modes}

