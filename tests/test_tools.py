"""The throughput tool runs end to end and its ratios follow from the rates it prints."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_bench_eval_prints_rates_and_consistent_ratios(tiny_manifest):
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench_eval.py"), "--method", "sta", "--config", "mini",
         "--videos", str(tiny_manifest), "--limit", "8", "--batch-size", "4", "--workers", "0",
         "--threads", "1", "--repeat", "1"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    rates = {name: float(value) for name, value in
             re.findall(r"^\s+(decode|forward|vbench)\s+([0-9.]+) videos/s$", out.stdout, re.M)}
    assert set(rates) == {"decode", "forward", "vbench"} and all(r > 0 for r in rates.values())
    assert "8 videos" in out.stdout and "torch threads 1" in out.stdout
    ratio = float(re.search(r"vbench / min\(decode, forward\) = ([0-9.]+)", out.stdout).group(1))
    assert ratio == pytest.approx(rates["vbench"] / min(rates["decode"], rates["forward"]), abs=0.01)
    serial = float(re.search(r"serial bound .* = ([0-9.]+) videos/s", out.stdout).group(1))
    assert serial == pytest.approx(1 / (1 / rates["decode"] + 1 / rates["forward"]), rel=0.01)
    assert serial < min(rates["decode"], rates["forward"])


def test_bench_eval_rejects_negative_threads():
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "bench_eval.py"), "--threads", "-1"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 2 and "--threads must be >= 0" in out.stderr
