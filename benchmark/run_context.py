"""What one `vbench run` is about: the request (the CLI arguments) and the context a protocol
gets (data, options, a detector factory, training and prediction), with the run's device and
decoding workers.

`benchmark.preflight` builds the context and `benchmark.runner` runs its units; both import this
module, which imports neither.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchmark.errors import DataError, VBenchError
from benchmark.run_views import ViewScoring

if TYPE_CHECKING:  # annotations only: the context stays importable without pandas or torch
    import pandas as pd

    from benchmark.data.options import DataOptions
    from benchmark.data.prepared import PreparedData
    from benchmark.protocol import Protocol, Unit
    from benchmark.runs import Run
    from benchmark.weights import WeightsSpec

log = logging.getLogger("vbench.run")
TRAINING_FREE = "training-free: nothing trained"


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
    workers: int | None = None  # None: chosen by `benchmark.parallelism.choose`
    threads: int | None = None  # torch threads; None: chosen by `benchmark.parallelism.choose`
    progress: bool = True
    force: bool = False
    cfg_options: dict[str, Any] = field(default_factory=dict)
    reuse_across_versions: bool = False
    data_options: DataOptions | None = None  # None: the defaults
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
    protocol: Protocol
    config: dict[str, Any]  # the method's resolved config (with --cfg-options)
    manifest: pd.DataFrame  # the videos (benchmark.data.manifest columns)
    options: dict[str, Any]  # the protocol's options, parsed
    device: str
    weights: WeightsSpec | None  # --weights; None: the run trains
    run: Run  # the run directory
    timings: dict[str, float] = field(default_factory=dict)
    unit: Unit | None = None  # the unit being scored
    units: list[Unit] = field(default_factory=list)
    models: dict[str, dict] = field(default_factory=dict)
    key_spec: dict[str, Any] = field(default_factory=dict)
    data_name: str = ""
    data: PreparedData | None = None  # how the manifest was made
    reader: dict[str, Any] | None = None  # what the clip reader runs (face finder, flow, preset)
    canonical: dict[str, Any] | None = None  # --canonicalize: recipe, hash, cache folder
    unit_costs: dict[str, dict] = field(default_factory=dict)  # unit -> its cost record
    # a training-free detector's per-video predictions, shared by the units (class_probs -> id -> row)
    _frozen: dict[bool, dict[str, dict]] = field(default_factory=dict, repr=False)
    _meter: Any = field(default=None, repr=False)

    @property
    def seed(self) -> int:
        return self.request.seed

    @property
    def cost(self):
        """The run's `benchmark.cost_meter.CostMeter` (made on first use)."""
        if self._meter is None:
            from benchmark.cost_meter import CostMeter

            self._meter = CostMeter(self.device)
        return self._meter

    @property
    def parallelism(self):
        """Torch threads and decoding workers (`benchmark.parallelism.choose`), and why."""
        from benchmark.parallelism import choose

        return choose(self.device, self.request.threads, self.request.workers)

    @property
    def workers(self) -> int:
        """Decoding workers: ``--workers``, else chosen from the machine."""
        return self.parallelism.workers

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
        if not getattr(detector, "trainable", True):
            return self._record_untrained(detector, train_df, val_df, task)
        stored = stored_models(self.run.dir).get(unit.name) if self.run.dir.is_dir() else None
        if stored is not None and stored.card.get("run_key") == self.run.key:
            log.info("%s: loading the model this run saved before (%s)", desc, stored.file)
            load_stored(detector, stored)
            self.models[unit.name] = stored.card
            return stored.card
        par = self.parallelism
        cfg = train_config(self.config, num_workers=par.workers, eval_workers=par.eval_workers,
                           forward_threads=par.forward_threads)
        result = train_detector(detector, train_df, val_df, cfg, seed=self.seed,
                                progress=self.request.progress, desc=desc, task=task)
        self.timings[desc] = round(result.seconds, 2)
        log.info("%s: best epoch %d (val %s %s) of %d", desc, result.best_epoch,
                 NAMES[result.criterion], result.best_val, cfg["epochs"])
        _warn_left_out(desc, "train", result.train_failed, len(train_df))
        _warn_left_out(desc, "val", result.val_failed, len(val_df))
        self.models[unit.name] = self._save_model(detector, result, train_df, val_df, task)
        return self.models[unit.name]

    def _record_untrained(self, detector, train_df, val_df, task: str) -> dict:
        """A training-free detector's unit card: nothing is trained or saved; the train and
        validation rows are only counted (thresholds are still chosen on validation scores)."""
        log.info("train[%s]: %s is training-free: nothing trained", self.unit.name,
                 type(detector).__name__)
        card = {"trained": False, "note": TRAINING_FREE, "method": self.request.method,
                "config": self.request.config, "unit": self.unit.name,
                "members": self.unit.to_json()["members"], "task": task,
                "n_train": len(train_df), "n_val": len(val_df)}
        self.models[self.unit.name] = card
        return card

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
                "train_failed": _failed_list(result.train_failed),
                "val_failed": _failed_list(result.val_failed),
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
        import pandas as pd

        from benchmark.inference import predict_videos

        desc = f"eval[{self.unit.name}]"
        if perturbation != "none":
            raise DataError(f"perturbation '{perturbation}': the clip readers apply no "
                            f"perturbations yet")
        batch = self._batch_size(detector)
        frozen = not getattr(detector, "trainable", True) and self.weights is None
        known = self._frozen.setdefault(class_probs, {}) if frozen else {}
        todo = frame[~frame["video_id"].isin(known)] if frozen else frame
        if len(todo) or not frozen:
            preds = predict_videos(detector, todo, batch_size=batch,
                                   num_workers=self.parallelism.eval_workers,
                                   forward_threads=self.parallelism.forward_threads,
                                   progress=self.request.progress, desc=desc,
                                   class_probs=class_probs, cost=self.cost)
            self.timings[desc] = round(self.timings.get(desc, 0.0) + preds.seconds, 2)
            scored = preds.table()
        if frozen:  # the same seeded untrained model in every unit: each video is scored once
            if len(todo):
                known.update({row["video_id"]: row for row in scored.to_dict("records")})
            log.info("%s: %d of %d videos scored before by this training-free model, reused",
                     desc, len(frame) - len(todo), len(frame))
            scored = pd.DataFrame([known[v] for v in frame["video_id"]])
        table = frame[["video_id", "dataset", "generator", "label", "split", "source_id"]]
        table = table.reset_index(drop=True).merge(scored, on="video_id", how="left")
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


def _failed_list(failed: dict[str, str]) -> list[dict[str, str]]:
    """``{video_id: reason}`` → run.json's ``[{"video_id", "error"}]``, sorted by id."""
    return [{"video_id": video_id, "error": failed[video_id]} for video_id in sorted(failed)]


def _warn_left_out(desc: str, split: str, failed: dict[str, str], total: int) -> None:
    """One warning naming the videos a split (``train`` or ``val``) lost because they could not
    be decoded."""
    from benchmark.stored_run import LEFT_OUT_SPLITS

    if not failed:
        return
    example = next(iter(failed.items()))
    log.warning("%s: %d of %d %s videos could not be decoded and were left out (e.g. %s: %s); "
                "run.json lists them under models.<unit>.%s_failed", desc, len(failed), total,
                LEFT_OUT_SPLITS[split], example[0], example[1], split)
