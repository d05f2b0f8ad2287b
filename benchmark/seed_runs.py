"""``vbench run --seeds``: the protocol once per training seed, then the group's record and report.

Each seed is an ordinary run (`benchmark.runner.execute`, the run key of ``--seed S``), so a seed
that ran before is reused and an interrupted one resumes. The group record (``group.json``, see
`benchmark.stored_run.load_group`) is written after every member is complete, and the group's
report (`benchmark.report`, read back through the checked reader) beside it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path

from benchmark.errors import VBenchError
from benchmark.io import atomic_write_json, make_dir
from benchmark.report import render_report
from benchmark.runner import execute
from benchmark.stored_run import GROUP_FILE, GROUP_FORMAT, load_group, read_info

log = logging.getLogger("vbench.run")
GROUPS = "seed_groups"  # <store>/seed_groups/<protocol>/<method>-<config>/<group id>/


def parse_seeds(text: str) -> list[int]:
    """``"3"`` → ``[0, 1, 2]``; ``"0,4,7"`` → ``[0, 4, 7]``; anything else is refused.

    Raises:
        VBenchError: not N nor a comma-separated list of distinct non-negative integers, or
            fewer than two seeds (one seed has no spread: use ``--seed``).
    """
    expected = ("--seeds expects N (seeds 0..N-1) or a comma-separated list of distinct "
                "non-negative integers such as 0,1,2")
    parts = [p.strip() for p in str(text).split(",")]
    bad = [p for p in parts if not p.isdigit()]
    if bad:
        raise VBenchError(f"{expected}; got {text!r} ({bad[0]!r} is not a non-negative integer)")
    seeds = list(range(int(parts[0]))) if len(parts) == 1 else [int(p) for p in parts]
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if twice:
        raise VBenchError(f"{expected}; got {text!r} (seed {twice[0]} is given twice)")
    if len(seeds) < 2:
        raise VBenchError(f"{expected}; got {text!r}, which names {len(seeds)} seed(s): a group "
                          f"needs at least 2 (for one seed use --seed)")
    return seeds


def run_seeds(request, seeds: list[int]) -> Path | None:
    """Runs (or reuses) the protocol once per seed, then records and reports the group.

    Returns:
        The group report's path (None on torchrun ranks > 0, which only take part in the runs).
    """
    run_dirs = []
    for n, seed in enumerate(seeds, 1):
        log.info("seed group: seed %d (%d of %d)", seed, n, len(seeds))
        report = execute(dataclasses.replace(request, seed=seed))
        if report is not None:
            run_dirs.append(report.parent)
    if not run_dirs:
        return None
    group_dir = write_group(Path(request.out), run_dirs, seeds, request.command)
    paths = render_report([load_group(group_dir)], group_dir, title="vbench seed group")
    return paths["html"]


def write_group(out: Path, run_dirs: list[Path], seeds: list[int], command: str = "") -> Path:
    """Writes ``group.json`` for the finished runs ``run_dirs`` (one per seed, in order)."""
    infos = [read_info(d) for d in run_dirs]
    first = infos[0]
    gid = hashlib.sha256(json.dumps({"runs": [i["run_id"] for i in infos], "seeds": seeds}
                                    ).encode()).hexdigest()[:12]
    group_dir = make_dir(out / GROUPS / first["protocol"] / f"{first['method']}-{first['config']}"
                         / gid, "seed group folder")
    record = {"kind": "seed_group", "format": GROUP_FORMAT, "group_id": gid,
              "protocol": first["protocol"], "protocol_version": first.get("protocol_version"),
              "method": first["method"], "config": first["config"], "options": first.get("options"),
              "cfg_overrides": first.get("cfg_overrides"), "dataset": first.get("dataset"),
              "data_source": first.get("data_source"), "data_options": first.get("data_options"),
              "code_version": (first.get("code") or {}).get("code_version"), "seeds": seeds,
              "members": [{"seed": seed, "run_key": info.get("run_key"), "run_id": info["run_id"],
                           "run": Path(d).resolve().relative_to(out.resolve()).as_posix(),
                           "manifest_hash": info.get("manifest_hash")}
                          for seed, info, d in zip(seeds, infos, run_dirs)],
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": command}
    atomic_write_json(group_dir / GROUP_FILE, record)
    return group_dir
