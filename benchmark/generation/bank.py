"""A small prompt-conditioned video diffusion pipeline in diffusers, for the embedded LVDM default.

The denoiser is the exact minimum-error denoiser of a finite set of clips (the "bank": camera clips
rendered from the vbench-mini photographs): for a noisy sample x_t = sqrt(a) x0 + sqrt(1 - a) e,

    E[x0 | x_t, prompt] = sum_i w_i x_i,   w_i ∝ prior_i(prompt) · exp(-|x_t - sqrt(a) x_i|² / 2(1 - a)),

which is what a diffusion model trained to convergence on the bank would predict. It needs no
training, runs on a CPU in milliseconds, and behaves like a real sampler: early x̂0 are blends of
many clips (blurry, the prompt's content dominating), late ones one clip. A prompt is a photograph;
``prompt_strength`` of the prior mass sits on that photograph's clips and the rest on all others,
so a prompt sometimes ends in another photograph's content (what the video finally shows is its
label, as human labels of the finished video are in LVDM).

`BankVideoPipeline` is a regular ``DiffusionPipeline`` (any diffusers scheduler with
``pred_original_sample``; DDIM by default) whose ``__call__`` supports ``callback_on_step_end``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from diffusers import ConfigMixin, DiffusionPipeline, ModelMixin
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput


class BankDenoiser(ModelMixin, ConfigMixin):
    """Exact denoiser of a clip bank, predicting the noise (``epsilon``).

    Args:
        sample_shape: one clip's shape ``[3, T, H, W]``.
        num_clips: clips in the bank.
        prompt_strength: prior mass on the prompt's own clips, in (0, 1].
        temperature: multiplies the log-likelihood; 1 is the exact denoiser (see the module
            docstring), below 1 a smoothed one whose early x̂0 stay blends.
        num_train_timesteps: length of ``alphas_cumprod``.
    """

    @register_to_config
    def __init__(self, sample_shape: tuple[int, ...] = (3, 8, 32, 32), num_clips: int = 1,
                 prompt_strength: float = 0.8, temperature: float = 1.0,
                 num_train_timesteps: int = 1000):
        super().__init__()
        dim = math.prod(sample_shape)
        self.register_buffer("bank", torch.zeros(num_clips, dim))                # [M, D] in [-1, 1]
        self.register_buffer("bank_prompt", torch.zeros(num_clips, dtype=torch.long))
        self.register_buffer("alphas_cumprod", torch.ones(num_train_timesteps))

    @classmethod
    def from_bank(cls, clips: torch.Tensor, prompts: torch.Tensor, alphas_cumprod: torch.Tensor,
                  prompt_strength: float = 0.8, temperature: float = 1.0) -> "BankDenoiser":
        """Builds the denoiser from clips ``[M, 3, T, H, W]`` in [-1, 1] and their prompt ids ``[M]``."""
        model = cls(tuple(clips.shape[1:]), len(clips), prompt_strength, temperature,
                    len(alphas_cumprod))
        model.bank.copy_(clips.flatten(1))
        model.bank_prompt.copy_(prompts)
        model.alphas_cumprod.copy_(alphas_cumprod)
        return model.eval()

    def log_prior(self, prompt_ids: torch.Tensor) -> torch.Tensor:
        """log prior over the bank per prompt, ``[B, M]``."""
        own = self.bank_prompt[None, :] == prompt_ids[:, None]                     # [B, M]
        n_own = own.sum(1, keepdim=True).clamp_min(1)
        n_other = (~own).sum(1, keepdim=True).clamp_min(1)
        strength = self.config.prompt_strength
        prior = torch.where(own, strength / n_own, (1 - strength) / n_other)
        return prior.clamp_min(1e-30).log()

    def posterior(self, sample: torch.Tensor, timestep, prompt_ids: torch.Tensor) -> torch.Tensor:
        """Posterior weights over the bank ``[B, M]`` given x_t ``[B, 3, T, H, W]``."""
        a = self.alphas_cumprod[int(timestep)].to(sample.dtype)
        x = sample.flatten(1)                                                      # [B, D]
        # |x - sqrt(a) b|² without the [B, M, D] difference; |x|² is the same for every clip
        sq = a * self.bank.pow(2).sum(1)[None] - 2 * a.sqrt() * (x @ self.bank.T)   # [B, M]
        loglik = -sq / (2 * (1 - a)) * self.config.temperature
        return torch.softmax(loglik + self.log_prior(prompt_ids), dim=1)

    def forward(self, sample: torch.Tensor, timestep, prompt_ids: torch.Tensor) -> torch.Tensor:
        """Predicted noise ``[B, 3, T, H, W]`` for x_t at ``timestep``."""
        a = self.alphas_cumprod[int(timestep)].to(sample.dtype)
        x0 = (self.posterior(sample, timestep, prompt_ids) @ self.bank).view_as(sample)
        return (sample - a.sqrt() * x0) / (1 - a).sqrt()


@dataclass
class BankPipelineOutput(BaseOutput):
    """``frames``: float ``[B, 3, T, H, W]`` in [0, 1]."""

    frames: torch.Tensor


class BankVideoPipeline(DiffusionPipeline):
    """Prompt (photograph id) → video, by DDIM-style sampling with `BankDenoiser`."""

    _callback_tensor_inputs = ["latents"]

    def __init__(self, denoiser: BankDenoiser, scheduler):
        super().__init__()
        self.register_modules(denoiser=denoiser, scheduler=scheduler)

    @torch.no_grad()
    def __call__(self, prompt_ids, num_inference_steps: int = 10, generator=None, latents=None,
                 callback_on_step_end=None, callback_on_step_end_tensor_inputs=("latents",),
                 output_type: str = "pt") -> BankPipelineOutput:
        prompt_ids = torch.as_tensor(prompt_ids, dtype=torch.long)
        shape = (len(prompt_ids), *self.denoiser.config.sample_shape)
        if latents is None:
            latents = torch.randn(shape, generator=generator)
        latents = latents * self.scheduler.init_noise_sigma
        self.scheduler.set_timesteps(num_inference_steps)
        for i, t in enumerate(self.scheduler.timesteps):
            model_input = self.scheduler.scale_model_input(latents, t)
            noise_pred = self.denoiser(model_input, t, prompt_ids)
            latents = self.scheduler.step(noise_pred, t, latents).prev_sample
            if callback_on_step_end is not None:
                tensors = {"latents": latents}
                outputs = callback_on_step_end(self, i, t, {k: tensors[k] for k in
                                                            callback_on_step_end_tensor_inputs})
                latents = outputs.pop("latents", latents)
        frames = latents if output_type == "latent" else ((latents + 1) / 2).clamp(0, 1)
        return BankPipelineOutput(frames=frames)
