"""benchmark.cost_meter: the run's cost block from unit records, the resettable memory peak, the
leaderboard's cost columns on every protocol's board, and a stored run whose cost disagrees."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import cost_meter as CM
from benchmark.cli import main
from benchmark.metric_catalog import CATALOG, COST_COLUMNS
from benchmark.runner import RunRequest, execute
from tests.run_helpers import install_fake_model, placeholder_manifest

DEVICE = {"device": "cpu", "device_name": "x86_64", "threads": 2, "workers": 0, "world_size": 1,
          "torch": "2"}


def _unit(decode_s, forward_s, n_videos, n_clips, peak, **model):
    return {"decode_s": decode_s, "forward_s": forward_s, "n_videos": n_videos,
            "n_clips": n_clips, "peak_memory_mb": peak, "memory_measured_by": "process peak RSS",
            **model}


def test_run_cost_combines_units_into_per_video_numbers():
    model = {"params": 1_500_000, "model_memory_mb": 5.7, "gflops_per_clip": 0.25,
             "clip_shape": [3, 8, 32, 32], "flops_counted_by": "FlopCounterMode"}
    units = [_unit(1.0, 3.0, 40, 80, 900.0, **model), _unit(1.0, 1.0, 60, 120, 950.0),
             {}]  # the last unit was stored by code that measured no cost
    cost = CM.run_cost(units, DEVICE)
    assert cost["decode_ms_per_video"] == pytest.approx(2.0 * 1e3 / 100)  # 20 ms
    assert cost["forward_ms_per_video"] == pytest.approx(4.0 * 1e3 / 100)  # 40 ms
    assert cost["clips_per_video"] == pytest.approx(2.0)
    assert cost["gflops_per_video"] == pytest.approx(0.5) and cost["params"] == 1_500_000
    assert cost["peak_memory_mb"] == 950.0 and cost["n_videos"] == 100
    assert "1 unit(s) stored without cost records" in cost["note"]
    assert cost["device"] == "cpu" and cost["threads"] == 2


def test_no_scored_video_gives_none_with_a_note():
    cost = CM.run_cost([_unit(0.0, 0.0, 0, 0, None)], DEVICE)
    assert cost["decode_ms_per_video"] is None and cost["forward_ms_per_video"] is None
    assert cost["gflops_per_video"] is None and "no video was scored" in cost["note"]
    assert CM.cost_columns(cost)["forward_ms_per_video"] is None
    assert CM.cost_text(None, "params") == "n/a"


def test_cost_text_and_columns():
    assert CM.cost_text(1_234_567, "params") == "1.23 M"
    assert CM.cost_text(0.012345, "gflops_per_clip") == "0.0123"
    assert CM.cost_text(12.345, "forward_ms_per_video") == "12.3"
    columns = CM.cost_columns({**DEVICE, "forward_ms_per_video": 3.0})
    assert list(columns) == list(COST_COLUMNS) and columns["forward_ms_per_video"] == 3.0
    assert columns["cost_device"] == "cpu (x86_64), 2 threads, 0 decoding workers"
    forwarding = CM.cost_columns({**DEVICE, "threads": 1, "workers": 2, "forward": "loader workers"})
    assert forwarding["cost_device"] == ("cpu (x86_64), 1 threads in each of 2 loader workers that "
                                         "decode and forward")


def test_device_record_says_where_the_forward_ran():
    here = CM.device_record("cpu", 1, 1)
    assert here["forward"] == "main process" and here["workers"] == 1
    there = CM.device_record("cpu", 2, 1, forward_threads=1)
    assert (there["forward"], there["threads"], there["workers"]) == ("loader workers", 1, 2)
    assert CM.device_record("cpu", 0, 1, forward_threads=1)["forward"] == "main process"
    assert all(CATALOG.direction(k) == "low" for k in COST_COLUMNS if k != "cost_device")


PEAK_CODE = """
import json, numpy as np
from benchmark import cost_meter as CM
memory = CM.PeakMemory("cpu")
scratch = np.ones(40 * 2 ** 17); del scratch  # 40 MiB, touched, freed
memory.reset(); before = memory.read()
big = np.ones(64 * 2 ** 17); after = memory.read(); del big  # 64 MiB of fresh pages
memory.reset(); again = memory.read()
print(json.dumps({"how": memory.how, "before": before, "after": after, "again": again}))
"""


def test_cpu_peak_is_reset_per_pass_and_sees_an_allocation():
    """In a fresh process: in a long one (the test session) freed heap is reused, so a new
    allocation need not raise the resident size at all."""
    import subprocess
    import sys

    if CM._vm_hwm_bytes() is None:
        pytest.skip("no VmHWM in /proc/self/status on this platform")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", PEAK_CODE], capture_output=True, text=True,
                         cwd=root, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    if "reset" not in seen["how"]:
        pytest.skip("this kernel refuses /proc/self/clear_refs: the peak cannot be reset")
    assert seen["after"] - seen["before"] >= 60, seen
    assert seen["again"] < seen["after"] - 50, seen  # the reset forgot the 64 MiB peak


# ----------------------------------------------------------------------------- every board
@pytest.fixture()
def fake_model(monkeypatch):
    return install_fake_model(monkeypatch)


@pytest.mark.parametrize("protocol", ["cross_generator", "cross_dataset", "source_tracing"])
def test_every_leaderboard_has_the_cost_columns(tmp_path, fake_model, protocol):
    data = placeholder_manifest(tmp_path, ["g1", "g2"])
    if protocol == "cross_dataset":
        parts = [placeholder_manifest(tmp_path / name, ["g1"], prefix=f"{name}/",
                                      dataset=lambda g, i, name=name: name) for name in "ab"]
        data = ",".join(map(str, parts))
    report = execute(RunRequest(protocol=protocol, method="sta", data=str(data),
                                out=str(tmp_path / "runs"), progress=False, workers=0))
    run_dir = report.parent
    info = json.loads((run_dir / "run.json").read_text())
    # the fake model scores nothing through the detector: the block says so, numbers are None
    assert info["cost"]["forward_ms_per_video"] is None and info["cost"]["note"]
    assert main(["report", str(run_dir), "--out", str(tmp_path / "board")]) == 0
    for folder in (run_dir, tmp_path / "board"):
        html, md = (folder / "report.html").read_text(), (folder / "report.md").read_text()
        csv = pd.read_csv(folder / "leaderboard.csv")
        for key in COST_COLUMNS:
            label = CATALOG.label(key)
            assert f">{label}</th>" in html and f" {label} |" in md and key in csv.columns, key


def test_a_stored_run_whose_cost_was_edited_is_refused(tmp_path, fake_model, capsys):
    report = execute(RunRequest(protocol="cross_generator", method="sta",
                                data=str(placeholder_manifest(tmp_path, ["g1"])),
                                out=str(tmp_path / "runs"), progress=False, workers=0))
    info_path = Path(report.parent) / "run.json"
    info = json.loads(info_path.read_text())
    info["cost"]["threads"] = 64
    info_path.write_text(json.dumps(info))
    assert main(["report", str(report.parent), "--out", str(tmp_path / "board")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vbench: error:") and err.count("\n") == 1
    assert "metrics.json: key cost.threads" in err
