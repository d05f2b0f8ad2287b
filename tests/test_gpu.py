"""Checks that need a CUDA device (`pytest -m gpu`; tools/gpu_check.sh runs them on a lent GPU)."""
import pytest
import torch

from benchmark.batching import find_batch_size
from benchmark.detector import build_detector
from benchmark.registry import registry

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
DETECTORS = registry().keys(kind="detector")


def _clips(detector, n=4):
    return torch.randint(0, 256, (n, *detector.clip_shape), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("method", DETECTORS)
def test_cuda_scores_match_cpu_and_low_precision_stays_close(method):
    torch.manual_seed(0)
    detector = build_detector(method, "mini")
    clips = _clips(detector)
    cpu = detector.clip_scores(clips)
    detector.to("cuda")
    assert torch.allclose(detector.clip_scores(clips).cpu(), cpu, atol=1e-4)
    for precision in ("bf16", "fp16"):
        low = detector.set_inference(precision).clip_scores(clips).cpu()
        assert float((low - cpu).abs().max()) < 5e-3, precision
    last = detector.set_inference("fp32", channels_last=True).clip_scores(clips).cpu()
    assert torch.allclose(last, cpu, atol=1e-4)


def test_batch_size_auto_on_cuda_finds_a_batch():
    detector = build_detector("sta", "paper").to("cuda").set_inference("bf16")
    assert find_batch_size(detector, limit=256) >= 1


def test_an_evaluation_run_on_cuda(tiny_manifest, tmp_path):
    from benchmark.runner import RunRequest, execute

    report = execute(RunRequest(protocol="cross_generator", method="sta", data=str(tiny_manifest),
                                out=str(tmp_path), device="cuda", progress=False,
                                cfg_options={"train.epochs": 1}, precision="bf16",
                                batch_size="auto"))
    assert report.is_file()
