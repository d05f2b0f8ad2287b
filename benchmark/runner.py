"""`vbench run`: resolve and check everything, then run a protocol's units in the run store.

`prepare` resolves the protocol, options, method, config, device, weights and data and asks the
protocol for its plan — all before anything is written, so a bad input never leaves a run marked
"running"; an error after that (a video set the protocol cannot train on, a full disk) marks it
"failed" with the error, an interrupt "interrupted". `execute` then locks the run directory and, unit by unit, reuses a finished unit's
stored scores or has the protocol score it, saving each unit's scores (and trained model) as soon
as it is done. Metrics, tables and the report come from the score table alone; ``run.json`` says
``complete`` last.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import DataError, StoreError, VBenchError
from benchmark.run_views import ViewScoring
from benchmark.score_table import SCORE_COLUMNS  # declared once; the stored-run reader checks it too

log = logging.getLogger("vbench.run")


@dataclass
class RunRequest:
    """The CLI arguments of one `vbench run`."""

    protocol: str
    method: str
    config: str = "mini"
    data: str | None = None  # None: the protocol's DEFAULT_DATA
    weights: str | None = None
    device: str = "auto"
    out: str = "vbench_runs"
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    workers: int | None = None  # None: `default_workers` for the device
    progress: bool = True
    force: bool = False
    cfg_options: dict[str, Any] = field(default_factory=dict)
    reuse_across_versions: bool = False
    data_options: Any = None  # benchmark.data.options.DataOptions; None: defaults
    max_failed_share: float = 0.05
    canonicalize: str | None = None  # a benchmark.data.canonical recipe
    real_floor: bool = False
    precision: str = "fp32"  # evaluation autocast: fp32, bf16 or fp16
    channels_last: bool = False
    batch_size: int | str | None = None  # evaluation videos per batch; "auto"; None: the config's
    command: str = ""


@dataclass
class RunContext(ViewScoring):
    """What a protocol gets: data, options, a detector factory, training and prediction.

    ``ctx.unit`` is the unit being scored; `train` saves that unit's model, `predict` labels the
    rows with it.
    """

    request: RunRequest
    protocol: Any
    config: dict[str, Any]
    manifest: Any
    options: dict[str, Any]
    device: str
    weights: Any  # benchmark.weights.WeightsSpec or None
    run: Any
    timings: dict[str, float] = field(default_factory=dict)
    unit: Any = None
    units: list = field(default_factory=list)
    models: dict[str, dict] = field(default_factory=dict)
    key_spec: dict[str, Any] = field(default_factory=dict)
    data_name: str = ""
    data: Any = None  # benchmark.data.prepare.PreparedData: how the manifest was made
    reader: dict[str, Any] | None = None  # what the clip reader runs (face finder, flow, preset)
    canonical: dict[str, Any] | None = None  # --canonicalize: recipe, hash, cache folder

    @property
    def seed(self) -> int:
        return self.request.seed

    @property
    def workers(self) -> int:
        """Decoding workers: ``--workers``, else `default_workers` for the device."""
        return default_workers(self.device) if self.request.workers is None else self.request.workers

    def make_detector(self, num_classes: int | None = None):
        """The method's detector on the run's device, from the seeded start state, with the given
        weights loaded (so a unit's result does not depend on which units ran before it).

        Args:
            num_classes: a K-way head for a multi-class task (`Detector.with_num_classes`); None
                keeps the config's (binary detection).
        """
        from mmengine.runner import set_random_seed

        from benchmark.detector import build_detector

        set_random_seed(self.seed)
        config = self.config
        if num_classes is not None:
            config = self.detector_class().with_num_classes(config, num_classes)
        detector = build_detector(self.request.method, config).to(self.device)
        if self.weights is not None:
            log.info("%s", self.weights.load_into(detector))
        if self.reader is None:  # substitutions (a fallback face finder, OpenCV flow) on record
            self.reader = detector.clip_reader().provenance()
            if self.reader:
                log.info("clip reader: %s", self.reader)
        return detector.set_inference(self.request.precision, self.request.channels_last)

    def detector_class(self) -> type:
        """The method's `benchmark.detector.Detector` subclass (imported on first use)."""
        from benchmark.registry import registry

        return registry().get(self.request.method).load_class()

    def train(self, detector, train_df, val_df, task: str = "binary"):
        """Trains ``detector`` for the current unit and saves its best-on-validation weights.

        A model this run saved before an interruption (same key: same code, data, seed, config)
        is loaded instead of trained again.

        Args:
            task: ``binary`` (``label`` 0/1, selected by validation AUC) or ``multiclass``
                (``label`` holds class indices, selected by validation balanced accuracy).
        """
        from benchmark.training import NAMES, train_config, train_detector
        from benchmark.weights import load_stored, stored_models

        unit, desc = self.unit, f"train[{self.unit.name}]"
        stored = stored_models(self.run.dir).get(unit.name) if self.run.dir.is_dir() else None
        if stored is not None and stored.card.get("run_key") == self.run.key:
            log.info("%s: loading the model this run saved before (%s)", desc, stored.file)
            load_stored(detector, stored)
            self.models[unit.name] = stored.card
            return stored.card
        cfg = train_config(self.config, num_workers=self.workers)
        result = train_detector(detector, train_df, val_df, cfg, seed=self.seed,
                                progress=self.request.progress, desc=desc, task=task)
        self.timings[desc] = round(result.seconds, 2)
        log.info("%s: best epoch %d (val %s %s) of %d", desc, result.best_epoch,
                 NAMES[result.criterion], result.best_val, cfg["epochs"])
        self.models[unit.name] = self._save_model(detector, result, train_df, val_df, task)
        return self.models[unit.name]

    def _save_model(self, detector, result, train_df, val_df, task: str) -> dict:
        from benchmark.distributed import is_main
        from benchmark.version import code_version
        from benchmark.weights import save_model

        card = {"run_id": self.run_id, "run_key": self.run.key, "method": self.request.method,
                "config": self.request.config, "cfg_overrides": self.request.cfg_options,
                "protocol": self.protocol.name, "unit": self.unit.name,
                "members": self.unit.to_json()["members"], "epoch": result.best_epoch,
                "val_auc": result.best_val_auc, "val_criterion": result.criterion,
                "val_score": result.best_val, "task": task, "num_classes": detector.num_classes,
                "history": result.history, "seed": self.seed,
                "data_hash": self.manifest.attrs.get("hash"),
                "train_datasets": sorted(set(map(str, train_df["dataset"]))), "n_train": len(train_df),
                "n_val": len(val_df), "code_version": code_version()}
        if not is_main():
            return card
        return save_model(self.run.dir, self.unit.stem, detector.model, card)

    @property
    def run_id(self) -> str:
        r = self.request
        return f"{r.protocol}/{r.method}-{r.config}/{self.run.key}"

    def predict(self, detector, frame, perturbation: str = "none", severity: float = 0,
                class_probs: bool = False):
        """Scores the videos of ``frame`` (manifest rows) → the unit's tidy score table.

        Args:
            class_probs: add one ``prob_<k>`` column per class (multi-class tasks); ``score`` is
                then NaN for the protocol to set.
        """
        from benchmark.inference import predict_videos

        desc = f"eval[{self.unit.name}]"
        if perturbation != "none":
            raise DataError(f"perturbation '{perturbation}': the clip readers apply no "
                            f"perturbations yet")
        batch = self._batch_size(detector)
        preds = predict_videos(detector, frame, batch_size=batch, num_workers=self.workers,
                               progress=self.request.progress, desc=desc, class_probs=class_probs)
        self.timings[desc] = round(self.timings.get(desc, 0.0) + preds.seconds, 2)
        table = frame[["video_id", "dataset", "generator", "label", "split", "source_id"]]
        table = table.reset_index(drop=True).merge(preds.table(), on="video_id", how="left")
        table["method"], table["config"] = self.request.method, self.request.config
        table["protocol"], table["seed"] = self.request.protocol, self.seed
        table["unit"] = self.unit.name
        table["perturbation"], table["severity"] = perturbation, severity
        return table


    def _batch_size(self, detector) -> int:
        """``--batch-size``: a number, ``auto`` (probed once per run), else the config's."""
        from benchmark.batching import find_batch_size

        wanted = self.request.batch_size
        if wanted == "auto":
            if "batch_size" not in self.timings:
                self.timings["batch_size"] = find_batch_size(detector)
            return int(self.timings["batch_size"])
        return int(wanted) if wanted is not None else self.config["eval"]["batch_size"]


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


def check_out_dir(out: str) -> Path:
    """``--out`` must be a folder this process can create and write; nothing is created here (the
    run directory is created when it is locked)."""
    import os

    path = Path(out)
    too_long = [p for p in path.parts if len(os.fsencode(p)) > 255]
    if too_long:
        raise StoreError(f"cannot create --out folder {path}: File name too long "
                         f"({len(os.fsencode(too_long[0]))} bytes in one name; the limit is 255)")
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise StoreError(f"cannot create --out folder {path}: a file of that name is in the way "
                         f"({probe})")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise StoreError(f"cannot create --out folder {path}: permission denied ({probe} is not "
                         f"writable)")
    return path


def execute(request: RunRequest) -> Path | None:
    """Runs (or reuses) one protocol run; returns the HTML report's path (None on ranks > 0 under
    torchrun: rank 0 writes the results)."""
    from benchmark.distributed import is_main
    from benchmark.preflight import prepare

    start = time.perf_counter()
    ctx = prepare(request)
    ctx.timings["setup"] = round(time.perf_counter() - start, 2)
    if not is_main():
        request.progress = False
        run_units(ctx)
        return None
    from benchmark.finish import finish, write_stopped

    with ctx.run.locked(request.command), ctx.run.logging_to_file():
        try:
            scores, reused = run_units(ctx)
            return finish(ctx, scores, reused, start)
        except BaseException as err:  # run.json must not go on saying "running"
            write_stopped(ctx, err)
            raise


def run_units(ctx: RunContext):
    """The run's score table: stored, reused from other code (on request) or computed unit by
    unit, each finished unit saved at once. Returns ``(scores, how)`` with ``how`` None
    (computed), ``"stored"`` or the reused run's record."""
    import pandas as pd

    from benchmark.distributed import broadcast, is_main
    from benchmark.finish import find_reusable, adopt_reused, write_running

    run, request = ctx.run, ctx.request
    if broadcast(is_main() and run.is_complete() and not request.force):
        log.info("reusing stored scores of %s (same protocol, options, method, config, data, "
                 "seed, weights and code)", run.dir)
        return (pd.read_parquet(run.dir / "scores.parquet") if is_main() else None), "stored"
    if request.reuse_across_versions and is_main() and not request.force:
        other = find_reusable(ctx)
        if other is not None:
            return adopt_reused(ctx, other), other
    if request.force and is_main():
        run.clear_parts()
    if is_main():
        write_running(ctx)
    tables = [_unit_table(ctx, unit) for unit in ctx.units]
    return pd.concat(tables, ignore_index=True), None


def _unit_table(ctx: RunContext, unit):
    from benchmark.version import code_version

    ctx.unit = unit
    stored = ctx.run.load_part(unit)
    if stored is not None:
        log.info("unit %s: reusing its stored scores (%s)", unit.name, ctx.run.part_path(unit))
        return stored
    from benchmark.controls import is_control, score_real_floor

    start = time.perf_counter()
    table = score_real_floor(ctx, unit) if is_control(unit) else ctx.protocol.score(ctx, unit)
    check_score_table(table, unit.name, ctx.protocol.name)
    ctx.run.save_part(unit, table, {"seconds": round(time.perf_counter() - start, 2),
                                    "code_version": code_version()})
    return table


def check_score_table(table, unit: str, protocol: str) -> None:
    """A unit's table has the standard columns, and every scored row has a finite score."""
    import numpy as np

    missing = [c for c in SCORE_COLUMNS if c not in table.columns]
    if missing:
        raise VBenchError(f"protocol {protocol}, unit {unit!r}: the score table lacks "
                          f"{', '.join(missing)}")
    ok = table["status"] == "ok"
    bad = ok & ~np.isfinite(table["score"].to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        ids = table.loc[bad, "video_id"].tolist()
        raise VBenchError(f"unit {unit!r}: the detector returned non-finite scores for "
                          f"{len(ids)} video(s), e.g. {', '.join(map(repr, ids[:5]))}; nothing "
                          f"of this unit was stored (NaN/inf in the model's output)")
