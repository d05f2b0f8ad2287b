#!/usr/bin/env python
"""The table of `tools/gpu_check.sh`: one row per benchmarked config (bench_*.json in a folder):
videos/s of decode, the forward at each precision, vbench and mmaction2's loop, and the two loops'
ratio to min(decode, forward)."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def rows(folder: Path) -> list[str]:
    out = ["| config | device | decode | forward fp32 | forward bf16 | forward fp16 | vbench | "
           "mmaction2 | vbench/min | mmaction2/min | GPU util % | peak MiB |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for path in sorted(folder.glob("bench_*.json")):
        record = json.loads(path.read_text())
        split = record["splits"][0]
        rates, gpu = split["rates"], split["gpu_stats"].get("vbench", {})
        first = record["precision"].split(",")[0]

        def rate(key: str) -> str:
            key = "forward" if key == f"forward[{first}]" else key
            return f"{rates[key]:.1f}" if key in rates else "-"

        ratio = lambda v: f"{v:.3f}" if v is not None else "-"  # noqa: E731
        out.append(f"| {record['method']}/{record['config']} | {record['device']} | {rate('decode')} "
                   f"| {rate('forward[fp32]')} | {rate('forward[bf16]')} | {rate('forward[fp16]')} "
                   f"| {rate('vbench')} | {rate('mmaction2')} | {ratio(split['vbench_over_min'])} "
                   f"| {ratio(split['mmaction2_over_min'])} | {gpu.get('gpu_util_mean') or '-'} "
                   f"| {gpu.get('gpu_peak_mb') or '-'} |")
    return out


if __name__ == "__main__":
    print("\n".join(rows(Path(sys.argv[1]))))
