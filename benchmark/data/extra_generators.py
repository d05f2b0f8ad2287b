"""Generator families beyond vbench-mini's, used by vbench-mini-footage (`benchmark.data.footage`).

Each function takes the noise-free content of a clip (float32 ``[T, H, W, 3]`` in [0, 1]), the
video's random generator and its artefact strength ``s`` in [0, 1] (0 the subtlest end of the
family, 1 the crudest), and returns the frames to encode. Every parameter moves between the ends of
its range in `STRENGTHS` with ±10 % per-video jitter, so two videos of one strength still differ.
"""
from __future__ import annotations

import numpy as np

from benchmark.data.corpus_generators import down_up, noise_range
from benchmark.data.corpus_generators import params as shared_params
from benchmark.data.corpus_render import add_sensor_noise

# family -> parameter -> (value at strength 0 = subtle, value at strength 1 = crude)
STRENGTHS: dict[str, dict[str, tuple[float, float]]] = {
    "sr_upscale": {"factor": (2.0, 4.0),      # generated at 1/factor of the frame size
                   "amount": (0.3, 1.4),      # unsharp-mask gain of the upscaler (halos)
                   "radius": (0.8, 1.6),      # its Gaussian sigma in output pixels
                   "noise": (0.5, 0.15)},     # grain added afterwards, relative to a camera's
    "texture_sticking": {"stick": (0.35, 0.9),  # share of fine detail frozen to the screen
                         "frozen": (0.4, 1.0)},  # frozen grain, relative to a camera's noise
}


def params(family: str, s: float, rng: np.random.Generator) -> dict[str, float]:
    """Every parameter of ``family`` at strength ``s`` (vbench-mini's rule, these ranges)."""
    return shared_params(family, s, rng, STRENGTHS)


def sr_upscale(clean: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Low-resolution generation plus a sharpening super-resolution upscaler (cascaded text-to-video
    models upscale their base output): detail missing below the base resolution, ringing halos
    along edges from the upscaler's sharpening."""
    import cv2

    p = params("sr_upscale", s, rng)
    up = down_up(clean, p["factor"], cv2.INTER_LANCZOS4)
    out = np.empty_like(clean)
    for t, frame in enumerate(up):
        blur = cv2.GaussianBlur(frame, (0, 0), p["radius"])
        out[t] = frame + p["amount"] * (frame - blur)
    return add_sensor_noise(out, rng, level=noise_range(p["noise"]))


def texture_sticking(clean: np.ndarray, rng: np.random.Generator, s: float) -> np.ndarray:
    """Fine texture glued to the screen while the content moves ("texture sticking" of generators
    whose layers see absolute pixel positions; Karras et al., Alias-Free GAN, 2021), and a grain
    frozen in place instead of sensor noise that changes every frame."""
    import cv2

    p = params("texture_sticking", s, rng)
    detail = np.stack([frame - cv2.GaussianBlur(frame, (0, 0), 1.0) for frame in clean])
    anchor = detail[int(rng.integers(len(clean)))]  # [H, W, 3], one frame's detail, frozen
    out = clean + p["stick"] * (anchor[None] - detail)
    grain = add_sensor_noise(np.full_like(clean[:1], 0.5), rng)[0] - 0.5  # [H, W, 3], one draw
    out = out + p["frozen"] * grain[None]
    return add_sensor_noise(out, rng, level=(0.05, 0.2))


EXTRA_FUNCTIONS = {"sr_upscale": sr_upscale, "texture_sticking": texture_sticking}
