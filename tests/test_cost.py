"""benchmark.cost: FLOPs against hand counts, the measured dict on real mini detectors."""
from __future__ import annotations

import json
import time

import pytest
import torch

from benchmark import cost as C
from benchmark.detector import build_detector


class _Toy(torch.nn.Module):
    """Conv3d 3->4 (k=3, no padding) then Linear 4->2 on the pooled features."""

    def __init__(self, hold_mb: int = 0):
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 4, kernel_size=3)
        self.fc = torch.nn.Linear(4, 2)
        self.hold_mb = hold_mb

    def forward(self, x):  # [N, 3, T, H, W]
        if self.hold_mb:  # a known temporary allocation, held long enough to be sampled
            scratch = torch.ones(self.hold_mb * 2 ** 18)  # float32: hold_mb MiB
            time.sleep(0.05)
            x = x + scratch[0]
        feats = self.conv(x).mean(dim=(2, 3, 4))  # [N, 4]
        return self.fc(feats)  # [N, 2]


class _ToyDetector:
    """The part of the `Detector` interface that `detector_cost` uses."""

    def __init__(self, clip_shape=(3, 4, 10, 10), hold_mb: int = 0):
        self.model, self.clip_shape = _Toy(hold_mb).eval(), clip_shape

    @property
    def device(self):
        return next(self.model.parameters()).device

    def to(self, device):
        self.model.to(device)
        return self

    def clip_logits(self, clips):
        with torch.inference_mode():
            return self.model(clips.float())


def test_flops_match_a_hand_count():
    det = _ToyDetector((3, 4, 10, 10))
    clips = torch.zeros((3, 3, 4, 10, 10), dtype=torch.uint8)
    # conv: 2 FLOPs x (3 in-channels x 27 taps) per output value, 4 x 2 x 8 x 8 outputs per clip;
    # linear: 2 x 4 x 2 per clip (bias adds and the mean are not counted by FlopCounterMode)
    per_clip = 2 * 3 * 27 * (4 * 2 * 8 * 8) + 2 * 4 * 2
    assert C.count_gflops(det, clips) == pytest.approx(per_clip / 1e9, rel=1e-12)


def test_cpu_peak_memory_sees_a_temporary_allocation():
    """In a fresh process: in a long one (the test session) freed heap is reused, so a
    temporary allocation need not raise the resident size at all."""
    import subprocess
    import sys

    if not C._RssSampler().available:
        pytest.skip("no /proc/self/statm on this platform")
    code = ("import json, sys; sys.path.insert(0, 'tests'); from test_cost import _ToyDetector; "
            "from benchmark import cost as C; "
            "print(json.dumps(C.detector_cost(_ToyDetector(hold_mb=64), warmup=0, repeats=2)))")
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    cost = json.loads(out.stdout.strip().splitlines()[-1])
    assert cost["peak_memory_mb"] >= 60, cost  # the 64 MiB scratch tensor
    assert cost["memory_measured_by"].startswith("process RSS increase")


@pytest.fixture(scope="module", params=["mmvgm_xclip", "aigvdet"])
def mini(request):
    torch.manual_seed(0)
    return request.param, build_detector(request.param, "mini")


def test_cost_of_mini_detectors(mini):
    method, det = mini
    cost = C.detector_cost(det, device="cpu", warmup=0, repeats=2)
    json.dumps(cost)  # JSON-able as it is
    assert cost["params"] == sum(p.numel() for p in det.model.parameters()) > 0
    assert cost["clip_shape"] == list(det.clip_shape)
    if method == "aigvdet":  # 4 RGB frames + 3 flow images: the model's own input, no flow run
        frames, size = det.spec.frames, det.spec.size
        assert cost["clip_shape"] == [3, 2 * frames - 1, size, size]
    assert cost["gflops_per_clip"] > 0 and cost["flops_counted_by"] == C.FLOP_COUNTER
    assert len(cost["ms_per_clip_runs"]) == 2 and cost["ms_per_clip"] > 0
    assert cost["peak_memory_mb"] is None or cost["peak_memory_mb"] >= 0
    assert cost["device"] == "cpu" and cost["threads"] == torch.get_num_threads()
    clips = torch.zeros((2, *det.clip_shape), dtype=torch.uint8)
    assert C.count_gflops(det, clips) == pytest.approx(cost["gflops_per_clip"], rel=1e-9)


@pytest.mark.gpu
def test_cost_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    torch.manual_seed(0)
    det = build_detector("sta", "mini")
    cost = C.detector_cost(det, device="cuda", batch_size=4, repeats=3)
    assert cost["device"].startswith("cuda") and cost["peak_memory_mb"] > 0
    assert cost["memory_measured_by"].startswith("torch.cuda.max_memory_allocated")
    cpu = C.detector_cost(det, device="cpu", repeats=1, warmup=0)
    assert cpu["gflops_per_clip"] == pytest.approx(cost["gflops_per_clip"], rel=1e-9)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size: expected an integer >= 1, got 0"),
    ({"repeats": 0}, "repeats: expected an integer >= 1, got 0"),
    ({"warmup": -1}, "warmup: expected an integer >= 0, got -1"),
    ({"warmup": "2"}, "warmup: expected an integer >= 0, got '2'"),
])
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(C.CostInputError) as err:
        C.detector_cost(_ToyDetector(), **kwargs)
    assert message in str(err.value)
