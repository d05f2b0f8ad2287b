"""The threads/workers rule: the machine's cores and device decide, given flags win, torchrun's
processes share the node's cores; a run records what it chose and why."""
import json

import pytest

from benchmark.parallelism import choose, process_cores


@pytest.mark.parametrize("device, cores, threads, workers", [
    ("cpu", 1, 1, 0), ("cpu", 2, 1, 1), ("cpu", 3, 2, 1), ("cpu", 4, 3, 1), ("cpu", 6, 4, 2),
    ("cpu", 16, 11, 5), ("cuda", 2, 1, 1), ("cuda", 4, 1, 3), ("cuda", 16, 8, 8)])
def test_auto_splits_the_cores_by_device(device, cores, threads, workers):
    chosen = choose(device, cores=cores)
    assert (chosen.threads, chosen.workers) == (threads, workers)
    assert chosen.reason.startswith(f"auto: {cores} core")
    if device == "cpu" and cores > 1:  # the cores are split, never oversubscribed
        assert chosen.threads + chosen.workers == cores


@pytest.mark.parametrize("device, cores, workers, threads", [
    ("cpu", 2, 2, 1), ("cpu", 4, 4, 1), ("cpu", 8, 8, 1), ("cpu", 16, 8, 2), ("cpu", 12, 8, 1)])
def test_auto_evaluation_forwards_in_one_worker_per_core(device, cores, workers, threads):
    chosen = choose(device, cores=cores)
    assert (chosen.eval_workers, chosen.forward_threads) == (workers, threads)
    assert chosen.eval_workers * chosen.forward_threads <= cores  # never oversubscribed
    assert chosen.eval_reason.startswith(f"auto: {cores} cores → {workers} loader workers")
    assert chosen.to_json()["evaluation"]["forward"] == "loader workers"


@pytest.mark.parametrize("device, cores, threads, workers", [("cpu", 1, None, None), ("cuda", 8, None, None),
                                                             ("cpu", 2, 1, None), ("cpu", 2, None, 2),
                                                             ("cpu", 4, 2, 2)])
def test_the_forward_stays_in_the_main_process_on_one_core_a_gpu_or_given_flags(device, cores, threads,
                                                                                workers):
    chosen = choose(device, threads, workers, cores=cores)
    assert chosen.forward_threads is None and chosen.eval_workers == chosen.workers
    evaluation = chosen.to_json()["evaluation"]
    assert evaluation["forward"] == "main process" and evaluation["forward_threads"] == chosen.threads


@pytest.mark.parametrize("threads, workers, expected", [(2, None, (2, 0)), (1, None, (1, 1)),
                                                         (None, 0, (2, 0)), (None, 2, (1, 2)),
                                                         (2, 2, (2, 2))])
def test_given_flags_win_and_the_other_side_takes_the_rest(threads, workers, expected):
    chosen = choose("cpu", threads, workers, cores=2)
    assert (chosen.threads, chosen.workers) == expected
    assert not chosen.reason.startswith("auto")


def test_torchrun_processes_share_the_node_cores(monkeypatch):
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert process_cores() == 2
    assert (choose("cpu").threads, choose("cpu").workers) == (1, 1)


def test_apply_sets_torch_threads():
    import torch

    before = torch.get_num_threads()
    try:
        choose("cpu", threads=1, workers=0).apply()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_run_records_its_threads_workers_and_decoding(tmp_path, monkeypatch):
    import os

    import torch

    from benchmark.runner import RunRequest, execute
    from tests.run_helpers import install_fake_model, placeholder_manifest

    install_fake_model(monkeypatch)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    before = torch.get_num_threads()
    try:
        report = execute(RunRequest(protocol="cross_generator", method="sta", progress=False,
                                    data=str(placeholder_manifest(tmp_path, ["a", "b"], 3)),
                                    out=str(tmp_path / "runs"), device="cpu"))
        assert torch.get_num_threads() == 1  # applied: 2 cores → 1 thread, 1 worker
    finally:
        torch.set_num_threads(before)
    info = json.loads((report.parent / "run.json").read_text())
    chosen = choose("cpu", cores=2)
    assert info["parallelism"] == {"threads": 1, "workers": 1, "cores": 2, "reason": chosen.reason,
                                   "evaluation": {"workers": 2, "forward": "loader workers",
                                                  "forward_threads": 1, "reason": chosen.eval_reason}}
    assert info["workers"] == 1
    # the evaluation's cost was measured with the forward in the two loader workers
    assert (info["cost"]["forward"], info["cost"]["workers"], info["cost"]["threads"]) == (
        "loader workers", 2, 1)
    assert info["decoding"]["deeper than 8 bits"].startswith("PyAV ")
    assert "to_ndarray(format='rgb24')" in info["decoding"]["deeper than 8 bits"]
    assert info["decoding"]["8-bit"].startswith("decord ")
