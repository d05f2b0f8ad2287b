#!/usr/bin/env python
"""Training throughput: seconds per epoch of `benchmark.training.train_detector` for several
splits of the cores between torch threads and decoding workers, measured interleaved.

What is timed is what ``vbench run`` pays per trained unit and epoch: weight initialisation, the
optimiser, the loaders and ``--epochs`` epochs of the detector's own training loop (one random clip
per video and step, its augmentation and batch size), with no validation pass. The videos are the
demo's first training unit: vbench-mini's ``train`` split, real and the first fake generator (240
videos), or every video of ``--videos`` (a folder, manifest or dataset layout), whatever its split.

A split is ``auto`` (what ``vbench run`` trains with, `benchmark.parallelism.choose`) or ``TxW``
(T torch threads, W decoding workers). Round 1 runs every split of every method, round 2 again,
..., so a slow spell of a shared machine hits them alike. The table gives each split's median
seconds per epoch and its rate over the method's best split; ``auto`` should reach >= 0.95 of it.
Before the first round each method trains one untimed epoch, so that per-video caches (AIGVDet
computes each video's flow images once) are filled for every split alike (``--no-warmup``: cold,
as the first unit of a run). Each split also reports how far its trained weights are from the
first split's (max absolute difference): threads change the order of floating-point sums,
workers must not change anything.

    python tools/bench_train.py                                   # every trainable method
    python tools/bench_train.py --method sta --grid auto,1x1,2x0 --repeat 5
    python tools/bench_train.py --json bench_train.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import bench_eval  # noqa: E402  (its grid syntax and Split: here ``rounds[method]`` are seconds)
from bench_eval import Split  # noqa: E402


def parse_grid(text: str) -> list[Split]:
    """``auto,1x1,2x0`` → the splits, in that order: `bench_eval.parse_grid`'s syntax, less the
    splits training has no form for (workers that forward, several processes) and ``all``, whose
    expansion is evaluation's."""
    if text.strip() == "all":
        raise ValueError("--grid all is bench_eval.py's; name training's splits: auto,TxW,...")
    splits = bench_eval.parse_grid(text, cores=1)
    for split in splits:
        if split.processes > 1 or split.forward_threads is not None:
            raise ValueError(f"--grid entry {split.label!r}: training takes auto or TxW (T >= 1 torch "
                             f"threads, W >= 0 workers)")
    if not splits:
        raise ValueError("--grid names no split")
    return splits


def trainable_methods() -> list[str]:
    """The registered detectors that train (all but the training-free, ``trainable = False``)."""
    from benchmark.registry import registry

    reg = registry()
    return [name for name in reg.keys("detector") if getattr(reg.get(name).load_class(), "trainable", True)]


def training_rows(videos: str | None, limit: int):
    """The demo's first training unit (real + the first fake generator of the train split), or
    every video of ``videos`` whatever its split."""
    import bench_measures as m

    rows = m.manifest_of(videos)
    if videos is None:
        rows = rows[rows["split"] == "train"]
        first = sorted(set(rows.loc[rows["label"] == 1, "generator"]))[0]
        rows = rows[(rows["label"] == 0) | (rows["generator"] == first)]
    if rows["label"].nunique() < 2:
        raise SystemExit("bench_train.py: error: the training videos need both labels (0 and 1)")
    return rows.head(limit).reset_index(drop=True)


def _resolve(split: Split, cores: int) -> None:
    from benchmark.parallelism import choose

    chosen = choose("cpu", split.threads, split.workers, cores=cores)
    split.threads, split.workers, split.reason = chosen.threads, chosen.workers, chosen.reason


def time_epochs(method: str, config: str, rows, split: Split, epochs: int) -> tuple[float, dict]:
    """Seconds per epoch of one `train_detector` call at ``split``, and the trained weights. The
    detector is built afresh from the seeded start state each time, as ``vbench run`` builds one
    per unit (`RunContext.make_detector`); the build is not timed."""
    import torch
    from mmengine.runner import set_random_seed

    from benchmark.detector import build_detector
    from benchmark.training import train_config, train_detector

    torch.set_num_threads(split.threads)
    set_random_seed(0)
    detector = build_detector(method, config).to("cpu")
    cfg = train_config(detector.config, num_workers=split.workers)
    cfg["epochs"] = epochs
    start = time.perf_counter()
    train_detector(detector, rows, rows.iloc[:0], cfg, seed=0, progress=False)
    seconds = (time.perf_counter() - start) / epochs
    return seconds, {k: v.detach().clone() for k, v in detector.model.state_dict().items()}


def max_difference(a: dict, b: dict) -> float:
    return max(((x.float() - b[k].float()).abs().max().item() for k, x in a.items()
                if x.is_floating_point() and x.numel()), default=0.0)


def print_table(methods: list[str], splits: list[Split], weight_diff: dict[int, dict], repeat: int,
                n: int) -> dict:
    """The seconds-per-epoch table, and ``weight_diff`` (split position → method → max |weight
    difference| from the first split's)."""
    print(f"\ntraining, {n} videos, medians of {repeat} interleaved rounds (seconds per epoch; "
          f"in brackets the split's rate over the method's best):")
    print("| method | " + " | ".join(f"{s.label} ({s.threads}x{s.workers})" if s.label == "auto"
                                    else s.label for s in splits) + " | best | auto / best |")
    print("|---|" + "---:|" * (len(splits) + 2))
    verdict = {}
    for method in methods:
        best = min(splits, key=lambda s: s.median(method))
        cells = [f"{s.median(method):.3f} [{best.median(method) / s.median(method):.3f}]" for s in splits]
        auto = next((s for s in splits if s.label == "auto"), None)
        share = best.median(method) / auto.median(method) if auto else None
        verdict[method] = {"best": best.label, "auto_over_best": share}
        print(f"| {method} | " + " | ".join(cells) + f" | {best.label} | "
              f"{'-' if share is None else f'{share:.3f}'} |")
    print("\nmax |weight difference| from the first split's trained weights:")
    for i, s in enumerate(splits[1:], start=1):
        print(f"  {s.label}: " + ", ".join(f"{m} {weight_diff.get(i, {}).get(m, 0.0):.2e}" for m in methods))
    return verdict


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", action="append",
                        help="a method to train (repeatable; default: every trainable method)")
    parser.add_argument("--config", default="mini")
    parser.add_argument("--videos", help="folder of videos, manifest or dataset (default: vbench-mini)")
    parser.add_argument("--limit", type=int, default=240, help="at most this many training videos")
    parser.add_argument("--grid", default="auto,1x1,2x0,2x1,1x2", help="splits: auto,TxW,...")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed call")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each time is its median")
    parser.add_argument("--no-warmup", action="store_true",
                        help="skip the untimed epoch per method before the first round")
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()
    if args.repeat < 1 or args.epochs < 1 or args.limit < 2:
        parser.error("--repeat and --epochs must be >= 1, --limit >= 2")
    try:
        parse_grid(args.grid)
    except ValueError as error:
        parser.error(str(error))
    return args


def main() -> int:
    args = _arguments()
    import platform

    from benchmark.parallelism import process_cores

    cores = process_cores()
    splits = parse_grid(args.grid)
    for split in splits:
        _resolve(split, cores)
    methods = args.method or trainable_methods()
    rows = training_rows(args.videos, args.limit)
    print(f"{len(rows)} training videos, {cores} CPU cores, methods {', '.join(methods)}; splits "
          + "; ".join(f"{s.label}: {s.threads} threads, {s.workers} workers ({s.reason or 'flags'})"
                      for s in splits), flush=True)
    if not args.no_warmup:  # fills per-video caches (AIGVDet's flow images) before any timing
        for method in methods:
            time_epochs(method, args.config, rows, splits[0], 1)
    first_weights, weight_diff = {}, {}
    for round_ in range(args.repeat):
        for method in methods:
            for i, split in enumerate(splits):
                seconds, weights = time_epochs(method, args.config, rows, split, args.epochs)
                split.rounds.setdefault(method, []).append(seconds)
                if split is splits[0]:
                    first_weights[method] = weights
                elif round_ == 0:
                    weight_diff.setdefault(i, {})[method] = max_difference(weights, first_weights[method])
                print(f"round {round_ + 1}, {method}, {split.label}: {seconds:.3f} s/epoch", flush=True)
    verdict = print_table(methods, splits, weight_diff, args.repeat, len(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "videos": len(rows), "cores": cores, "config": args.config, "epochs": args.epochs,
            "repeat": args.repeat, "machine": platform.platform(),
            "splits": [{"label": s.label, "threads": s.threads, "workers": s.workers,
                        "reason": s.reason, "seconds_per_epoch": s.rounds,
                        "max_weight_difference": weight_diff.get(i, {})} for i, s in enumerate(splits)],
            "verdict": verdict}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
