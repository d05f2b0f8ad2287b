"""What `vbench run` refuses before it writes anything, with ``--dry-run`` too: a method of a kind
the protocol does not run, a precision the device has no autocast for."""
import pytest

from tests.run_helpers import assert_refused, install_fake_model, placeholder_manifest


@pytest.fixture()
def fake_model(monkeypatch):
    return install_fake_model(monkeypatch)


@pytest.mark.parametrize("dry", [False, True])
@pytest.mark.parametrize("protocol, method, needles", [
    # a generation-time defence has no clip scores for a detector protocol
    ("cross_generator", "lvdm", ["'lvdm' is a defence", "cross_generator runs detector methods",
                                 "protocols that run a defence: protection_efficacy"]),
    ("robustness", "mmvgm_protect", ["'mmvgm_protect' is a defence",
                                     "protocols that run a defence: protection_efficacy"]),
    # and a detector has nothing to protect
    ("protection_efficacy", "sta", ["'sta' is a detector", "protection_efficacy runs defence",
                                    "protocols that run a detector: cross_generator"]),
])
def test_a_method_of_another_kind_is_refused_before_the_run_directory(
        tmp_path, capsys, fake_model, protocol, method, needles, dry):
    data = placeholder_manifest(tmp_path, ["g1"])
    out = tmp_path / "runs"
    argv = ["run", "--protocol", protocol, "--method", method, "--data", str(data), "--out",
            str(out), "--no-progress", "--workers", "0", *(["--dry-run"] if dry else [])]
    assert_refused(capsys, argv, needles, out, fake_model)
    assert not fake_model["predict"]


def test_every_protocol_runs_some_kind_of_method():
    from benchmark.registry import KINDS
    from protocols import PROTOCOLS, get_protocol

    kinds = {name: get_protocol(name).method_kinds for name in PROTOCOLS}
    assert all(k and set(k) <= set(KINDS) for k in kinds.values()), kinds
    assert kinds["protection_efficacy"] == ("defence",) and kinds["cross_generator"] == ("detector",)


@pytest.mark.parametrize("dry", [False, True])
def test_fp16_on_a_cpu_is_refused_before_the_run_directory(tmp_path, capsys, fake_model, dry):
    data = placeholder_manifest(tmp_path, ["g1"])
    out = tmp_path / "runs"
    argv = ["run", "--protocol", "cross_generator", "--method", "sta", "--data", str(data),
            "--out", str(out), "--device", "cpu", "--precision", "fp16", "--no-progress",
            "--workers", "0", *(["--dry-run"] if dry else [])]
    assert_refused(capsys, argv, ["--precision fp16 needs a CUDA device", "device is cpu",
                                  "use --precision bf16 or fp32"], out, fake_model)


def test_bf16_is_refused_on_a_gpu_without_it_and_allowed_where_autocast_runs(monkeypatch):
    import torch

    from benchmark.detector import check_precision
    from benchmark.errors import ConfigError

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Tesla V100")
    with pytest.raises(ConfigError, match=r"bf16: the GPU of device cuda:1 \(Tesla V100\) does "
                                          r"not support bfloat16; use --precision fp16"):
        check_precision("bf16", "cuda:1")
    check_precision("fp16", "cuda:1")  # fp16 autocast runs on any GPU
    check_precision("bf16", "cpu")  # CPU autocast runs bf16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    check_precision("bf16", "cuda")
