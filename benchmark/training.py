"""Training a detector the mmaction2 way: mmengine's optimizer wrapper, parameter scheduler and
``model.train_step`` (data preprocessor → backbone → head → loss → update).

The checkpoint kept is the one with the best validation criterion: AUC for binary detection;
balanced accuracy (mean per-class recall) for a K-way task, where AUC has no single value and a
large class (real) must not dominate the choice. The test split is never seen here.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmark.errors import DataError

log = logging.getLogger("vbench.train")
# task -> the validation criterion that selects the checkpoint (a key of each history entry)
CRITERIA = {"binary": "val_auc", "multiclass": "val_balanced_accuracy"}
NAMES = {"val_auc": "AUC", "val_balanced_accuracy": "balanced accuracy"}


@dataclass
class TrainResult:
    """What training produced: the selected weights and how they were selected."""

    state_dict: dict
    best_epoch: int
    best_val_auc: float | None  # binary detection; None for a multi-class task
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    criterion: str = CRITERIA["binary"]
    best_val: float | None = None  # the criterion's value at the kept epoch
    # videos that could not be decoded, left out: {video_id: reason} of the training split (in
    # any epoch, on any rank) and of the validation split (which then selects on the others)
    train_failed: dict[str, str] = field(default_factory=dict)
    val_failed: dict[str, str] = field(default_factory=dict)


def train_config(cfg: dict[str, Any], num_workers: int = 2, eval_workers: int | None = None,
                 forward_threads: int | None = None) -> dict[str, Any]:
    """The detector config's ``train`` section over the schema's defaults, plus the run's
    parallelism (a property of the run, not of the config): ``num_workers`` decoding workers of
    training, and the validation passes' ``eval_workers`` (None: ``num_workers``) and
    ``forward_threads`` (`benchmark.inference.predict_videos`)."""
    from benchmark.config import TrainConfig

    merged = TrainConfig().model_dump()
    merged.update(copy.deepcopy(cfg.get("train", {})))
    merged["num_workers"] = num_workers
    merged["eval_workers"] = num_workers if eval_workers is None else eval_workers
    merged["forward_threads"] = forward_threads
    return merged


def train_detector(detector, train_df, val_df, cfg: dict[str, Any], seed: int = 0,
                   progress: bool = True, desc: str = "train", task: str = "binary") -> TrainResult:
    """Trains ``detector.model`` on ``train_df``; keeps the epoch with the best validation
    criterion (`CRITERIA`).

    Args:
        detector: a `benchmark.detector.Detector`.
        train_df: manifest rows of the training split; ``label`` is the target (0/1, or the class
            index for a multi-class task).
        val_df: manifest rows of the validation split (selection only).
        cfg: the ``train`` section (see `train_config`).
        seed: seeds python, numpy, torch and the data order.
        task: ``binary`` or ``multiclass`` (the head then has one output per class).
    """
    from mmengine.runner import set_random_seed

    if task not in CRITERIA:
        raise ValueError(f"train_detector: task must be one of {sorted(CRITERIA)}, got {task!r}")
    set_random_seed(seed)
    start = time.perf_counter()
    # As mmengine's Runner does before training: apply init_cfg and the backbones' `pretrained`
    # start points (e.g. CLIP for StA, ImageNet I3D for MMVGM), seeded above.
    _init_weights_quietly(detector.model)
    optim = _optim_wrapper(detector.model, cfg)
    loaders = _TrainLoaders(detector, [_rank_rows(_epoch_rows(train_df, cfg, seed + e), seed, e)
                                       for e in range(cfg["epochs"])], cfg, seed)
    scheduler = _scheduler(optim, cfg, total_iters=max(sum(len(loader) for loader in loaders.epochs), 1))
    try:
        best = _fit(detector, loaders.epochs, optim, scheduler, val_df, cfg, seed, progress, desc, task)
    finally:
        loaders.close()  # the workers stop here, also when training fails part-way
    best.best_val_auc = best.best_val if task == "binary" else None
    detector.model.load_state_dict(best.state_dict)
    detector.model.eval()
    best.seconds = time.perf_counter() - start
    return best


def _fit(detector, epochs, optim, scheduler, val_df, cfg, seed: int, progress: bool, desc: str,
         task: str) -> TrainResult:
    """Runs the epochs; keeps the state of the best epoch by the task's criterion."""
    criterion = CRITERIA[task]
    best = TrainResult(copy.deepcopy(detector.model.state_dict()), -1, None, criterion=criterion)
    model = _train_model(detector.model)
    for epoch, loader in enumerate(epochs):
        loss, failures = _run_epoch(detector, model, loader, optim, scheduler, seed + epoch,
                                    progress, f"{desc} {epoch + 1}/{cfg['epochs']}")
        if loss is None:
            raise DataError(_nothing_trained(desc, epoch, len(loader.dataset), failures))
        for video_id, reason in _all_ranks_failures(failures):
            best.train_failed.setdefault(video_id, reason)
        value, val_failed = _validate(detector, val_df, cfg, progress, task)
        best.val_failed.update(val_failed)
        best.history.append({"epoch": epoch + 1, "loss": loss, criterion: value})
        log.info("%s epoch %d: loss %.4f, val %s %s", desc, epoch + 1, loss, NAMES[criterion],
                 "n/a" if value is None else f"{value:.4f}")
        if best.best_epoch < 0 or (value is not None and (best.best_val is None
                                                          or value > best.best_val)):
            best.state_dict = copy.deepcopy(detector.model.state_dict())
            best.best_epoch, best.best_val = epoch + 1, value
    if len(val_df) and best.best_val is None:
        raise DataError(f"{desc}: the validation {NAMES[criterion]} is undefined in every epoch "
                        f"(validation videos undecodable or of one class), so no checkpoint can be "
                        f"chosen on validation; check the {len(val_df)} validation videos")
    return best


def _init_weights_quietly(model) -> None:
    """``model.init_weights()`` without mmengine's one INFO line per parameter on the console."""
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def _epoch_rows(train_df, cfg, seed: int):
    """The videos of one epoch: all of them, or with ``balance`` every video of the smaller class
    plus as many videos of the larger one, drawn anew each epoch (seeded)."""
    import pandas as pd

    if not cfg.get("balance"):
        return train_df
    counts = train_df["label"].value_counts()
    if len(counts) < 2:
        return train_df
    n = int(counts.min())
    parts = [group.sample(n=n, random_state=seed) if len(group) > n else group
             for _, group in train_df.groupby("label")]
    return pd.concat(parts)


def _rank_rows(rows, seed: int, epoch: int):
    """This rank's equal share of an epoch's rows under torchrun (all of them otherwise).

    The equal cut leaves ``n mod world_size`` rows out of each epoch. Cut from the list as it
    comes, those would be its last rows every epoch; cut from `epoch_permutation` (the same order
    on every rank, a new one each epoch) they change from epoch to epoch. One process keeps its
    rows as they are: its loader shuffles them, and its training must not change.
    """
    from benchmark.distributed import epoch_permutation, shard, world

    if world()[1] == 1:
        return rows
    order = epoch_permutation(len(rows), seed, epoch)  # [n], identical on every rank
    return rows.iloc[order[shard(len(rows), equal=True)]]


def _train_model(model):
    """The model whose ``train_step`` to call: wrapped in mmengine's DDP under torchrun, so that
    gradients are averaged over the ranks before each update."""
    from benchmark.distributed import world

    if world()[1] == 1:
        return model
    from mmengine.model import MMDistributedDataParallel

    device = next(model.parameters()).device
    return MMDistributedDataParallel(module=model, device_ids=[device] if device.type == "cuda" else None)


class _TrainLoaders:
    """Every epoch's batches from one DataLoader, so that its decoding workers start once per
    training rather than once per epoch, and decode the next epoch's first batches while the
    validation pass runs.

    Each epoch keeps its own `ClipDataset` (its rows in its own shuffled order, its ``set_epoch``)
    and its own batches, cut as a per-epoch loader cuts them (the last partial batch dropped when
    the epoch has more rows than a batch). An item's randomness is seeded by (seed, epoch, index)
    alone, so the batches and the trained weights are those of one loader per epoch, with any
    number of workers. ``epochs[e]`` iterates epoch ``e``'s batches; the epochs are read in order.
    """

    def __init__(self, detector, epoch_rows: list, cfg: dict, seed: int):
        from torch.utils.data import BatchSampler, ConcatDataset

        from benchmark.data.dataset import ClipDataset, make_loader

        # One random clip per video and step; evaluation uses the spec's full clip coverage.
        spec = dataclasses.replace(detector.spec, num_clips=1, sampling="random")
        reader = detector.clip_reader(spec, train=True)
        size = cfg["batch_size"]
        datasets, batches, offset = [], [], 0
        for epoch, rows in enumerate(epoch_rows):
            # We shuffle here rather than in the DataLoader: its shuffled order came out different
            # with and without worker processes (measured), and scores must not depend on the
            # worker count.
            rows = rows.sample(frac=1.0, random_state=(seed * 1_000_003 + epoch) % 2**32)
            dataset = ClipDataset(rows, spec, train=True, seed=seed, reader=reader)
            dataset.set_epoch(epoch)
            # the batches a per-epoch DataLoader with drop_last=len(rows) > size cut
            cut = list(BatchSampler(range(offset, offset + len(rows)), size,
                                    drop_last=len(rows) > size))
            datasets.append(dataset)
            batches.append(cut)
            offset += len(rows)
        every = [b for cut in batches for b in cut]
        self._loader = make_loader(ConcatDataset(datasets), batch_size=size,
                                   num_workers=cfg["num_workers"], seed=seed,
                                   batch_sampler=every) if every else None
        self._iterator = None
        self.epochs = [_EpochBatches(self, dataset, len(cut)) for dataset, cut in zip(datasets, batches)]

    def next_batch(self):
        if self._iterator is None:
            self._iterator = iter(self._loader)
        return next(self._iterator)

    def close(self) -> None:
        """Stops the workers (dropping the iterator shuts them down)."""
        self._iterator = None


class _EpochBatches:
    """One epoch's batches, drawn from the loader every epoch shares (`_TrainLoaders`)."""

    def __init__(self, loaders: _TrainLoaders, dataset, n_batches: int):
        self.loaders, self.dataset, self.n_batches = loaders, dataset, n_batches

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self):
        for _ in range(self.n_batches):
            yield self.loaders.next_batch()


def _optim_wrapper(model, cfg):
    from mmengine.optim import build_optim_wrapper

    wrapper = {"type": "OptimWrapper", "optimizer": copy.deepcopy(cfg["optimizer"])}
    if cfg.get("grad_clip"):
        wrapper["clip_grad"] = {"max_norm": float(cfg["grad_clip"])}
    return build_optim_wrapper(model, wrapper)


def _scheduler(optim, cfg, total_iters: int):
    from mmengine.optim import CosineAnnealingLR, LinearLR

    warmup = min(max(int(cfg.get("warmup_ratio", 0) * total_iters), 0), total_iters - 1)
    schedulers = []
    if warmup:
        schedulers.append(LinearLR(optim, start_factor=0.1, by_epoch=False, begin=0, end=warmup))
    kind = cfg.get("scheduler", "cosine")
    if kind == "cosine":
        schedulers.append(CosineAnnealingLR(optim, T_max=max(total_iters - warmup, 1), by_epoch=False,
                                            begin=warmup, end=total_iters, eta_min_ratio=0.01))
    elif kind == "linear":
        schedulers.append(LinearLR(optim, start_factor=1.0, end_factor=0.0, by_epoch=False,
                                   begin=warmup, end=total_iters))
    return schedulers


def _run_epoch(detector, model, loader, optim, schedulers, seed, progress, desc
               ) -> tuple[float | None, list]:
    """One epoch; returns the mean loss (None when no batch could be decoded) and the failures."""
    import torch
    from tqdm.auto import tqdm

    from benchmark.distributed import all_ranks, world

    device = detector.device
    model.train()
    generator = torch.Generator().manual_seed(seed)
    losses, failures = [], []
    distributed = world()[1] > 1
    with tqdm(loader, desc=desc, unit="batch", disable=not progress, leave=False) as bar:
        for batch in bar:
            failures += batch.failures
            # DDP ranks must step together: a batch with no decodable video is skipped by all
            if not (all_ranks(len(batch.clips) > 0) if distributed else len(batch.clips)):
                continue
            clips, labels = detector.train_batch_transform(batch.clips, batch.labels, generator)
            log_vars = model.train_step(_mmaction_batch(clips, labels, device), optim)
            for sched in schedulers:
                sched.step()
            loss = log_vars["loss"]
            losses.append(float(loss.detach() if hasattr(loss, "detach") else loss))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    return (float(np.mean(losses)) if losses else None), failures


def _all_ranks_failures(failures: list) -> list:
    """``(video_id, reason)`` of the videos every rank failed to read this epoch (each rank reads
    its own share of the training split)."""
    from benchmark.distributed import gather, world

    if world()[1] == 1:
        return failures
    return [item for part in gather(list(failures)) for item in part]


def _nothing_trained(desc: str, epoch: int, tried: int, failures: list) -> str:
    example = f"; e.g. {failures[0][0]}: {failures[0][1]}" if failures else ""
    return (f"{desc}: no training video could be decoded in epoch {epoch + 1} ({tried} tried, "
            f"{len(failures)} failed{example}); nothing was trained")


def _mmaction_batch(clips, labels, device) -> dict:
    """uint8 clips ``[N, 3, T, H, W]`` and labels ``[N]`` → mmaction2's ``{inputs, data_samples}``."""
    from mmaction.structures import ActionDataSample

    inputs = list(clips.to(device)[:, None])  # N x [1 view, 3, T, H, W]; the preprocessor stacks
    samples = [ActionDataSample().set_gt_label(int(label)) for label in labels]
    return {"inputs": inputs, "data_samples": samples}


def _validate(detector, val_df, cfg, progress, task: str = "binary"
              ) -> tuple[float | None, dict[str, str]]:
    """The task's validation criterion (`CRITERIA`), None where it is undefined, and the
    validation videos that could not be decoded (``{video_id: reason}``), which it leaves out."""
    from benchmark.inference import predict_videos
    from benchmark.metrics import UndefinedMetricError, balanced_accuracy, roc_auc

    if val_df is None or not len(val_df):
        return None, {}
    multiclass = task == "multiclass"
    preds = predict_videos(detector, val_df, batch_size=cfg["batch_size"],
                           num_workers=cfg.get("eval_workers", cfg["num_workers"]),
                           forward_threads=cfg.get("forward_threads"), progress=progress, desc="val",
                           class_probs=multiclass)
    labels = val_df["label"].to_numpy()
    failed = {video_id: error for video_id, error in zip(preds.video_id, preds.error) if error}
    try:
        if multiclass:
            ok = ~np.isnan(preds.probs).any(axis=1)
            return balanced_accuracy(labels[ok], preds.probs[ok].argmax(axis=1)), failed
        ok = ~np.isnan(preds.score)
        return roc_auc(labels[ok], preds.score[ok]), failed
    except UndefinedMetricError:
        return None, failed
