"""The records of a run: ``run.json`` while it runs and when it ends, the result files, reuse of
scores computed by other code (``--reuse-across-versions``)."""
from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from benchmark.io import atomic_write_frame, atomic_write_json
from benchmark.preflight import content_key

log = logging.getLogger("vbench.run")


def _record(ctx) -> dict[str, Any]:
    """The parts of run.json known before any work."""
    from benchmark.data.several import describe_parts
    from benchmark.data.video import decoding_record
    from benchmark.distributed import world
    from benchmark.runs import device_info, package_versions
    from benchmark.plugins import outside_code
    from benchmark.registry import METHODS, PROTOCOLS
    from benchmark.version import code_info

    request = ctx.request
    code = code_info(outside_code(request.method, request.protocol))
    return {
        "run_id": ctx.run_id, "protocol": request.protocol, "protocol_version": ctx.protocol.version,
        "options": ctx.options, "method": request.method, "config": request.config,
        "config_dict": ctx.config, "cfg_overrides": request.cfg_options,
        "dataset": ctx.data_name, "data_source": request.data,
        "data_options": ctx.data.options.to_dict() if ctx.data is not None else None,
        "data_layout": ctx.data.layout if ctx.data is not None else None,
        "data_grouping": ctx.data.log.grouping if ctx.data is not None else None,
        "data_splitting": ctx.data.log.splitting if ctx.data is not None else None,
        "datasets": describe_parts(ctx.data) if ctx.data is not None else None,
        "manifest_hash": ctx.manifest.attrs.get("hash"), "n_manifest_rows": len(ctx.manifest),
        # the sha256 of the Croissant card `vbench data inspect --card` writes for this data
        "card_sha256": _card_hash(ctx),
        "seed": request.seed, "weights": ctx.weights.describe() if ctx.weights else None,
        "weights_sha256": ctx.weights.digest if ctx.weights else None,
        "code": code, "git_commit": code["git_commit"],
        # which plugin declared the method and the protocol (vbench's own, an installed
        # package's entry point, or an --include path)
        "sources": {"method": METHODS.source(request.method),
                    "protocol": PROTOCOLS.source(request.protocol)},
        "versions": package_versions(), "device": ctx.device,
        "device_info": device_info(ctx.device), "world_size": world()[1], "workers": ctx.workers,
        "parallelism": ctx.parallelism.to_json(), "decoding": decoding_record(),
        "canonicalize": ctx.canonical, "real_floor": request.real_floor,
        "reader": ctx.reader,
        "inference": {"precision": request.precision, "channels_last": request.channels_last,
                      # a defence's config has no eval section: it scores no clips
                      "batch_size": request.batch_size
                      or ctx.config.get("eval", {}).get("batch_size")},
        "units": [u.to_json() for u in ctx.units], "run_key": ctx.run.key,
        "content_key": content_key(ctx.key_spec), "key_spec": ctx.key_spec,
        "command": request.command}


def _card_hash(ctx) -> str | None:
    """The data's card hash, computed once per run (checksums are cached by stat key)."""
    if ctx.data is None:
        return None
    if getattr(ctx, "_card_sha256", None) is None:
        from benchmark.data.card import card_hash

        ctx._card_sha256 = card_hash(ctx.data)
    return ctx._card_sha256


def write_running(ctx) -> None:
    atomic_write_json(ctx.run.info_path, {**_record(ctx), "status": "running",
                                          "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def write_stopped(ctx, err: BaseException) -> None:
    """Marks a run that stopped with ``err`` after it was recorded as running: ``failed`` (with
    the error) or, for Ctrl-C, ``interrupted``. A record that does not say running (a complete
    run whose stored scores were being reused) is left alone; so is one that cannot be written
    (a full disk): the error that stopped the run is the one to report."""
    from benchmark.errors import VBenchError

    info = ctx.run.info()
    if info.get("status") != "running":
        return
    interrupted = isinstance(err, KeyboardInterrupt)
    error = str(err) if isinstance(err, VBenchError) else f"{type(err).__name__}: {err}"
    info.update(status="interrupted" if interrupted else "failed",
                stopped=time.strftime("%Y-%m-%dT%H:%M:%S%z"), error=None if interrupted else error)
    try:
        atomic_write_json(ctx.run.info_path, info)
    except (OSError, VBenchError) as exc:
        log.warning("could not mark %s %s: %s", ctx.run.info_path, info["status"], exc)


def find_reusable(ctx) -> dict[str, Any] | None:
    """A complete run of the same content (everything but the code) in the same ``--out``."""
    wanted = content_key(ctx.key_spec)
    for info_path in sorted(ctx.run.dir.parent.glob("*/run.json")):
        if info_path.parent == ctx.run.dir:
            continue
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (info.get("status") == "complete" and info.get("content_key") == wanted
                and (info_path.parent / "scores.parquet").is_file()):
            return {"run_dir": str(info_path.parent), "run_id": info.get("run_id"),
                    "code": info.get("code"), "finished": info.get("finished")}
    return None


def adopt_reused(ctx, other: dict[str, Any]):
    """Copies another code version's scores (and models) into this run; metrics are recomputed."""
    import pandas as pd

    source = Path(other["run_dir"])
    log.warning("--reuse-across-versions: reusing the scores of %s, computed by code %s (this code "
                "is %s); recorded in run.json", other["run_id"], (other.get("code") or {}).get(
                    "code_version"), ctx.key_spec.get("code"))
    if (source / "models").is_dir():
        shutil.copytree(source / "models", ctx.run.dir / "models", dirs_exist_ok=True)
    return pd.read_parquet(source / "scores.parquet")


def finish(ctx, scores, how, start: float) -> Path:
    """Writes metrics, tables, the manifest and the report, then marks the run complete."""
    import pandas as pd

    from benchmark.data.manifest import save_manifest
    from benchmark.report import RunData, render_report

    from benchmark.controls import protocol_scores, real_floor_metrics, shortcut_summary

    run, request = ctx.run, ctx.request
    results = ctx.protocol.metrics(protocol_scores(scores), ctx.options)
    results["protocol"] = {"name": ctx.protocol.name, "version": ctx.protocol.version}
    results["controls"] = {"real_vs_real": real_floor_metrics(scores)}
    cost = _cost(ctx, how)
    if cost is not None:
        results["cost"] = cost  # also in run.json; the stored-run reader checks they agree
    shortcuts = _stored_json(run.dir / "shortcuts.json") if how == "stored" else None
    if shortcuts is None:
        shortcuts = shortcut_summary(ctx.manifest, seed=request.seed)
        atomic_write_json(run.dir / "shortcuts.json", shortcuts)
    if how != "stored":
        atomic_write_frame(run.dir / "scores.parquet", scores)
    atomic_write_json(run.dir / "metrics.json", results)
    metrics = pd.DataFrame(results["rows"])
    for column, value in (("method", request.method), ("config", request.config),
                          ("protocol", request.protocol)):
        metrics.insert(0, column, value)
    atomic_write_frame(run.dir / "metrics.csv", metrics)
    save_manifest(ctx.manifest, run.dir / "manifest.csv")
    info = _final_info(ctx, scores, results, how, start)
    if cost is not None:
        info["cost"] = cost
    paths = render_report([RunData.from_memory(run.dir, info, scores, results, shortcuts)],
                          run.dir, title=f"vbench: {info['run_id']}")
    atomic_write_json(run.info_path, info)  # last: "complete" means every file above exists
    return paths["html"]


def _cost(ctx, how) -> dict[str, Any] | None:
    """The run's ``cost`` block: measured by this run's units (stored ones keep theirs), or, for
    scores this run did not compute, the record of the run that did (None: it has none)."""
    from benchmark.cost_meter import device_record, run_cost
    from benchmark.distributed import world

    if how == "stored":
        return ctx.run.info().get("cost")
    if isinstance(how, dict):  # --reuse-across-versions: the other run measured it
        other = _stored_json(Path(how["run_dir"]) / "run.json") or {}
        return other.get("cost")
    par = ctx.parallelism
    device = device_record(ctx.device, par.eval_workers, world()[1], par.forward_threads)
    return run_cost([ctx.unit_costs.get(u.name, {}) for u in ctx.units], device)


def _stored_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _final_info(ctx, scores, results, how, start: float) -> dict[str, Any]:
    previous = ctx.run.info()
    info = {**previous, **_record(ctx)}
    ctx.timings["total"] = round(time.perf_counter() - start, 2)
    if how == "stored":
        info["reuse_timings"] = ctx.timings
    else:
        info["timings"] = ctx.timings
    if isinstance(how, dict):
        info["reused_from"] = how
    failed = scores[scores["status"] != "ok"].drop_duplicates("video_id")
    info.update(status="complete", finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                n_videos=int(scores["video_id"].nunique()), n_failed=len(failed),
                failures=[{"video_id": v, "error": e} for v, e in zip(failed["video_id"],
                                                                      failed["error"])],
                summary=results["summary"], models=_models(ctx, previous))
    info.setdefault("created", info["finished"])
    return info


def _models(ctx, previous: dict[str, Any]) -> dict[str, Any]:
    from benchmark.weights import stored_models

    # a training-free method's units say so ("trained": false) instead of naming a model file
    untrained = {unit: card for unit, card in ctx.models.items() if card.get("trained") is False}
    if not (ctx.run.dir / "models").is_dir():
        return untrained or previous.get("models", {})
    stored = {unit: {"file": f"models/{m.file.name}", "sha256": m.card.get("sha256"),
                     "epoch": m.card.get("epoch"), "val_auc": m.card.get("val_auc"),
                     "val_criterion": m.card.get("val_criterion"),
                     "val_score": m.card.get("val_score"),
                     "n_train": m.card.get("n_train"), "n_val": m.card.get("n_val"),
                     "train_failed": m.card.get("train_failed", []),
                     "val_failed": m.card.get("val_failed", [])}
              for unit, m in stored_models(ctx.run.dir).items()}
    return {**untrained, **stored}
