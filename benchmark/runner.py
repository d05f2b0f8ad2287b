"""`vbench run`: resolves method, config, data and protocol, runs it in the run store, writes the
score table, metrics and report."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import UnknownKeyError, VBenchError

log = logging.getLogger("vbench.run")


@dataclass
class RunRequest:
    """The CLI arguments of one `vbench run`."""

    protocol: str
    method: str
    config: str = "mini"
    data: str = "vbench-mini"
    weights: str | None = None
    device: str = "auto"
    out: str = "vbench_runs"
    seed: int = 0
    options: dict[str, str] = field(default_factory=dict)
    workers: int | None = None  # None: `default_workers` for the device
    progress: bool = True
    force: bool = False
    cfg_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunContext:
    """What a protocol gets: data, a detector factory, training and prediction, the run store."""

    request: RunRequest
    config: dict[str, Any]
    manifest: Any
    run: Any
    device: str
    weights_sha256: str | None
    options: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def weights(self) -> str | None:
        return self.request.weights

    @property
    def workers(self) -> int:
        """Decoding workers: ``--workers``, else `default_workers` for the device."""
        return default_workers(self.device) if self.request.workers is None else self.request.workers

    def make_detector(self):
        from mmengine.runner import set_random_seed

        from benchmark.detector import build_detector

        # Every model starts from the same seeded state, so a train set's result does not depend
        # on which train sets ran before it (a resumed run equals an uninterrupted one).
        set_random_seed(self.request.seed)
        detector = build_detector(self.request.method, self.config).to(self.device)
        if self.weights:
            # a single file is checked against the digest taken when the run started
            single = Path(self.weights).is_file()
            log.info("%s", detector.load_weights(self.weights,
                                                 sha256=self.weights_sha256 if single else None))
        return detector

    def train(self, detector, train_df, val_df, desc: str = "train"):
        from benchmark.training import train_config, train_detector

        cfg = train_config(self.config)
        cfg["num_workers"] = self.workers
        result = train_detector(detector, train_df, val_df, cfg, seed=self.request.seed,
                                progress=self.request.progress, desc=desc)
        self.timings[desc] = round(result.seconds, 2)
        log.info("%s: best epoch %d (val AUC %s) of %d", desc, result.best_epoch,
                 result.best_val_auc, cfg["epochs"])
        return result

    def predict(self, detector, frame, desc: str = "eval"):
        from benchmark.inference import predict_videos

        batch = self.config.get("eval", {}).get("batch_size", 8)
        preds = predict_videos(detector, frame, batch_size=batch, num_workers=self.workers,
                               progress=self.request.progress, desc=desc)
        self.timings[desc] = round(preds.seconds, 2)
        table = frame[["video_id", "dataset", "generator", "label", "split", "source_id"]]
        table = table.reset_index(drop=True).merge(preds.table(), on="video_id", how="left")
        table["method"], table["config"] = self.request.method, self.request.config
        table["protocol"], table["seed"] = self.request.protocol, self.request.seed
        table["perturbation"], table["severity"] = "none", 0
        return table


def apply_cfg_options(config: dict[str, Any], options: dict[str, Any], origin: str) -> dict:
    """Sets dotted keys (``train.epochs=1``) in a config, refusing keys the config does not have."""
    for dotted, value in options.items():
        node, *path = config, *dotted.split(".")
        for part in path[:-1]:
            if not isinstance(node.get(part) if isinstance(node, dict) else None, dict):
                raise VBenchError(f"--cfg-options {dotted}: '{part}' is not a section of {origin}")
            node = node[part]
        node[path[-1]] = value
    return config


def default_workers(device: str) -> int:
    """Decoding workers when ``--workers`` is not given.

    On a GPU, workers decode while the GPU computes. On a CPU they compete with the model's own
    threads; on two cores that costs more than it overlaps (measured with StA mini on vbench-mini:
    one training 14.7 s with no worker, 20.5 s with one, 22.3 s with two), so small CPU machines
    decode in the main process.
    """
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if device.startswith("cuda"):
        return min(8, max(cores - 1, 1))
    return 0 if cores <= 4 else 2


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise VBenchError(f"--device {device}: CUDA is not available on this machine "
                          f"(torch {torch.__version__}); use --device cpu or auto")
    if device != "cpu" and not device.startswith("cuda"):
        raise VBenchError(f"--device must be auto, cpu or cuda[:N], got '{device}'")
    return device


def _options(protocol, given: dict[str, str]) -> dict[str, str]:
    options = {name: allowed[0] for name, allowed in protocol.OPTIONS.items()}
    for name, value in given.items():
        if name not in protocol.OPTIONS:
            raise UnknownKeyError("protocol option", name, protocol.OPTIONS)
        if value not in protocol.OPTIONS[name]:
            raise UnknownKeyError(f"value of option '{name}'", value, protocol.OPTIONS[name])
        options[name] = value
    return options


def weights_files(weights: str) -> list[Path]:
    """The files named by ``--weights``: one file, a folder of part files, or ``part=file,...``."""
    from benchmark.errors import WeightsError

    path = Path(weights)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
    elif "=" in weights:
        files = [Path(item.partition("=")[2].strip()) for item in weights.split(",")]
    else:
        files = []
    missing = [str(f) for f in files if not f.is_file()]
    if not files or missing:
        raise WeightsError(f"weights file not found: {', '.join(missing) or weights}")
    return files


def weights_digest(weights: str) -> str:
    """sha256 of the weights file; for several files, ``name:sha256`` of each joined by commas."""
    from benchmark.checkpoint import sha256_file

    files = weights_files(weights)
    if len(files) == 1 and Path(weights).is_file():
        return sha256_file(files[0])
    return ",".join(f"{f.name}:{sha256_file(f)}" for f in files)


def execute(request: RunRequest) -> Path | None:
    """Runs (or reuses) one protocol run; returns the HTML report's path (None on ranks > 0 under
    torchrun: rank 0 writes the results)."""
    from benchmark.datasets import resolve_data
    from benchmark.registry import registry
    from benchmark.runs import Run, run_key
    from protocols import get_protocol

    start = time.perf_counter()
    protocol = get_protocol(request.protocol)
    entry = registry().get(request.method)
    config = apply_cfg_options(entry.config(request.config), request.cfg_options,
                               f"config '{request.config}' of {request.method}")
    options = _options(protocol, request.options)
    from benchmark.distributed import init_from_env, is_main, main_first

    device = init_from_env(resolve_device(request.device))
    if not is_main():
        request.progress = False
    weights_sha = weights_digest(request.weights) if request.weights else None
    with main_first():  # rank 0 builds the embedded corpus once; the others then read it
        data_name, manifest = resolve_data(request.data, seed=request.seed)
    from benchmark.data.manifest import manifest_hash

    key_spec = {"protocol": request.protocol, "options": options, "method": request.method,
                "config": config, "data": manifest_hash(manifest), "seed": request.seed,
                "weights": weights_sha}
    run = Run(Path(request.out), request.protocol, request.method, request.config, run_key(key_spec))
    ctx = RunContext(request, config, manifest, run, device, weights_sha, options,
                     timings={"setup": round(time.perf_counter() - start, 2)})
    with run.logging_to_file():
        scores = _scores(ctx, protocol, key_spec, data_name)
        return _finish(ctx, protocol, scores, start) if is_main() else None


def _scores(ctx: RunContext, protocol, key_spec: dict, data_name: str):
    import pandas as pd

    from benchmark.distributed import broadcast, is_main, world
    from benchmark.runs import atomic_write_json, device_info, git_commit, package_versions

    run, request = ctx.run, ctx.request
    stored = broadcast(is_main() and run.is_complete() and not request.force)
    if stored:
        log.info("reusing stored scores of %s (same configuration, data, seed and weights)", run.dir)
        return pd.read_parquet(run.dir / "scores.parquet") if is_main() else None
    if request.force and is_main():
        for part in (run.dir / "parts").glob("*.parquet"):
            part.unlink()
    if not is_main():
        return protocol.score(ctx)
    atomic_write_json(run.info_path, {
        "run_id": f"{request.protocol}/{request.method}-{request.config}/{run.key}",
        "status": "running", "protocol": request.protocol, "method": request.method,
        "config": request.config, "config_dict": ctx.config, "dataset": data_name,
        "data_source": request.data, "manifest_hash": key_spec["data"], "seed": request.seed,
        "weights": request.weights, "weights_sha256": ctx.weights_sha256, "options": ctx.options,
        "versions": package_versions(), "git_commit": git_commit(), "device": ctx.device,
        "device_info": device_info(ctx.device), "world_size": world()[1],
        "workers": ctx.workers, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return protocol.score(ctx)


def _finish(ctx: RunContext, protocol, scores, start: float) -> Path:
    from benchmark.report import load_run, render_report
    import pandas as pd

    from benchmark.runs import atomic_write_frame, atomic_write_json

    run = ctx.run
    results = protocol.metrics(scores)
    atomic_write_frame(run.dir / "scores.parquet", scores)
    atomic_write_json(run.dir / "metrics.json", results)

    metrics = pd.DataFrame(results["rows"])
    for column, value in (("method", ctx.request.method), ("config", ctx.request.config),
                          ("protocol", ctx.request.protocol)):
        metrics.insert(0, column, value)
    atomic_write_frame(run.dir / "metrics.csv", metrics)
    info = run.info()
    ctx.timings["total"] = round(time.perf_counter() - start, 2)
    if info.get("status") == "complete":  # scores reused: keep the timings of the computing run
        info["reuse_timings"] = ctx.timings
    else:
        info["timings"] = ctx.timings
    info.update(status="complete", n_videos=int(scores["video_id"].nunique()),
                n_failed=int(scores.drop_duplicates("video_id")["status"].ne("ok").sum()),
                summary=results["summary"])
    atomic_write_json(run.info_path, info)
    paths = render_report([load_run(run.dir)], run.dir, title=f"vbench: {info['run_id']}")
    return paths["html"] if "html" in paths else next(iter(paths.values()))
