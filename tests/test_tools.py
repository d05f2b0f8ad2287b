"""The throughput tool runs end to end and its ratios follow from the rates it prints."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.data.corpus import CorpusSpec, build_corpus
from benchmark.registry import registry

ROOT = Path(__file__).resolve().parent.parent


def _bench(manifest, *extra):
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench_eval.py"), "--method", "sta", "--config", "mini",
         "--videos", str(manifest), "--limit", "8", "--batch-size", "4", "--workers", "0",
         "--threads", "1", "--repeat", "1", *extra],
        capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def manifest_64px(tmp_path_factory):
    """64 px clips: decord (which mmaction2's pipeline needs) cannot read the 48 px tiny corpus."""
    return build_corpus(tmp_path_factory.mktemp("corpus64"), seed=0, progress=False, workers=2,
                        spec=CorpusSpec(n_real=3, n_fake_per_generator=3, frames=16, size=64))


def test_bench_eval_prints_rates_and_consistent_ratios(manifest_64px):
    out = _bench(manifest_64px)
    assert out.returncode == 0, out.stderr[-2000:]
    rates = {name: float(value) for name, value in
             re.findall(r"^\s+(decode|forward|vbench|mmaction2)\s+([0-9.]+) videos/s$", out.stdout, re.M)}
    # StA is a plain mmaction2 recognizer on RGB clips, so mmaction2's own test path is timed too
    assert set(rates) == {"decode", "forward", "vbench", "mmaction2"} and all(r > 0 for r in rates.values())
    spec = registry().get("sta").config("mini")["input"]  # the bench's method and config
    distinct = min(16, spec["frames"] * spec["num_clips"])  # non-overlapping clips of 16-frame videos
    assert f"distinct frames decoded per video, first video: vbench {distinct}, mmaction2 {distinct}" in out.stdout
    assert "8 videos" in out.stdout and "the forward in the main process, 1 torch threads" in out.stdout
    ratio = float(re.search(r"vbench / min\(decode, forward\) = ([0-9.]+)", out.stdout).group(1))
    assert ratio == pytest.approx(rates["vbench"] / min(rates["decode"], rates["forward"]), abs=0.01)
    serial = float(re.search(r"serial bound .* = ([0-9.]+) videos/s", out.stdout).group(1))
    # printed with one decimal: on a slow machine that rounding is more than 1 %
    assert serial == pytest.approx(1 / (1 / rates["decode"] + 1 / rates["forward"]), rel=0.01, abs=0.06)
    assert serial < min(rates["decode"], rates["forward"])


def test_bench_eval_reports_a_failing_mmaction2_pipeline_and_goes_on(tiny_manifest):
    # vbench's reader falls back to PyAV where decord fails; mmaction2's DecordInit cannot
    out = _bench(tiny_manifest)
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(r"^\s+vbench\s+[0-9.]+ videos/s$", out.stdout, re.M)
    assert "mmaction2 test pipeline failed on these videos:" in out.stdout
    assert not re.search(r"^\s+mmaction2\s+[0-9.]+ videos/s$", out.stdout, re.M)


@pytest.mark.parametrize("flags, message", [(["--threads", "0"], "--threads must be >= 1"),
                                            (["--grid", "2y1"], "--grid entry '2y1'"),
                                            (["--grid", "1x0f"], "--grid entry '1x0f'"),
                                            (["--grid", "1x2f@2"], "--grid entry '1x2f@2'"),
                                            (["--grid", "auto", "--workers", "1"], "give it alone")])
def test_bench_eval_rejects_bad_splits(flags, message):
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "bench_eval.py"), *flags],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 2 and message in out.stderr


def test_bench_eval_grid_prints_the_table_with_auto_against_the_best(manifest_64px):
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench_eval.py"), "--method", "sta", "--config", "mini",
         "--videos", str(manifest_64px), "--limit", "8", "--batch-size", "4", "--repeat", "2",
         "--grid", "auto,1x0", "--no-mmaction2"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = re.findall(r"^\| (auto|1x0) \| 1 \| (\d+f?) \| (\d+) \|.* \| ([0-9.]+) \| - \| ([0-9.]+) \|$",
                      out.stdout, re.M)
    assert [r[0] for r in rows] == ["auto", "1x0"] and rows[1][1:3] == ("1", "0")
    best = max(float(r[4]) for r in rows)
    assert best == 1.0  # each split over the best split
    share = float(re.search(r"^auto \(.*\) / best \((auto|1x0)\) = ([0-9.]+)", out.stdout, re.M).group(2))
    assert share == pytest.approx(float(rows[0][4]), abs=0.002)
    # the paired ratios of the two interleaved rounds, and their spread
    paired = re.search(r"per round .*: median ([0-9.]+), range \[([0-9.]+), ([0-9.]+)\], "
                       r">= 0.95 in (\d) of 2 rounds", out.stdout)
    assert paired, out.stdout
    low, high = float(paired.group(2)), float(paired.group(3))
    assert low <= float(paired.group(1)) <= high


def _bench_train(*flags):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "bench_train.py"), *flags],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_bench_train_times_each_split_and_workers_leave_the_weights_unchanged(manifest_64px):
    out = _bench_train("--method", "tall", "--videos", str(manifest_64px), "--limit", "12",
                       "--grid", "1x1,1x0,2x0", "--repeat", "1", "--no-warmup")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "12 training videos" in out.stdout
    row = re.search(r"^\| tall \| (.*) \| (1x1|1x0|2x0) \| - \|$", out.stdout, re.M)
    assert row, out.stdout
    cells = [re.fullmatch(r"([0-9.]+) \[([0-9.]+)\]", c.strip()).groups() for c in row.group(1).split("|")]
    seconds, shares = [float(c[0]) for c in cells], [float(c[1]) for c in cells]
    assert len(cells) == 3 and all(s > 0 for s in seconds)
    best = min(seconds)
    assert shares == pytest.approx([best / s for s in seconds], abs=0.01)
    assert ["1x1", "1x0", "2x0"][seconds.index(best)] == row.group(2)
    # decoding in a worker or in the main process trains the same weights bit for bit; another
    # thread count may only reorder floating-point sums
    diffs = dict(re.findall(r"^  (1x0|2x0): tall ([0-9.e+-]+)$", out.stdout, re.M))
    assert float(diffs["1x0"]) == 0.0 and float(diffs["2x0"]) < 1e-2


@pytest.mark.parametrize("flags, message", [(["--grid", "2y1"], "--grid entry '2y1'"),
                                            (["--grid", "0x1"], "--grid entry '0x1'"),
                                            (["--grid", "1x1f"], "training takes auto or TxW"),
                                            (["--grid", "1x0@2"], "training takes auto or TxW"),
                                            (["--grid", "all"], "--grid all is bench_eval.py's"),
                                            (["--repeat", "0"], "--repeat and --epochs must be >= 1")])
def test_bench_train_rejects_bad_flags(flags, message):
    out = _bench_train(*flags)
    assert out.returncode == 2 and message in out.stderr


def test_bench_train_refuses_videos_of_one_label(tmp_path, manifest_64px):
    from benchmark.data.manifest import load_manifest, save_manifest

    manifest = load_manifest(manifest_64px)
    save_manifest(manifest[manifest["label"] == 0], tmp_path / "real_only.csv")
    out = _bench_train("--method", "tall", "--videos", str(tmp_path / "real_only.csv"), "--repeat", "1")
    assert out.returncode != 0 and "need both labels (0 and 1)" in out.stderr
