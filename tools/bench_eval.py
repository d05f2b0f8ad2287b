#!/usr/bin/env python
"""Evaluation throughput: vbench's end-to-end rate beside the bare decode and bare forward rates,
for one split of the cores between torch threads and decoding workers, or for a grid of them.

The measures (`tools/bench_measures.py`) run in one process on the same videos and model: decode
(the DataLoader alone), forward (the model alone on decoded clips), vbench (`predict_videos`,
decoding overlapped with the forward) and mmaction2 (its own VideoDataset pipeline and
``model.test_step``, same batch and workers; ``--no-mmaction2`` skips it). Rates are videos/s,
the median over ``--repeat`` rounds; the target is vbench >= 0.9 x min(decode, forward).

Without ``--threads`` / ``--workers`` the split is vbench's own default (`benchmark.parallelism`),
labelled ``auto``. ``--grid`` measures several splits interleaved (round 1: every split, round 2:
every split, ...), so a slow spell of a shared machine hits them alike, and prints one table with
each split's vbench rate over the best split's; ``auto`` must reach >= 0.95 of it. A grid entry is
``auto``, ``TxW`` (T torch threads, W workers), ``TxWf`` (W workers that each decode and run the
forward with T torch threads, `benchmark.worker_forward`) or ``TxW@P`` (P torchrun processes on
this node, each with T threads and W workers; measured in a child ``torchrun`` each round, without
mmaction2, whose loop has no sharded form). ``--grid all`` is ``auto``, every ``TxW`` with
T + W <= cores + 1, ``1x<cores>f`` and ``1x0@<cores>``. For a ``TxWf`` split the decode column is
W workers' and the forward column one process's at T threads, so its "vbench / min" is not a
bound; "vbench / best" is the comparison that counts.

    python tools/bench_eval.py --method sta --config mini                    # vbench's default
    python tools/bench_eval.py --method sta --config mini --grid all --repeat 5
    python tools/bench_eval.py --method sta --config mini --threads 1 --workers 1
    torchrun --nproc_per_node 2 tools/bench_eval.py --method sta --config mini --workers 0
    python tools/bench_eval.py --method sta --config paper --device cuda --precision fp32,bf16,fp16 \
        --json bench_sta.json          # on a GPU: forward per precision, GPU use and peak memory

``--precision`` lists the precisions whose forward is timed (the first is the one vbench and
mmaction2 run at). On CUDA each measure also records the peak GPU memory allocated and the mean
GPU utilisation; ``--json`` writes everything.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))


@dataclass
class Split:
    """One configuration of the grid and the rates measured for it, round by round."""

    label: str
    threads: int | None
    workers: int | None
    processes: int = 1
    forward_threads: int | None = None  # the workers run the forward with this many threads
    reason: str = ""
    rounds: dict[str, list[float]] = field(default_factory=dict)
    gpu: dict[str, dict] = field(default_factory=dict)

    def label_text(self) -> str:
        if self.forward_threads:
            return f"{self.workers} workers forwarding with {self.forward_threads} thread(s) each"
        return f"{self.threads} threads, {self.workers} workers"

    def median(self, name: str) -> float | None:
        values = self.rounds.get(name)
        return statistics.median(values) if values else None


def parse_grid(text: str, cores: int) -> list[Split]:
    """``auto,1x1,2x0,1x0@2`` (or ``all``) → the splits to measure, ``auto`` first."""
    if text == "all":
        entries = ["auto"] + [f"{t}x{w}" for t in range(1, cores + 1) for w in range(0, cores + 1)
                              if t + w <= cores + 1]
        entries += [f"1x{cores}f", f"1x0@{cores}"] if cores > 1 else []
    else:
        entries = [e.strip() for e in text.split(",") if e.strip()]
    splits = []
    for entry in entries:
        if entry == "auto":
            splits.append(Split("auto", None, None))
            continue
        body, _, procs = entry.partition("@")
        forwarding = body.endswith("f")
        threads, sep, workers = body.removesuffix("f").partition("x")
        if not (sep and threads.isdigit() and workers.isdigit() and (not procs or procs.isdigit())
                and int(threads) >= 1 and int(procs or 1) >= 1
                and not (forwarding and (procs or int(workers) < 1))):
            raise ValueError(f"--grid entry {entry!r}: expected auto, TxW, TxWf (W >= 1) or TxW@P "
                             f"(T >= 1 torch threads, W >= 0 workers, P >= 1 processes)")
        splits.append(Split(entry, int(threads), int(workers), int(procs or 1),
                            int(threads) if forwarding else None))
    return splits


def _measures(args, precisions) -> dict:
    import bench_measures as m

    measures = {"decode": m.decode_rate, "forward": m.forward_rate, "vbench": m.vbench_rate}
    for extra in precisions[1:]:
        measures[f"forward[{extra}]"] = m.at_precision(m.forward_rate, extra, precisions[0])
    if not args.no_mmaction2:
        measures["mmaction2"] = m.mmaction2_rate
    return measures


def _measure_here(split: Split, measures: dict, detector, manifest, args, state: dict) -> None:
    """One round of every measure for a split run in this process."""
    import bench_measures as m
    import torch

    from benchmark.distributed import world

    for name, fn in measures.items():
        if name == "mmaction2" and (world()[1] > 1 or state.get("mm_skip")):
            continue
        # a split whose workers forward: the forward alone is timed at a worker's threads
        torch.set_num_threads(split.forward_threads if name.startswith("forward") and
                              split.forward_threads else split.threads)
        extra = {"forward_threads": split.forward_threads} if name == "vbench" else {}
        try:
            with m.GPUMonitor(detector.device) as monitor:
                rate = fn(detector, manifest, args.batch_size, split.workers, **extra)
        except Exception as error:
            if name != "mmaction2":
                raise
            # its pipeline has no fallback where decord fails (e.g. on 48 px wide videos)
            rate, state["mm_error"] = None, str(error).strip().splitlines()[-1][:200]
        if rate is None:  # mmaction2 failed or does not apply to this detector
            state["mm_skip"] = True
            continue
        split.rounds.setdefault(name, []).append(rate)
        if monitor.stats():
            split.gpu.setdefault(name, monitor.stats())


def _measure_torchrun(split: Split, args) -> None:
    """One round of a split with several processes: a child torchrun, one round, read back."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rates.json"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={split.processes}", str(Path(__file__)), "--method", args.method,
               "--config", args.config, "--limit", str(args.limit), "--batch-size", str(args.batch_size),
               "--threads", str(split.threads), "--workers", str(split.workers), "--repeat", "1",
               "--device", args.device, "--precision", args.precision, "--no-mmaction2",
               "--json", str(out)] + (["--videos", args.videos] if args.videos else [])
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"bench_eval.py: error: the torchrun child for {split.label} failed:\n"
                             f"{done.stderr[-2000:]}")
        rates = json.loads(out.read_text())["splits"][0]["rates"]
    for name, rate in rates.items():
        split.rounds.setdefault(name, []).append(rate)


def _resolve(split: Split, device: str, cores: int) -> None:
    from benchmark.parallelism import choose

    if split.processes > 1:
        split.reason = f"{split.processes} processes x ({split.threads} threads, {split.workers} workers)"
        return
    if split.forward_threads is not None:
        split.reason = f"{split.workers} workers, each decoding and forwarding with {split.threads} threads"
        return
    # what `vbench run` evaluates with: its evaluation split (`Parallelism.eval_workers`)
    chosen = choose(device, split.threads, split.workers, cores=cores)
    split.threads, split.workers = chosen.threads, chosen.eval_workers
    split.forward_threads = chosen.forward_threads
    split.reason = chosen.eval_reason if chosen.forward_threads else chosen.reason


def _print_split(split: Split, head: str, state: dict) -> None:
    rates = {name: split.median(name) for name in split.rounds}
    where = (f"the forward in the workers, {split.forward_threads} torch thread(s) each"
             if split.forward_threads else f"the forward in the main process, {split.threads} torch threads")
    print(f"{head}, split {split.label}: {split.processes} process(es) x {split.workers} workers, "
          f"{where} ({split.reason})")
    for name, rate in rates.items():
        print(f"  {name:9s} {rate:8.1f} videos/s")
    bound = min(rates["decode"], rates["forward"])
    serial = 1.0 / (1.0 / rates["decode"] + 1.0 / rates["forward"])
    print(f"  vbench / min(decode, forward) = {rates['vbench'] / bound:.3f} (target >= 0.9)")
    if "mmaction2" in rates:
        frames = state.get("frames", (None, None))
        print(f"  mmaction2 test pipeline / min(decode, forward) = {rates['mmaction2'] / bound:.3f} "
              f"(distinct frames decoded per video, first video: vbench {frames[0]}, "
              f"mmaction2 {frames[1]})")
    print(f"  serial bound 1/(1/decode + 1/forward) = {serial:.1f} videos/s; "
          f"vbench / serial bound = {rates['vbench'] / serial:.3f}")
    for name, stats in split.gpu.items():
        print(f"  {name:9s} GPU utilisation {stats['gpu_util_mean'] or float('nan'):5.1f} %, "
              f"peak memory {stats['gpu_peak_mb']:.0f} MiB")


def round_ratios(split: Split, best: Split) -> list[float]:
    """``split``'s vbench rate over ``best``'s, round by round: the rounds are interleaved, so each
    pair ran minutes apart at most and a slow spell of the machine hits both sides alike."""
    return [a / b for a, b in zip(split.rounds["vbench"], best.rounds["vbench"])]


def print_grid(splits: list[Split], repeat: int) -> dict:
    """The grid's table (medians; vbench over the best split's vbench) and the verdicts."""
    best = max(splits, key=lambda s: s.median("vbench"))
    print(f"\ngrid, medians of {repeat} interleaved rounds (videos/s):")
    print(f"| split | processes | threads | workers | decode | forward | vbench | mmaction2 "
          f"| vbench / min | vbench / mmaction2 | vbench / best |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    verdict = {"best": best.label}
    for s in splits:
        v, mm = s.median("vbench"), s.median("mmaction2")
        bound = min(s.median("decode"), s.median("forward"))
        mm_text, ratio_mm = (f"{mm:.1f}", f"{v / mm:.3f}") if mm else ("-", "-")
        print(f"| {s.label} | {s.processes} | {s.forward_threads or s.threads}{'f' if s.forward_threads else ''} "
              f"| {s.workers} | {s.median('decode'):.1f} "
              f"| {s.median('forward'):.1f} | {v:.1f} | {mm_text} | {v / bound:.3f} | {ratio_mm} "
              f"| {v / best.median('vbench'):.3f} |")
        if mm:
            verdict.setdefault("vbench_below_mmaction2", [])
            if v < mm:
                verdict["vbench_below_mmaction2"].append(s.label)
    auto = next((s for s in splits if s.label == "auto"), None)
    if auto is not None:
        share = auto.median("vbench") / best.median("vbench")
        paired = round_ratios(auto, best)
        verdict["auto_over_best"] = share
        verdict["auto_over_best_per_round"] = paired
        print(f"auto ({auto.label_text()}) / best ({best.label}) = "
              f"{share:.3f} ({'meets' if share >= 0.95 else 'MISSES'} the 0.95 target)")
        if len(paired) > 1:
            print(f"  per round (auto and {best.label} of the same round): median "
                  f"{statistics.median(paired):.3f}, range [{min(paired):.3f}, {max(paired):.3f}], "
                  f">= 0.95 in {sum(r >= 0.95 for r in paired)} of {len(paired)} rounds")
    if "vbench_below_mmaction2" in verdict:
        below = verdict["vbench_below_mmaction2"]
        print(f"vbench >= mmaction2 in every split with both: {'yes' if not below else 'NO: ' + ', '.join(below)}")
    return verdict


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="sta")
    parser.add_argument("--config", default="mini")
    parser.add_argument("--videos", help="folder of videos, manifest or dataset (default: vbench-mini)")
    parser.add_argument("--limit", type=int, default=200, help="at most this many videos")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None,
                        help="decoding workers (default: vbench's, benchmark.parallelism)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads of the forward (default: vbench's, benchmark.parallelism)")
    parser.add_argument("--grid", help="splits to measure interleaved: auto,TxW,TxW@P,... or all")
    parser.add_argument("--no-mmaction2", action="store_true",
                        help="skip the comparison with mmaction2's own test pipeline")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each rate is its median over them")
    parser.add_argument("--precision", default="fp32",
                        help="comma-separated precisions whose forward is timed (fp32, bf16, fp16); "
                             "the first is the one vbench and mmaction2 run at")
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()
    for flag in ("threads", "workers"):
        value = getattr(args, flag)
        if value is not None and value < (1 if flag == "threads" else 0):
            parser.error(f"--{flag} must be >= {1 if flag == 'threads' else 0}")
    if args.grid and (args.threads is not None or args.workers is not None):
        parser.error("--grid names its own threads and workers: give it alone")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.grid:
        try:
            parse_grid(args.grid, 1)
        except ValueError as error:
            parser.error(str(error))
    return args


def main() -> int:
    args = _arguments()
    import bench_measures as m

    from benchmark.detector import build_detector
    from benchmark.distributed import init_from_env, is_main, shutdown, world
    from benchmark.parallelism import process_cores
    from benchmark.run_context import resolve_device

    cores = process_cores()
    splits = (parse_grid(args.grid, cores) if args.grid
              else [Split("auto" if args.threads is None and args.workers is None else "flags",
                          args.threads, args.workers)])
    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    manifest = m.manifest_of(args.videos).head(args.limit).reset_index(drop=True)
    device = init_from_env(resolve_device(args.device))
    for split in splits:
        _resolve(split, device, cores)
    detector = build_detector(args.method, args.config).to(device).set_inference(precisions[0])
    here = [s for s in splits if s.processes == 1]
    m.vbench_rate(detector, manifest.head(16), args.batch_size, (here or splits)[0].workers)  # warm caches
    measures, state = _measures(args, precisions), {}
    for _ in range(args.repeat):  # interleaved rounds
        for split in splits:
            if split.processes == 1:
                _measure_here(split, measures, detector, manifest, args, state)
            else:
                _measure_torchrun(split, args)
    if any("mmaction2" in s.rounds for s in splits):
        n = m.num_frames(manifest)
        state["frames"] = m.vbench_frames(detector, n), m.mmaction2_frames(detector.spec, n)
    main_process, processes = is_main(), world()[1]
    shutdown()
    if not main_process:
        return 0
    head = (f"method {args.method}/{args.config}, {len(manifest)} videos, {detector.spec.num_clips} "
            f"clip(s) x {detector.spec.frames} frames at {detector.spec.size}px, batch {args.batch_size}, "
            f"device {detector.device}, {cores} CPU cores for this process, {processes} process(es)")
    for split in splits:
        _print_split(split, head, state)
    if state.get("mm_error"):
        print(f"  mmaction2 test pipeline failed on these videos: {state['mm_error']}")
    verdict = print_grid(splits, args.repeat) if len(splits) > 1 else {}
    if args.json:
        _write_json(args, detector, manifest, processes, splits, verdict, state)
    return 0


def _write_json(args, detector, manifest, processes, splits, verdict, state) -> None:
    import platform

    import torch

    record = {"method": args.method, "config": args.config, "videos": len(manifest),
              "batch_size": args.batch_size, "precision": args.precision,
              "device": str(detector.device),
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "torch": torch.__version__, "python": platform.python_version(),
              "processes": processes, "clips": detector.spec.num_clips, "frames": detector.spec.frames,
              "size": detector.spec.size, "repeat": args.repeat, "verdict": verdict,
              "mmaction2_error": state.get("mm_error"), "load": os.getloadavg(),
              "splits": [_split_json(s) for s in splits],
              "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    Path(args.json).write_text(json.dumps(record, indent=2))


def _split_json(split: Split) -> dict:
    rates = {name: split.median(name) for name in split.rounds}
    bound = min(rates["decode"], rates["forward"])
    return {"label": split.label, "threads": split.threads, "workers": split.workers,
            "processes": split.processes, "forward_threads": split.forward_threads,
            "reason": split.reason, "rates": rates,
            "rounds": split.rounds, "gpu_stats": split.gpu,
            "vbench_over_min": rates["vbench"] / bound,
            "mmaction2_over_min": rates["mmaction2"] / bound if "mmaction2" in rates else None}


if __name__ == "__main__":
    sys.exit(main())
