"""Shortcut controls that every protocol gets from the runner.

- The shortcut check (always): every video of the run is probed (codec, size, frame rate, length,
  bitrate; `benchmark.shortcuts`), and the report warns where real and generated videos differ in
  how they are stored, with the AUC a trivial classifier reaches on those fields alone.
- ``--canonicalize RECIPE``: every video, real and generated, is re-encoded with one recipe before
  scoring (`benchmark.data.canonical`); the recipe's hash is part of the run key.
- ``--real-floor``: one more unit, outside the protocol, in which the detector is trained to tell
  two disjoint halves of the real videos apart (halves drawn by source) and scored on the real test
  videos; its AUC should be near 0.5. Far from it, the pipeline lets something other than
  generation separate videos (the number also shows how far chance alone moves an AUC at this
  sample size).
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
import pandas as pd

from benchmark.errors import DataError, VBenchError
from benchmark.protocol import Unit

log = logging.getLogger("vbench.run")
CONTROL = "control"
REAL_FLOOR = "real-vs-real (control)"


# ----------------------------------------------------------------------------- shortcut check
def shortcut_summary(manifest: pd.DataFrame, seed: int = 0) -> dict[str, Any]:
    """The JSON-able shortcut check of a manifest (``available: False`` with the reason when it
    cannot be made, e.g. no generated videos)."""
    from benchmark.shortcuts import media_table, shortcut_report

    table = media_table(manifest)
    failed = int((table["probe_error"] != "").sum())
    try:
        report = shortcut_report(table, seed=seed)
    except DataError as exc:
        return {"available": False, "reason": str(exc), "probe_failed": failed}
    numeric = report.numeric[report.numeric["field"].isin(("width", "height", "fps", "frames",
                                                           "bitrate", "crf"))]
    codecs = report.categorical[report.categorical["field"] == "codec"]
    return {"available": True, "warnings": list(report.warnings), "probe_failed": failed,
            "trivial_auc": _records(report.trivial_auc),
            "numeric": _records(numeric), "codecs": _records(codecs)}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


# ----------------------------------------------------------------------------- canonicalize
def canonicalize(manifest: pd.DataFrame, recipe: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every video of ``manifest`` re-encoded with ``recipe`` (cached): the manifest pointing at
    the copies, and what run.json records. A video that cannot be re-encoded stops the run (a mix
    of canonical and original files would defeat the control)."""
    from benchmark.data.canonical import canonicalize_manifest, parse_recipe, recipe_hash
    from benchmark.data.corpus import default_cache_dir

    parsed = parse_recipe(recipe)
    folder = default_cache_dir() / "canonical"
    try:
        out, failures = canonicalize_manifest(manifest, parsed, folder)
    except OSError as exc:
        from benchmark.errors import StoreError
        from benchmark.io import describe_os_error

        raise StoreError("--canonicalize: " + describe_os_error(exc, "write", exc.filename or folder))
    if failures:
        shown = "; ".join(f"{vid}: {reason}" for vid, reason in failures[:5])
        raise DataError(f"--canonicalize {recipe}: {len(failures)} of {len(manifest)} videos "
                        f"could not be re-encoded ({shown}); remove or fix them first")
    log.info("--canonicalize %s: %d videos re-encoded into %s", recipe, len(out), folder)
    return out, {"recipe": recipe, "recipe_hash": recipe_hash(parsed), "cache": str(folder)}


# ----------------------------------------------------------------------------- real-vs-real floor
def real_floor_unit(trains: bool) -> Unit:
    return Unit(REAL_FLOOR, trains=trains, members={CONTROL: ("real-vs-real",)})


def is_control(unit: Unit) -> bool:
    return CONTROL in unit.members


def _half(source_id: str, seed: int) -> int:
    """Which half a real source belongs to: a seeded hash, so halves never share a source."""
    digest = hashlib.sha256(f"{seed}:{source_id}".encode("utf-8", "surrogatepass")).digest()
    return digest[0] & 1


def score_real_floor(ctx, unit: Unit) -> pd.DataFrame:
    """Trains (unless weights are given) real half A vs real half B and scores the real videos of
    the validation and test splits; ``label`` stays 0, ``pseudo_label`` holds the half."""
    real = ctx.manifest[ctx.manifest["label"] == 0].copy()
    real["pseudo_label"] = [_half(s, ctx.seed) for s in real["source_id"]]
    for split in (("train", "val", "test") if unit.trains else ("test",)):
        counts = real.loc[real["split"] == split, "pseudo_label"].value_counts()
        if len(counts) < 2:
            raise DataError(f"--real-floor: the real videos of the {split} split do not fill two "
                            f"halves (by source: {dict(counts)}); it needs more real sources")
    pseudo = real.assign(label=real["pseudo_label"])
    detector = ctx.make_detector()
    if unit.trains:
        ctx.train(detector, pseudo[pseudo["split"] == "train"], pseudo[pseudo["split"] == "val"])
    scored = real[real["split"].isin(("val", "test"))]
    table = ctx.predict(detector, scored)
    table["pseudo_label"] = scored["pseudo_label"].to_numpy()
    return table


def real_floor_metrics(scores: pd.DataFrame) -> dict[str, Any] | None:
    """AUC of half B vs half A on the real test videos of the control unit (None without it)."""
    from benchmark.metrics import UndefinedMetricError, roc_auc

    rows = scores[(scores["unit"] == REAL_FLOOR) & (scores["split"] == "test")
                  & (scores["status"] == "ok")]
    if rows.empty:
        return None
    out: dict[str, Any] = {"n_a": int((rows["pseudo_label"] == 0).sum()),
                           "n_b": int((rows["pseudo_label"] == 1).sum())}
    try:
        out["auc"] = roc_auc(rows["pseudo_label"].astype(int).to_numpy(), rows["score"].to_numpy())
    except (UndefinedMetricError, VBenchError) as exc:
        out.update(auc=None, note=str(exc))
    return out


def protocol_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """The score table without control rows (what the protocol's metrics see)."""
    return scores[scores["unit"] != REAL_FLOOR] if "unit" in scores.columns else scores
