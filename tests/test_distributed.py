"""torchrun: sharded evaluation and DDP training give one run, written once, with the same scores."""
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch

from benchmark import distributed
from benchmark.detector import build_detector
from benchmark.runner import RunRequest, execute

TINY = ["model.backbone.layers=1", "train.epochs=1", "train.batch_size=4"]


def test_single_process_is_the_identity():
    assert distributed.world() == (0, 1) and distributed.is_main()
    assert distributed.shard(5) == [0, 1, 2, 3, 4]
    assert distributed.gather("x") == ["x"] and distributed.broadcast(3) == 3
    assert distributed.init_from_env("cpu") == "cpu"  # no torchrun environment: no process group


def _shards(monkeypatch, rows, epoch: int, world_size: int = 2) -> list[list[str]]:
    """Each simulated rank's training videos of one epoch (what `_rank_rows` gives that rank)."""
    from benchmark.training import _rank_rows

    shards = []
    for rank in range(world_size):
        monkeypatch.setattr(distributed, "world", lambda rank=rank: (rank, world_size))
        shards.append(list(_rank_rows(rows, 0, epoch)["video_id"]))
    return shards


def test_training_shards_cover_every_video_over_epochs(monkeypatch):
    """Two ranks, 7 videos: 3 each per epoch (equal steps), one video out, a different one as the
    epochs go; the ranks cut one shared order, so no video is in both shards of an epoch."""
    rows = pd.DataFrame({"video_id": [f"v{i}" for i in range(7)], "label": [0, 1] * 3 + [1]})
    epochs = [_shards(monkeypatch, rows, epoch) for epoch in range(4)]
    seen, left_out = set(), []
    for first, second in epochs:
        assert len(first) == len(second) == 3
        assert not set(first) & set(second)  # the ranks agree on the order
        seen |= set(first) | set(second)
        left_out.append(set(rows["video_id"]) - set(first) - set(second))
    assert seen == set(rows["video_id"])
    assert len({frozenset(out) for out in left_out}) > 1  # not the same video every epoch
    assert epochs == [_shards(monkeypatch, rows, epoch) for epoch in range(4)]  # seeded
    monkeypatch.setattr(distributed, "world", lambda: (0, 1))
    from benchmark.training import _rank_rows

    assert _rank_rows(rows, 0, 3) is rows  # one process: its rows untouched, as before


def _torchrun(args: list[str], nproc: int, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "benchmark", "run", "--protocol", "cross_generator", "--method", "sta",
           "--workers", "0", "--no-progress", "--max-failed-share", "0.5", *args]  # one broken video
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def mini_weights(tmp_path_factory):
    torch.manual_seed(0)
    detector = build_detector("sta", "mini")
    path = tmp_path_factory.mktemp("weights") / "sta_mini.pth"
    torch.save(detector.official_state_dict(), path)
    return path


def test_sharded_evaluation_matches_one_process(tiny_manifest, mini_weights, tmp_path):
    single = execute(RunRequest(protocol="cross_generator", method="sta", data=str(tiny_manifest),
                                weights=str(mini_weights), out=str(tmp_path / "one"), workers=0,
                                progress=False))
    proc = _torchrun(["--data", str(tiny_manifest), "--weights", str(mini_weights),
                      "--out", str(tmp_path / "two")], nproc=2, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = proc.stdout.strip().splitlines()[-1]
    assert report.endswith("report.html") and proc.stdout.count("report.html") == 1  # rank 0 prints
    two = pd.read_parquet(os.path.join(os.path.dirname(report), "scores.parquet"))
    info = json.loads(open(os.path.join(os.path.dirname(report), "run.json")).read())
    assert info["world_size"] == 2
    one = pd.read_parquet(single.parent / "scores.parquet")
    merged = one.merge(two, on="video_id", suffixes=("_1", "_2"))
    assert len(merged) == len(one) == len(two)
    assert (merged["status_1"] == merged["status_2"]).all()
    ok = merged[merged["status_1"] == "ok"]
    assert ok["score_1"].to_numpy() == pytest.approx(ok["score_2"].to_numpy(), abs=1e-5)


def test_ddp_training_run_completes_once(tiny_manifest, tmp_path):
    proc = _torchrun(["--data", str(tiny_manifest), "--out", str(tmp_path / "runs"),
                      "--cfg-options", *TINY], nproc=2, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dirs = [p.parent for p in (tmp_path / "runs").rglob("run.json")]
    assert len(run_dirs) == 1
    info = json.loads((run_dirs[0] / "run.json").read_text())
    assert info["status"] == "complete" and info["world_size"] == 2
    scores = pd.read_parquet(run_dirs[0] / "scores.parquet")
    assert scores.loc[scores["status"] == "ok", "score"].between(0, 1).all()
    assert scores["unit"].nunique() >= 6
    log = (run_dirs[0] / "run.log").read_text()
    assert log.count("best epoch") == scores["unit"].nunique()  # logged once, by rank 0
