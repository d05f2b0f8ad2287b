"""Helpers shared by the detector tests: random weights, random clips, upstream key dumps."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from benchmark.errors import WeightsError

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_KEYS_ENV = "VBENCH_UPSTREAM_KEYS"


def upstream_dump(file_name: str) -> dict:
    """The upstream key dump ``file_name`` (a dict with ``keys`` {name: shape}, ``notes`` ...).

    The folder is ``$VBENCH_UPSTREAM_KEYS`` or ``../shared/upstream_keys`` beside the repository;
    the calling test is skipped, with the reason, when the file is not there.
    """
    folder = Path(os.environ.get(UPSTREAM_KEYS_ENV, REPO.parent / "shared" / "upstream_keys"))
    path = folder / file_name
    if not path.is_file():
        pytest.skip(f"upstream key dump {path} is absent (set {UPSTREAM_KEYS_ENV} to its folder)")
    return json.loads(path.read_text())


def randomize(model: torch.nn.Module, seed: int = 0, scale: float = 0.05) -> None:
    """Fills every float tensor with seeded noise (running variances kept positive), so that zero
    initialisations (adapters' up-projections, biases, BN statistics) cannot hide a mapping error."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                noise = torch.randn(value.shape, generator=gen) * scale
                value.copy_(noise.abs() + 0.5 if key.endswith("running_var") else noise)


def random_clips(n: int, frames: int, size: int, seed: int = 0) -> torch.Tensor:
    """Seeded uint8 clips ``[n, 3, frames, size, size]``."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, frames, size, size), generator=gen, dtype=torch.uint8)


def load_error(detector, state: dict, path: Path) -> str:
    """Saves ``state`` to ``path``, loads it into ``detector`` and returns the `WeightsError`
    message (the test fails if the load succeeds)."""
    torch.save(state, path)
    with pytest.raises(WeightsError) as err:
        detector.load_weights(path)
    return str(err.value)


def refused_paper_run(capsys, method: str, out: Path, *extra: str) -> str:
    """Runs ``vbench run --protocol cross_generator --method METHOD --config paper --dry-run``
    and returns stderr, asserting exit 2 with exactly one ``vbench: error:`` line."""
    from benchmark.cli import main

    code = main(["run", "--protocol", "cross_generator", "--method", method, "--config", "paper",
                 *extra, "--out", str(out), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("vbench: error:") == 1, err
    return err


def train_step(model: torch.nn.Module, optimizer: dict, clips: torch.Tensor) -> dict:
    """One mmaction2 ``train_step`` of ``model`` on uint8 ``clips`` ``[2, 3, T, H, W]`` labelled
    real (0) and fake (1), with an mmengine ``OptimWrapper`` around ``optimizer``; returns the
    logged losses."""
    from mmaction.structures import ActionDataSample
    from mmengine.optim import build_optim_wrapper

    model.train()
    optim = build_optim_wrapper(model, {"type": "OptimWrapper", "optimizer": optimizer})
    batch = {"inputs": list(clips[:, None]),  # N x [1 view, 3, T, H, W]
             "data_samples": [ActionDataSample().set_gt_label(i) for i in range(len(clips))]}
    return model.train_step(batch, optim)
