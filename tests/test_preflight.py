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
