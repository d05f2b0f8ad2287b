"""Inference options users of GPUs expect, tested on the CPU: bf16 autocast, batch size auto."""
import pytest
import torch

from benchmark.batching import find_batch_size
from benchmark.detector import build_detector
from benchmark.errors import ConfigError, VBenchError
from benchmark.registry import registry

BF16_TOLERANCE = 5e-3  # |score(bf16) - score(fp32)|; measured up to 1.4e-3 on the random-init minis


@pytest.mark.parametrize("method", registry().keys(kind="detector"))
def test_bf16_scores_match_fp32_within_tolerance(method):
    torch.manual_seed(0)
    detector = build_detector(method, "mini")
    clips = torch.randint(0, 256, (3, *detector.clip_shape), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(1))
    full = detector.clip_scores(clips)
    half = detector.set_inference("bf16").clip_scores(clips)
    assert half.dtype == torch.float32
    assert float((full - half).abs().max()) < BF16_TOLERANCE
    assert not torch.equal(full, half)  # autocast really ran


def test_fp16_needs_cuda_and_unknown_precision_is_refused():
    detector = build_detector("mmvgm_i3d", "mini")
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        detector.set_inference("fp16")
    with pytest.raises(VBenchError, match="Unknown precision 'fp8'"):
        detector.set_inference("fp8")


def test_batch_size_auto_finds_the_largest_batch_that_fits(monkeypatch):
    detector = build_detector("sta", registry().get("sta").config("mini", {"model.backbone.layers": 1}))
    real = detector.clip_logits

    def limited(clips):
        if len(clips) > 12:  # a device that holds 12 clips
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return real(clips)

    monkeypatch.setattr(detector, "clip_logits", limited)
    assert find_batch_size(detector) == 8 // detector.spec.num_clips  # 8 clips, 2 per video
    monkeypatch.setattr(detector, "clip_logits", lambda clips: (_ for _ in ()).throw(
        torch.cuda.OutOfMemoryError("out of memory")))
    with pytest.raises(VBenchError, match="not even one clip"):
        find_batch_size(detector)
    monkeypatch.setattr(detector, "clip_logits", lambda clips: (_ for _ in ()).throw(ValueError("bug")))
    with pytest.raises(ValueError, match="bug"):  # other errors are not mistaken for memory
        find_batch_size(detector)


def test_cli_refuses_a_bad_batch_size(capsys, tmp_path):
    from benchmark.cli import main

    assert main(["run", "--protocol", "cross_generator", "--method", "sta", "--batch-size", "0",
                 "--out", str(tmp_path)]) == 2
    assert "--batch-size expects a positive integer or 'auto'" in capsys.readouterr().err
