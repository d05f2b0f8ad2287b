"""The SVD target through diffusers, on tiny random-config components saved to a folder."""
import shutil

import numpy as np
import pytest
import torch

from benchmark.errors import ModelFolderError, TrajectoryError
from benchmark.generation.svd import load_svd_target
from benchmark.generation.x0 import X0Recorder
from detectors.lvdm.guard import LVDMGuard, guarded_generate
from detectors.mmvgm_protect.protect import ProtectConfig, protect_images


@pytest.fixture(scope="module")
def svd_folder(tmp_path_factory):
    """A StableVideoDiffusionPipeline of tiny random components, saved with save_pretrained."""
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler,
                           StableVideoDiffusionPipeline, UNetSpatioTemporalConditionModel)
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=4, in_channels=8,
        out_channels=4, down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=16, num_attention_heads=2, projection_class_embeddings_input_dim=24,
        addition_time_embed_dim=8, num_frames=3)
    scheduler = EulerDiscreteScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, prediction_type="v_prediction",
        interpolation_type="linear", sigma_max=700.0, sigma_min=0.002, steps_offset=1,
        timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)
    vae = AutoencoderKLTemporalDecoder(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                                       down_block_types=["DownEncoderBlock2D"] * 2,
                                       latent_channels=4, layers_per_block=1)
    # SVD's pipeline resizes PIL images to 224 for CLIP, so the tiny encoder takes 224 (patch 32)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=16, projection_dim=16, num_hidden_layers=1, num_attention_heads=2,
        image_size=224, intermediate_size=20, patch_size=32))
    pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=encoder, unet=unet, scheduler=scheduler,
                                        feature_extractor=CLIPImageProcessor(crop_size=224, size=224))
    folder = tmp_path_factory.mktemp("svd")
    pipe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def svd(svd_folder):
    return load_svd_target(str(svd_folder), num_inference_steps=3)


def test_embedding_and_latent_are_differentiable_like_the_pipeline(svd):
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    emb, latent = svd.embed(x), svd.conditioning_latent(x, torch.Generator().manual_seed(0))
    assert emb.shape == (2, 16) and latent.shape == (2, 4, 8, 8)
    (emb.sum() + latent.sum()).backward()
    assert x.grad.abs().sum() > 0
    # the pipeline's own path for a PIL image gives the same embedding
    from PIL import Image

    from benchmark.defences.images import to_uint8

    q = to_uint8(x.detach()).float() / 255
    pil = [Image.fromarray(a.permute(1, 2, 0).numpy()) for a in to_uint8(q)]
    ours = svd.embed(q)
    theirs = svd.pipe._encode_image(pil, "cpu", 1, False)[:, 0]
    assert torch.allclose(ours, theirs, atol=1e-4)


def test_generate_and_protect_run_through_diffusers(svd):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (70, 140, 3), dtype=np.uint8)
    cfg = ProtectConfig(directed=False, eps=4 / 255, eps_space="-1,1", steps=2, perceptual="fallback")
    out = protect_images(svd, [photo], cfg)
    assert out.images.shape == (1, 3, 64, 128)  # resized down to multiples of 64, as upstream
    assert out.record["linf_used_max"] <= 2 / 255 + 1e-6  # 4/255 on [-1, 1] pixels
    video = svd.generate(out.images[:, :, :16, :16], seed=0)
    assert video.shape == (1, 3, 3, 16, 16) and torch.isfinite(video).all()


@pytest.mark.parametrize("component", ["unet", "feature_extractor"])
def test_a_folder_missing_a_component_names_it(svd_folder, tmp_path, component):
    broken = tmp_path / "broken"
    shutil.copytree(svd_folder, broken)
    shutil.rmtree(broken / component)
    with pytest.raises(ModelFolderError, match=f"missing component\\(s\\) {component} "):
        load_svd_target(str(broken))
    with pytest.raises(ModelFolderError, match="model_index.json is missing"):
        load_svd_target(str(broken / "vae"))


def test_x0_is_recorded_at_every_step_of_the_svd_pipeline(svd):
    image = torch.rand(1, 3, 16, 16)
    with X0Recorder(svd.pipe) as recorder:
        svd.generate(image, seed=0)
    x0 = recorder.stacked()
    assert x0.shape == (3, 1, 3, 4, 8, 8)  # [steps, batch, frames, channels, h, w] latents
    assert "step" not in vars(svd.pipe.scheduler)  # the wrapper is gone afterwards


def test_a_scheduler_without_x0_is_named(svd):
    from diffusers import DPMSolverMultistepScheduler

    pipe = svd.pipe
    saved = pipe.scheduler
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(saved.config)
    try:
        with pytest.raises(TrajectoryError, match="DPMSolverMultistepScheduler.step returns no "
                                                  "pred_original_sample"):
            with X0Recorder(pipe):
                svd.generate(torch.rand(1, 3, 16, 16), seed=0)
    finally:
        pipe.scheduler = saved


def test_the_guard_stops_an_svd_generation_with_its_reason(svd):
    seen = []

    def flag_fn(step, x0):  # fires from the second step on
        seen.append(step)
        return np.array([step >= 1])

    guard = LVDMGuard(flag_fn, eta=3, lam=0.3, total_steps=3)  # one flag of three fires it
    from PIL import Image

    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    pil_kwargs = dict(image=[photo], height=16, width=16, num_frames=3,
                      num_inference_steps=3, output_type="pt",
                      generator=torch.Generator().manual_seed(0))
    output, decision = guarded_generate(svd.pipe, guard, **pil_kwargs)
    assert output is None and decision.stopped and decision.stop_step == 2
    assert "stopped after step 2" in decision.reason and seen == [0, 1]
