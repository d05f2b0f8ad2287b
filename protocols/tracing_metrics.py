"""Source-tracing metrics of one unit, from its rows of the score table alone."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmark.inference import prob_column
from benchmark.metric_catalog import Metric
from benchmark.metrics import (UndefinedMetricError, confusion_matrix, multiclass_summary,
                               per_class_prf, roc_auc, row_normalised, unknown_scores)
from benchmark.resampled import auc_from_counts

AUROC_UNKNOWN = Metric("auroc_unknown", "AUROC unknown (open set)", fn=roc_auc,
                       vectorised=auc_from_counts, tasks=("multiclass",),
                       description="held-out generators' test videos against the known classes', "
                       "by 1 - max class probability")


def tracing_metrics(scores: pd.DataFrame) -> dict[str, Any]:
    """Per unit: its row, per-class rows and confusion matrix, each row's and per-class row's
    ``ci``; and the units' replicates on the shared resamples (`protocols.tracing_intervals`)."""
    from protocols.tracing_intervals import shared_counts, unit_replicates

    test = scores[(scores["split"] == "test") & (scores["status"] == "ok")]
    videos, counts = shared_counts(test)
    position = pd.Series(np.arange(len(videos)), index=videos["video_id"])
    units, replicates = [], []
    for unit, part in scores.groupby("unit", sort=False):
        result = unit_metrics(str(unit), part)
        ok = part[(part["split"] == "test") & (part["status"] == "ok")]
        columns = position.loc[ok["video_id"]].to_numpy(dtype=np.int64)
        replicates.append(unit_replicates(ok, counts[:, columns], result["row"],
                                          result["per_class"], AUROC_UNKNOWN))
        units.append(result)
    return {"units": units, "replicates": replicates, "videos": videos}


def unit_metrics(unit: str, part: pd.DataFrame) -> dict[str, Any]:
    """``row`` (closed-set metrics on the known classes + open-set AUROC), ``per_class`` rows and
    ``confusion`` (known classes, then each held-out generator, against the known classes)."""
    classes = [str(c) for c in part["classes"].iloc[0]]
    test = part[part["split"] == "test"]
    ok = test[test["status"] == "ok"]
    probs = ok[[prob_column(k) for k in range(len(classes))]].to_numpy(dtype=np.float64)
    known = ok["known"].to_numpy(dtype=bool)
    labels = ok["class_index"].to_numpy(dtype=np.int64)
    row = {"unit": unit, "n_known": int(known.sum()), "n_unknown": int((~known).sum()),
           "n_failed": int((test["status"] != "ok").sum()),
           **multiclass_summary(labels[known], probs[known])}
    auroc, note = _unknown_auroc(known, probs)
    row["auroc_unknown"] = auroc
    row["note"] = "; ".join(n for n in (row["note"], note) if n)
    return {"row": row, "per_class": _per_class(unit, classes, labels[known], probs[known]),
            "confusion": _confusion(unit, classes, ok, probs)}


def _unknown_auroc(known: np.ndarray, probs: np.ndarray) -> tuple[float | None, str]:
    """AUROC of "unknown generator" (1 − max softmax probability); None without held-out videos."""
    if known.all():
        return None, ""  # closed set: nothing held out, no note needed
    try:
        return roc_auc((~known).astype(int), unknown_scores(probs)), ""
    except UndefinedMetricError as err:
        return None, f"AUROC unknown undefined: {err.reason}"


def _per_class(unit: str, classes: list[str], labels: np.ndarray, probs: np.ndarray) -> list[dict]:
    if not len(labels):
        return []
    prf = per_class_prf(labels, probs.argmax(axis=1), len(classes))
    return [{"unit": unit, "class": f"{k}: {name}", "precision": _value(prf["precision"][k]),
             "recall": _value(prf["recall"][k]), "f1": _value(prf["f1"][k]),
             "n_support": int(prf["support"][k])} for k, name in enumerate(classes)]


def _value(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _confusion(unit: str, classes: list[str], ok: pd.DataFrame, probs: np.ndarray) -> dict:
    """Counts and row shares: rows are the true known classes, then each held-out generator
    (which known class its videos were taken for); columns the predicted known classes."""
    k = len(classes)
    preds = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=np.int64)
    known = ok["known"].to_numpy(dtype=bool)
    labels = ok["class_index"].to_numpy(dtype=np.int64)
    counts = (confusion_matrix(labels[known], preds[known], k) if known.any()
              else np.zeros((k, k), dtype=np.int64))
    rows, blocks = list(classes), [counts]
    names = ok["class_name"].astype(str).to_numpy()
    for name in sorted(set(names[~known])):
        rows.append(f"{name} (held out)")
        blocks.append(np.bincount(preds[names == name], minlength=k)[None, :])
    table = np.vstack(blocks)
    return {"unit": unit, "rows": rows, "cols": classes, "counts": table.tolist(),
            "normalised": [[None if np.isnan(v) else float(v) for v in r]
                           for r in row_normalised(table)]}
