#!/usr/bin/env python
"""Rewrite the numerical goldens (tests/goldens/<method>-<config>.json) and print what moved.

Run after a deliberate change to a detector's numerics (preprocessing, layers, config); the
golden test (tests/test_goldens.py) fails until then. Each line says how far the scores and class
probabilities moved (max absolute difference) against the tolerance the test uses, so an
unexpected change stands out before the files are committed.

    python tools/update_goldens.py                       # every golden
    python tools/update_goldens.py --method sta          # one method, both configs
    python tools/update_goldens.py --config mini         # the fast ones only
    python tools/update_goldens.py --check               # compare only; exit 1 if one moved
    python -m tools.update_goldens ...                   # the same
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", action="append", help="only this method (repeatable)")
    parser.add_argument("--config", choices=("mini", "paper"), action="append",
                        help="only this config (repeatable)")
    parser.add_argument("--check", action="store_true", help="compare only; write nothing")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (the goldens do not depend on it within ATOL)")
    return parser.parse_args(argv)


def _describe(old: dict | None, new: dict, atol: float) -> tuple[str, bool]:
    """One status line for a golden, and whether it moved beyond ``atol``."""
    from benchmark import goldens as G

    if old is None:
        return "new", True
    diff = G.max_difference(old, new)
    moved = max(diff.values()) > atol
    text = ", ".join(f"{k} max |diff| {v:.3g}" for k, v in diff.items())
    return f"{'MOVED' if moved else 'same '} ({text}; tolerance {atol:g})", moved


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    import torch

    from benchmark import goldens as G

    if args.threads:
        torch.set_num_threads(args.threads)
    cases = [(m, c) for m, c in G.golden_cases()
             if (not args.method or m in args.method) and (not args.config or c in args.config)]
    if not cases:
        print("no golden matches the options", file=sys.stderr)
        return 2
    moved_any = False
    for method, config in cases:
        start = time.perf_counter()
        new = G.compute(method, config)
        status, moved = _describe(G.load(method, config), new, G.ATOL)
        moved_any |= moved
        if not args.check and moved:
            G.save(new)
        print(f"{method:>12} {config:<5} {status}  [{time.perf_counter() - start:.1f} s]",
              flush=True)
        if moved:
            print(f"{'':>19}scores now {', '.join(f'{s:.6f}' for s in new['clip_scores'])}")
    for (method, config), why in G.SKIPPED.items():
        print(f"{method:>12} {config:<5} no golden: {why}")
    if args.check:
        return 1 if moved_any else 0
    print("rewritten: the files that moved (git diff tests/goldens shows them)" if moved_any
          else "nothing moved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
