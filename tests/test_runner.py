"""The runner and the run store around the protocol contract: names, locks, failures, debris, resume.

Most tests replace the model work (`RunContext.make_detector`, `train`, `predict`) by a seeded fake,
so they exercise the runner's own plumbing in a second.
"""
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.errors import RunLockedError, StoreError
from benchmark.runner import RunContext, RunRequest, execute
from tests.run_helpers import install_fake_model, placeholder_manifest

ROOT = Path(__file__).resolve().parent.parent


def _manifest(tmp_path: Path, generators: list[str], per: int = 3) -> Path:
    return placeholder_manifest(tmp_path, generators, per)


@pytest.fixture()
def fake_model(monkeypatch):
    return install_fake_model(monkeypatch)


def _request(data, out, **kw):
    return RunRequest(protocol="cross_generator", method="sta", data=str(data), out=str(out),
                      progress=False, workers=0, **kw)


def test_unit_names_never_collide_and_memberships_stay_lists(tmp_path, fake_model):
    long = "g" * 300
    gens = ["gen a", "gen_a", "x,y", "x", long]
    report = execute(_request(_manifest(tmp_path, gens), tmp_path / "runs"))
    run_dir = report.parent
    parts = sorted(p.name for p in (run_dir / "parts").glob("*.parquet"))
    assert len(parts) == len(gens) and max(len(p) for p in parts) < 80
    results = json.loads((run_dir / "metrics.json").read_text())
    seen = {(r["train_set"], r["test_set"]) for r in results["rows"] if r["seen"]}
    assert seen == {(g, g) for g in gens}  # "x,y" is one generator, "x" another
    assert sorted(results["auc_matrix"]["rows"]) == sorted(gens)
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert list(scores.loc[scores["unit"] == "x,y", "train_generators"].iloc[0]) == ["x,y"]


def test_second_writer_is_refused_naming_the_holder(tmp_path, fake_model):
    data = _manifest(tmp_path, ["g1"])
    from benchmark.preflight import prepare

    ctx = prepare(_request(data, tmp_path / "runs"))
    with ctx.run.locked("first command"):
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}.*first command"):
            execute(_request(data, tmp_path / "runs"))
    assert execute(_request(data, tmp_path / "runs")).is_file()  # released afterwards


def test_refused_weights_leave_no_run_directory(tmp_path, capsys):
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--data",
                 str(_manifest(tmp_path, ["g1"])), "--weights", str(empty), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "weights file is empty (0 bytes)" in err
    assert not (tmp_path / "runs").exists()


def test_bad_protocol_options_are_refused_before_work(tmp_path, capsys):
    data = _manifest(tmp_path, ["g1"])
    base = ["run", "--protocol", "cross_generator", "--method", "sta", "--data", str(data),
            "--out", str(tmp_path / "runs")]
    assert main(base + ["--option", "mdoe=one_vs_all"]) == 2
    assert "Unknown option of protocol 'cross_generator' 'mdoe'. Did you mean: mode?" in capsys.readouterr().err
    assert main(base + ["--option", "mode=leave_one_ot"]) == 2
    assert "Did you mean: leave_one_out?" in capsys.readouterr().err
    assert main(base + ["--option", "mode"]) == 2
    assert "--option expects NAME=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_ls_protocols_shows_options_and_defaults(capsys):
    assert main(["ls", "protocols"]) == 0
    out = capsys.readouterr().out
    assert "cross_generator (version" in out
    assert "--option mode=one_vs_all|leave_one_out (default 'one_vs_all')" in out


@pytest.mark.parametrize("case", ["out_is_file", "out_name_too_long", "out_unwritable"])
def test_out_folder_problems_are_one_line(tmp_path, capsys, monkeypatch, case):
    data = _manifest(tmp_path, ["g1"])
    out = tmp_path / "out"
    if case == "out_is_file":
        out.write_text("x")
        expected = "a file of that name is in the way"
    elif case == "out_name_too_long":
        out = tmp_path / ("n" * 300)
        expected = "File name too long"
    else:
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path
                            else real_access(p, mode))
        expected = "permission denied"
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--data", str(data),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("vbench: error: cannot create --out folder")
    assert expected in err and "Traceback" not in err
    assert not os.path.isdir(out)


def test_run_directory_that_cannot_be_created_is_one_line(tmp_path, capsys, monkeypatch, fake_model):
    real_mkdir = Path.mkdir

    def denied(self, *a, **k):
        if "sta-mini" in str(self):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", denied)
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--data",
                 str(_manifest(tmp_path, ["g1"])), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot create run directory" in err and "Permission denied" in err
    assert not fake_model["predict"]


def test_full_disk_fails_cleanly_and_never_marks_complete(tmp_path, fake_model, monkeypatch, capsys):
    import benchmark.io

    data = _manifest(tmp_path, ["g1", "g2"])
    real_fsync = os.fsync
    state = {"writes": 0}

    def fsync(fd):
        state["writes"] += 1
        if state["writes"] > 6:  # run.json and the first part go through, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(benchmark.io.os, "fsync", fsync)
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--data", str(data),
                 "--out", str(tmp_path / "runs"), "--no-progress", "--workers", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device (errno 28)" in err and "cannot write" in err
    run_dir = next((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    # the disk is still full, so run.json cannot be marked failed either; the ENOSPC is reported
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
    assert not list(run_dir.rglob("*.tmp"))  # the failed write left no temporary file
    monkeypatch.setattr(benchmark.io.os, "fsync", real_fsync)
    assert main(["run", "--protocol", "cross_generator", "--method", "sta", "--data", str(data),
                 "--out", str(tmp_path / "runs"), "--no-progress", "--workers", "0"]) == 0
    assert fake_model["predict"].count("g1") == 1  # the unit saved before the failure was reused


def test_read_only_cache_is_one_line(tmp_path, capsys, monkeypatch):
    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    monkeypatch.setenv("VBENCH_CACHE", str(cache))
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "building the embedded dataset vbench-mini" in err and str(cache) in err


def test_non_utf8_file_names_are_refused_naming_them(tmp_path, capsys):
    from benchmark.data.corpus_render import encode_mp4

    root = tmp_path / "data"
    frames = np.zeros((4, 16, 16, 3), np.float32)
    for gen in ("real", "g1"):
        for i in range(3):
            folder = root / gen
            folder.mkdir(parents=True, exist_ok=True)
            encode_mp4(frames, folder / f"v{i}.mp4", 8, 20)
    bad = os.fsencode(root / "g1") + b"/bad\xff.mp4"
    os.rename(root / "g1" / "v0.mp4", bad)
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--data", str(root),
                 "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "not valid UTF-8" in err and "bad\\udcff" in err


def test_debris_of_killed_work_is_removed(tmp_path, fake_model):
    data = _manifest(tmp_path, ["g1"])
    from benchmark.data.corpus import remove_stale_builds
    from benchmark.preflight import prepare

    ctx = prepare(_request(data, tmp_path / "runs"))
    debris = ctx.run.dir / ".scores.parquet.k1ll3d.tmp"
    debris.parent.mkdir(parents=True)
    debris.write_bytes(b"half")
    execute(_request(data, tmp_path / "runs"))
    assert not debris.exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".vbench-mini-v1-seed0.{dead}.abc.partial"
    live = tmp_path / f".vbench-mini-v1-seed0.{os.getppid()}.abc.partial"
    for folder in (stale, live):
        folder.mkdir()
    assert remove_stale_builds(tmp_path) == [stale]
    assert live.exists() and not stale.exists()


def test_non_finite_scores_are_an_error_naming_videos(tmp_path, fake_model, monkeypatch, capsys):
    original = RunContext.predict

    def nan_predict(self, *a, **k):
        table = original(self, *a, **k)
        table.loc[0, "score"] = float("nan")
        return table

    monkeypatch.setattr(RunContext, "predict", nan_predict)
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--data",
                 str(_manifest(tmp_path, ["g1"])), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "non-finite scores for 1 video(s), e.g. 'real/2'" in err
    assert not list((tmp_path / "runs").rglob("parts/*.parquet"))
    info = json.loads(next((tmp_path / "runs").rglob("run.json")).read_text())
    assert info["status"] == "failed" and "non-finite scores" in info["error"]  # not "running"


@pytest.mark.parametrize("raised, status, code", [
    (KeyboardInterrupt(), "interrupted", 130), (RuntimeError("a bug"), "failed", None)])
def test_a_run_stopped_after_it_started_says_so_and_resumes(tmp_path, fake_model, monkeypatch,
                                                            raised, status, code):
    original, data = RunContext.predict, _manifest(tmp_path, ["g1", "g2"])
    argv = ["run", "--protocol", "cross_generator", "--method", "sta", "--data", str(data),
            "--out", str(tmp_path / "runs"), "--no-progress", "--workers", "0"]

    def second_unit_stops(self, *a, **k):
        if self.unit.name == "g2":
            raise raised
        return original(self, *a, **k)

    monkeypatch.setattr(RunContext, "predict", second_unit_stops)
    if code is None:  # not a user error: the traceback stays
        with pytest.raises(RuntimeError, match="a bug"):
            main(argv)
    else:
        assert main(argv) == code
    run_json = next((tmp_path / "runs").rglob("run.json"))
    info = json.loads(run_json.read_text())
    assert info["status"] == status and info["stopped"]
    assert info["error"] == (None if code else "RuntimeError: a bug")
    monkeypatch.setattr(RunContext, "predict", original)
    assert main(argv) == 0 and json.loads(run_json.read_text())["status"] == "complete"
    assert fake_model["predict"].count("g1") == 1  # the unit saved before the stop was reused


def test_resume_after_sigkill_reuses_finished_units(tiny_manifest, tmp_path):
    """A run killed (SIGKILL) after its first unit resumes from it; the rest is computed once."""
    manifest = pd.read_csv(tiny_manifest)
    keep = manifest["generator"].isin(["real", "flicker", "oversmooth"]) & manifest["path"].str.endswith(".mp4")
    small = tmp_path / "small.csv"
    manifest = manifest[keep].copy()
    manifest["path"] = [str((Path(tiny_manifest).parent / p).resolve()) for p in manifest["path"]]
    manifest.to_csv(small, index=False)
    command = [sys.executable, "-m", "benchmark", "run", "--protocol", "cross_generator", "--method",
               "sta", "--data", str(small), "--out", str(tmp_path / "runs"), "--no-progress",
               "--workers", "0", "--max-failed-share", "0.5",  # the fixture's one broken video
               "--cfg-options", "train.epochs=1", "model.backbone.layers=1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 600
    while time.time() < deadline and not list((tmp_path / "runs").rglob("parts/*.json")):
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_dir = next((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
    assert len(list((run_dir / "parts").glob("*.parquet"))) == 1
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    log = (run_dir / "run.log").read_text()
    assert log.count("reusing its stored scores") == 1
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "complete" and sorted(info["models"]) == ["flicker", "oversmooth"]


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent pid from /proc; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    found = _state_and_parent(pid)
    return found is not None and found[0] != "Z"


def _children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``."""
    pids = [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat")]
    return [child for child, found in zip(pids, map(_state_and_parent, pids))
            if found is not None and found[0] != "Z" and found[1] == pid]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_sigterm_stops_like_ctrl_c_and_leaves_no_loader_workers(tiny_manifest, tmp_path):
    """SIGTERM to the vbench process alone (a scheduler's stop) during an evaluation whose forward
    runs in loader workers: exit 143 with one line, run.json says interrupted, and the workers are
    shut down (before, the process died at once and its forked workers hung on their queues)."""
    import torch

    from benchmark.detector import build_detector
    from benchmark.registry import registry

    manifest = pd.read_csv(tiny_manifest)
    manifest = manifest[manifest["path"].str.endswith(".mp4")].copy()
    manifest["path"] = [str((Path(tiny_manifest).parent / p).resolve()) for p in manifest["path"]]
    many = pd.concat([manifest.assign(video_id=manifest["video_id"] + f"-{k}",
                                      source_id=manifest["source_id"].astype(str) + f"-{k}")
                      for k in range(40)], ignore_index=True)  # long enough to stop mid-way
    data = tmp_path / "many.csv"
    many.to_csv(data, index=False)
    cfg = registry().get("sta").config("mini", {"model.backbone.layers": 1})
    weights = tmp_path / "sta.pth"
    torch.save(build_detector("sta", cfg).official_state_dict(), weights)
    command = [sys.executable, "-m", "benchmark", "run", "--protocol", "cross_generator", "--method",
               "sta", "--data", str(data), "--out", str(tmp_path / "runs"), "--weights", str(weights),
               "--cfg-options", "model.backbone.layers=1", "--threads", "1", "--workers", "2"]
    # --threads/--workers keep the forward in the main process; the auto split moves it into the
    # workers on >= 2 cores. Either way the loader's workers are forked children to shut down.
    command = command[:-4] if (os.cpu_count() or 1) >= 2 else command
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 300
    workers: list[int] = []
    while time.time() < deadline and proc.poll() is None and len(workers) < 2:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert proc.poll() is None and len(workers) >= 2, "the evaluation never started its workers"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err[-2000:]
    assert "vbench: terminated (SIGTERM); finished units are kept" in err and "Traceback" not in err
    time.sleep(1.0)
    assert not [w for w in workers if _alive(w)]
    run_dir = next((tmp_path / "runs").glob("cross_generator/sta-mini/*"))
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
