"""MMVGM (VGMShield) misuse prevention: PGD protection of an image against an image-to-video model.

As upstream's ``misuse_prevention.py`` (see ../README.md for the differences):

* loss per image = perceptual(x, x0) + (1 - cos(embed(x), embed(t))) + (1 - cos(latent(x + n),
  latent(t + n_t))), with n, n_t = ``noise_aug`` * N(0, 1) in [-1, 1] space (SVD's conditioning
  noise augmentation); a fresh n every step, n_t drawn once;
* directed: t = a target image, sign-gradient DEScent; undirected: t = the original image itself,
  sign-gradient AScent of the same loss (perceptual term included, as upstream; see
  `ProtectConfig.undirected_perceptual`);
* after each step the perturbation is clipped to the L∞ ball and the image to the valid range.

Images are float ``[N, 3, H, W]`` in [0, 1]. The budget's space is explicit: ``eps_space="0,1"``
(default) means `eps` is measured on [0, 1] pixels; ``"-1,1"`` means it is measured on [-1, 1]
pixels as upstream clamps them, i.e. half as large on [0, 1] (upstream's 4/255 is 2/255 here).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from benchmark.errors import DefenceConfigError, ImageInputError

EPS_SPACES = ("0,1", "-1,1")
UNDIRECTED_PERCEPTUAL = ("ascend", "descend")


@dataclass(frozen=True)
class ProtectConfig:
    """One protection setting (all fields are recorded with its results).

    Attributes:
        directed: towards a target image (True) or away from the original (False).
        eps: L∞ budget, in (0, 1], measured in `eps_space`.
        eps_space: ``"0,1"`` or ``"-1,1"`` (see the module docstring).
        steps: PGD iterations (upstream default 1000).
        step_size: sign-gradient step, measured in `eps_space` (upstream 1/255 in [-1, 1]).
        seed: seeds the noise augmentation draws (upstream 23).
        perceptual: ``auto``, ``lpips`` or ``fallback`` (`benchmark.defences.perceptual`).
        lpips_net: LPIPS backbone (upstream: vgg).
        undirected_perceptual: ``ascend`` (upstream: the whole loss is ascended, so the perceptual
            distance is pushed up too) or ``descend`` (kept low while the embeddings move away).
        quantize: round the result to the uint8 grid (a saved image), staying inside the budget.
    """

    directed: bool = True
    eps: float = 4 / 255
    eps_space: str = "0,1"
    steps: int = 1000
    step_size: float = 1 / 255
    seed: int = 23
    perceptual: str = "auto"
    lpips_net: str = "vgg"
    undirected_perceptual: str = "ascend"
    quantize: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.eps, (int, float)) or not 0 < self.eps <= 1:
            raise DefenceConfigError(f"protection eps: expected a budget in (0, 1] (in {self.eps_space} "
                                     f"pixel space), got {self.eps!r}")
        if self.eps_space not in EPS_SPACES:
            raise DefenceConfigError(f"protection eps_space: expected one of {EPS_SPACES}, got "
                                     f"{self.eps_space!r}")
        if not isinstance(self.steps, int) or self.steps < 0:
            raise DefenceConfigError(f"protection steps: expected an int >= 0, got {self.steps!r}")
        if not isinstance(self.step_size, (int, float)) or not 0 < self.step_size <= 1:
            raise DefenceConfigError(f"protection step_size: expected a value in (0, 1], got "
                                     f"{self.step_size!r}")
        if self.undirected_perceptual not in UNDIRECTED_PERCEPTUAL:
            raise DefenceConfigError(f"protection undirected_perceptual: expected one of "
                                     f"{UNDIRECTED_PERCEPTUAL}, got {self.undirected_perceptual!r}")

    @property
    def scale(self) -> float:
        """Factor from `eps_space` lengths to [0, 1] lengths."""
        return 1.0 if self.eps_space == "0,1" else 0.5

    @property
    def eps01(self) -> float:
        return self.eps * self.scale

    @property
    def step01(self) -> float:
        return self.step_size * self.scale

    def record(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "eps_01": self.eps01, "step_size_01": self.step01,
                "mode": "directed" if self.directed else "undirected"}


@dataclass
class ProtectResult:
    """Protected images ``[N, 3, H, W]``, what was done (`record`) and the loss over the steps."""

    images: torch.Tensor
    record: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


def check_batch(images: torch.Tensor, name: str) -> None:
    """Refuses anything but float ``[N, 3, H, W]`` in [0, 1]."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ImageInputError(f"{name}: expected a float tensor [N, 3, H, W] (RGB), got {shape}")
    if not images.is_floating_point() or images.min() < 0 or images.max() > 1:
        raise ImageInputError(f"{name}: expected float pixels in [0, 1]")


def _cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 1 - F.cosine_similarity(a.flatten(1), b.flatten(1), dim=1)  # [N]


class _Loss:
    """The three terms of the protection loss against fixed references (per image ``[N]``)."""

    def __init__(self, target, originals, references, perceptual, generator):
        self.target, self.x0, self.perceptual, self.generator = target, originals, perceptual, generator
        with torch.no_grad():
            self.ref_embed = target.embed(references)
            self.ref_latent = target.conditioning_latent(references, generator)  # n_t drawn once

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"perceptual": self.perceptual(x, self.x0).abs(),
                "embed": _cosine_distance(self.target.embed(x), self.ref_embed),
                "latent": _cosine_distance(self.target.conditioning_latent(x, self.generator),
                                           self.ref_latent)}


def _objective(terms: dict[str, torch.Tensor], config: ProtectConfig) -> torch.Tensor:
    """The quantity whose sign-gradient is followed: descended (directed) or ascended."""
    perceptual = terms["perceptual"]
    if not config.directed and config.undirected_perceptual == "descend":
        perceptual = -perceptual  # ascending -d keeps d low
    return (perceptual + terms["embed"] + terms["latent"]).sum()


def project(x: torch.Tensor, x0: torch.Tensor, eps: float) -> torch.Tensor:
    """Clips ``x`` to the L∞ ball of radius ``eps`` around ``x0`` and to [0, 1]."""
    return (x0 + (x - x0).clamp(-eps, eps)).clamp(0, 1)


def quantize_within(x: torch.Tensor, x0: torch.Tensor, eps: float) -> torch.Tensor:
    """Rounds to the uint8 grid; a pixel that rounding pushed past the budget steps back one level
    (for an ``x0`` on the grid the result stays inside the ball)."""
    q = (x * 255).round() / 255
    q = torch.where(q - x0 > eps + 1e-7, q - 1 / 255, q)
    q = torch.where(x0 - q > eps + 1e-7, q + 1 / 255, q)
    return q.clamp(0, 1)


def protect(target, images: torch.Tensor, config: ProtectConfig, target_images: torch.Tensor | None = None,
            perceptual=None, log_every: int = 0) -> ProtectResult:
    """Runs MMVGM's PGD protection.

    Args:
        target: an `benchmark.generation.targets.I2VTarget`.
        images: float ``[N, 3, H, W]`` in [0, 1], at the target's size.
        config: the setting.
        target_images: directed only: ``[N, 3, H, W]`` in [0, 1], same size as `images`.
        perceptual: a `benchmark.defences.perceptual.Perceptual` (built from the config if None).
        log_every: record the mean loss terms every this many steps (0: first and last only).

    Returns:
        The protected images, the record (config, perceptual term, target, budget used) and the
        loss history.
    """
    from benchmark.defences.perceptual import build_perceptual

    check_batch(images, "images to protect")
    if config.directed:
        if target_images is None:
            raise DefenceConfigError("directed protection needs target_images")
        check_batch(target_images, "target images")
        if target_images.shape != images.shape:
            raise ImageInputError(f"target images {tuple(target_images.shape)} differ from the images "
                                  f"{tuple(images.shape)}; resize them first (images.match_size)")
    perceptual = perceptual or build_perceptual(config.perceptual, config.lpips_net)
    generator = torch.Generator().manual_seed(config.seed)
    x0 = images.detach()
    loss = _Loss(target, x0, target_images if config.directed else x0, perceptual, generator)
    direction = -1.0 if config.directed else 1.0
    x, history = x0.clone(), []
    for step in range(config.steps):
        x.requires_grad_(True)
        terms = loss(x)
        grad, = torch.autograd.grad(_objective(terms, config), x)
        if _should_log(step, config.steps, log_every):
            history.append({"step": step, **{k: float(v.detach().mean()) for k, v in terms.items()}})
        x = project(x.detach() + direction * config.step01 * grad.sign(), x0, config.eps01)
    if config.quantize:
        x = quantize_within(x, x0, config.eps01)
    return ProtectResult(x.detach(), _record(config, perceptual, target, x, x0), history)


def _should_log(step: int, steps: int, every: int) -> bool:
    return step == 0 or step == steps - 1 or (every > 0 and step % every == 0)


def _record(config: ProtectConfig, perceptual, target, x: torch.Tensor, x0: torch.Tensor) -> dict:
    delta = (x - x0).flatten(1)
    return {"config": config.record(), "perceptual": perceptual.name, "perceptual_note": perceptual.note,
            "target": target.describe(), "linf_used_max": float(delta.abs().max()),
            "l2_used_mean": float(delta.norm(dim=1).mean())}


def random_sign_noise(images: torch.Tensor, eps01: float, seed: int = 0) -> torch.Tensor:
    """The control: ±eps01 on every pixel with random signs (the largest random L∞ perturbation),
    clipped to [0, 1] and rounded to the grid within the budget."""
    generator = torch.Generator().manual_seed(seed)
    signs = torch.randint(0, 2, images.shape, generator=generator).to(images) * 2 - 1
    noisy = project(images + eps01 * signs, images, eps01)
    return quantize_within(noisy, images, eps01)


def protect_images(target, images: Sequence[Any], config: ProtectConfig, target_image: Any = None,
                   names: Sequence[str] | None = None, **kwargs: Any) -> ProtectResult:
    """Protects user images (numpy ``[H, W, 3]`` / PIL), checked and fitted to the target's size.

    A target image of another size is resized to the images' size (recorded as
    ``target_resized``). See `benchmark.defences.images` for the size policy and errors.
    """
    from benchmark.defences.images import match_size, prepare_images, rgb_array, to_tensor

    batch = prepare_images(images, target.size_rule, names)
    references, resized = None, False
    if config.directed:
        if target_image is None:
            raise DefenceConfigError("directed protection needs a target image")
        references, resized = match_size(to_tensor(rgb_array(target_image, "target image"))[None], batch)
    result = protect(target, batch, config, references, **kwargs)
    result.record["target_resized"] = resized
    return result

