"""Exact numerical goldens: every detector's clip scores on fixed clips with seeded weights.

A golden is ``tests/goldens/<method>-<config>.json``: the clip scores and class probabilities of
`golden_detector` (the registered config, weights from `seeded_weights`) on `golden_clips`. The
test ``tests/test_goldens.py`` recomputes them and fails when any value moves more than `ATOL`: a
changed normalisation, resize, layer order or numerical bug moves scores long before any AUC does.
After a deliberate change, ``python tools/update_goldens.py`` rewrites the files and prints the
difference per method.

Weights do not come from the model's own initialisation (``torch.manual_seed`` then build): that
depends on the order modules are built and on torch's init functions, so a refactor that renames
nothing would move the goldens. Instead every floating-point entry of the state dict is drawn
from a generator seeded by its *name* (CRC-32 of the key, plus `WEIGHT_SEED`): the same names and
shapes give the same weights on any machine, in any build order. The draw is scaled so that
activations keep their size through deep stacks and scores stay away from 0 and 1 (He-normal
convolutions, LeCun-normal matrices, norm scales and running variances near 1, small biases and
running means), and nothing is left at zero: zero-initialised layers
(StA's adapter up-projections, residual gates) and BatchNorm statistics get values too, so every
weight reaches the output. Integer buffers and non-persistent buffers (the data preprocessor's
mean/std, position ids) stay as the config builds them, so a config's normalisation is tested.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
GOLDEN_DIR = REPO / "tests" / "goldens"
WEIGHT_SEED = 0
CLIP_SEED = 0
N_CLIPS = 2
# Largest score/probability difference accepted. Measured across thread counts and machines:
# see tests/goldens/README.md.
ATOL = 1e-5
# Paper configs whose golden is not kept, and why (a golden must be computable in the slow tests
# on two CPU cores). Every other registered (method, config) has a golden.
SKIPPED: dict[tuple[str, str], str] = {}


def golden_path(method: str, config: str) -> Path:
    return GOLDEN_DIR / f"{method}-{config}.json"


def golden_cases() -> list[tuple[str, str]]:
    """Every registered (method, config) that keeps a golden."""
    from benchmark.registry import registry

    reg = registry()
    return [(m, c) for m in reg.keys(kind="detector") for c in ("mini", "paper")
            if (m, c) not in SKIPPED]


def seeded_weights(model, seed: int = WEIGHT_SEED) -> None:
    """Overwrites every floating-point state-dict entry of ``model`` with values drawn from a
    generator seeded by the entry's name (see the module docstring)."""
    import torch

    with torch.no_grad():
        for name, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                gen = torch.Generator().manual_seed(zlib.crc32(name.encode()) + seed)
                value.copy_(_draw(name, tuple(value.shape), gen))


def _draw(name: str, shape: tuple[int, ...], gen):
    import torch

    noise = torch.randn(shape, generator=gen)  # float32: the draw is the same on any CPU
    if name.endswith("running_var"):
        return 1.0 + 0.1 * noise.abs()
    if name.endswith("running_mean"):
        return 0.05 * noise
    if len(shape) >= 2:  # [out, in, *kernel] or an embedding: variance 1 / fan-in
        fan_in = max(1, int(torch.tensor(shape[1:]).prod()))
        # He gain for convolutions (ReLU stacks halve the variance; without it the I3D's output
        # no longer depends on its input); LeCun for matrices (GELU transformers saturate with it)
        gain = 2.0 ** 0.5 if len(shape) >= 3 else 1.0
        return gain * noise / fan_in ** 0.5
    if name.endswith("weight"):  # 1-D weights are norm scales
        return 1.0 + 0.1 * noise
    return 0.1 * noise  # biases, layer scales, temperatures


def calibrate_batchnorm(detector, seed: int = CLIP_SEED + 1, n: int = N_CLIPS) -> None:
    """Sets every BatchNorm's running statistics to the batch statistics of one forward of
    seeded standard-normal model inputs ``[n, *clip_shape]``.

    Random running statistics let activations grow or vanish through a deep residual net (the
    paper ResNets and I3D then score every clip 0.99+, and a saturated score hides any change);
    statistics measured on the activations keep them near unit variance. The inputs are already
    normalised noise, not clips through the config's normalisation, so the statistics do not
    absorb a change of the config's mean/std, which the goldens must catch.
    """
    import torch

    norms = [m for m in detector.model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((n, *detector.clip_shape), generator=gen)  # [n, 3, T, H, W]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch, exactly its statistics
        m.train()
    with torch.no_grad():
        detector.forward_logits(x.to(detector.device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
        m.eval()


def golden_clips(shape: tuple[int, ...], n: int = N_CLIPS, seed: int = CLIP_SEED):
    """Seeded uint8 clips ``[n, *shape]``."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=gen)


def golden_detector(method: str, config: str):
    """The registered detector with `seeded_weights`, in eval mode on the CPU."""
    from benchmark.detector import build_detector

    detector = build_detector(method, config)
    detector.model.eval()
    seeded_weights(detector.model)
    calibrate_batchnorm(detector)
    return detector


def compute(method: str, config: str, detector=None) -> dict[str, Any]:
    """The golden record of one (method, config)."""
    import numpy
    import torch

    detector = detector or golden_detector(method, config)
    clips = golden_clips(tuple(detector.clip_shape))
    logits = detector.clip_logits(clips)  # one forward for both records
    return {
        "method": method, "config": config, "clip_shape": list(detector.clip_shape),
        "n_clips": len(clips), "clip_seed": CLIP_SEED, "weight_seed": WEIGHT_SEED,
        "clip_scores": detector.scores_from_logits(logits).tolist(),
        "class_probs": detector.probs_from_logits(logits).tolist(),
        "generated_with": {"torch": torch.__version__, "numpy": numpy.__version__,
                           "threads": torch.get_num_threads()},
        "command": "python tools/update_goldens.py",
    }


def load(method: str, config: str) -> dict[str, Any] | None:
    path = golden_path(method, config)
    return json.loads(path.read_text()) if path.is_file() else None


def save(record: dict[str, Any]) -> Path:
    path = golden_path(record["method"], record["config"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def max_difference(old: dict[str, Any], new: dict[str, Any]) -> dict[str, float]:
    """Largest absolute difference of ``clip_scores`` and ``class_probs``; inf if shapes differ."""
    import numpy as np

    out = {}
    for key in ("clip_scores", "class_probs"):
        a, b = np.asarray(old[key], dtype=float), np.asarray(new[key], dtype=float)
        out[key] = float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")
    return out
