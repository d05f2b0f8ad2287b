"""Shortcut checks: do real and generated videos differ in how they are stored, not what they show?

A detector can score well because generated videos are shorter, smaller, differently encoded or
more compressed than real ones. `media_table` probes every video of a manifest
(`benchmark.data.media.probe_media`); `shortcut_report` summarises each field per class and per
generator, warns where real and generated differ, and measures how well a trivial classifier on
those fields alone separates them (cross-validated, grouped by ``source_id``): an AUC far above 0.5
means the dataset has a shortcut a detector could learn.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from benchmark.data.media import probe_media
from benchmark.errors import DataError, VideoDecodeError
from benchmark.metric_catalog import Metric

NUMERIC = ("width", "height", "fps", "frames", "duration", "bitrate", "bpp", "crf")
RATE_FIELDS = ("bitrate", "bpp")  # at one CRF these follow content detail too, not only encoding
RATE_NOTE = "; at one CRF for both, this also reflects how much detail the content has"
CATEGORICAL = ("container", "codec", "profile", "pix_fmt", "encoder")
REAL = "real"


def _column(key: str, label: str, fmt: str = "number", description: str = "") -> Metric:
    return Metric(key, label, None, tasks=(), format=fmt, description=description)


# The columns of the shortcut check's tables (report.py); none has a better direction: a trivial
# AUC far from 0.5 either way means the storage gives the label away.
METRICS: tuple[Metric, ...] = (
    _column("group", "group", "text"), _column("field", "field", "text"),
    _column("codec", "codec", "text"),
    _column("logistic", "logistic", description="AUC of a logistic regression on stored fields"),
    _column("tree", "tree", description="AUC of a depth-3 tree on stored fields"),
    _column("median", "median"), _column("min", "min"), _column("max", "max"),
    _column("share", "share", description="share of the group's videos with this codec"),
)


def media_table(manifest: pd.DataFrame, probe: Callable[[str], dict] = probe_media) -> pd.DataFrame:
    """One row per manifest row: ``video_id``, ``label``, ``generator``, ``source_id`` and the
    probed fields; a video that cannot be probed keeps NaNs and its reason in ``probe_error``."""
    rows = []
    for row in manifest.itertuples(index=False):
        base = dict(video_id=row.video_id, label=int(row.label), generator=row.generator,
                    source_id=getattr(row, "source_id", row.video_id), probe_error="")
        try:
            base.update(probe(row.path))
        except VideoDecodeError as error:
            base["probe_error"] = error.reason
        rows.append(base)
    return pd.DataFrame(rows)


@dataclass
class ShortcutReport:
    """What `shortcut_report` found.

    Attributes:
        numeric: per group (``class:real``, ``class:generated``, ``generator:<name>``) and numeric
            field: n, median, min, max.
        categorical: per group, categorical field and value: the share of videos with it.
        separability: per field and generated group: the AUC of that field alone against real.
        trivial_auc: per group (``class:generated`` = all generated videos, ``generator:<name>``)
            and classifier (``logistic``, ``tree``): the grouped cross-validated AUC against real
            on all fields together; NaN where there are too few sources to cross-validate.
        warnings: one sentence per difference worth a look.
    """

    numeric: pd.DataFrame
    categorical: pd.DataFrame
    separability: pd.DataFrame
    trivial_auc: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def _groups(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    groups = [("class:real", table[table.label == 0]), ("class:generated", table[table.label == 1])]
    groups += [(f"generator:{g}", part) for g, part in table[table.label == 1].groupby("generator")]
    return [(name, part) for name, part in groups if len(part)]


def _in_group(table: pd.DataFrame, group: str) -> pd.Series:
    kind, _, name = group.partition(":")
    if kind == "class":
        return table.label == (0 if name == REAL else 1)
    return (table.label == 1) & (table.generator == name)


def _summaries(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    numeric, categorical = [], []
    for name, part in _groups(table):
        for col in (c for c in NUMERIC if c in part):
            values = pd.to_numeric(part[col], errors="coerce").dropna()
            numeric.append(dict(group=name, field=col, n=len(values),
                                median=values.median() if len(values) else np.nan,
                                min=values.min() if len(values) else np.nan,
                                max=values.max() if len(values) else np.nan))
        for col in (c for c in CATEGORICAL if c in part):
            shares = part[col].fillna("").astype(str).value_counts(normalize=True)
            categorical += [dict(group=name, field=col, value=v, share=float(s)) for v, s in shares.items()]
    return pd.DataFrame(numeric), pd.DataFrame(categorical)


def _field_auc(values: pd.Series, labels: pd.Series) -> float:
    """AUC of one numeric field as a score for "generated" (NaN rows dropped; NaN if constant)."""
    from sklearn.metrics import roc_auc_score

    values = pd.to_numeric(values, errors="coerce")
    keep = values.notna()
    if keep.sum() < 2 or labels[keep].nunique() < 2 or values[keep].nunique() < 2:
        return np.nan
    return float(roc_auc_score(labels[keep], values[keep]))


def _differences(table: pd.DataFrame, auc_warn: float, share_warn: float
                 ) -> tuple[pd.DataFrame, list[str]]:
    """Per generated group: numeric fields' AUC against real, categorical total-variation distance."""
    real = table[table.label == 0]
    rows, warnings = [], []
    for name, part in _groups(table)[1:]:
        pair = pd.concat([real, part])
        for col in (c for c in NUMERIC if c in table):
            auc = _field_auc(pair[col], pair.label)
            rows.append(dict(group=name, field=col, auc=auc))
            if not np.isnan(auc) and max(auc, 1 - auc) >= auc_warn:
                side = "higher" if auc > 0.5 else "lower"
                warnings.append(
                    f"{col}: {col} alone separates {name} from real with AUC {max(auc, 1 - auc):.2f} "
                    f"({side} in generated; median {pd.to_numeric(part[col]).median():.4g} vs real "
                    f"{pd.to_numeric(real[col]).median():.4g})"
                    + (RATE_NOTE if col in RATE_FIELDS and _one_crf(pair) else ""))
        for col in (c for c in CATEGORICAL if c in table):
            a = real[col].fillna("").astype(str).value_counts(normalize=True)
            b = part[col].fillna("").astype(str).value_counts(normalize=True)
            tv = 0.5 * float(a.sub(b, fill_value=0.0).abs().sum())
            if tv >= share_warn:
                warnings.append(f"{col}: {name} is {_top(b)}, real is {_top(a)} "
                                f"(total variation {tv:.2f})")
    return pd.DataFrame(rows), warnings


def _one_crf(table: pd.DataFrame) -> bool:
    """Whether every video states the same CRF."""
    crf = pd.to_numeric(table.get("crf", pd.Series(np.nan, index=table.index)), errors="coerce")
    return bool(crf.notna().all() and crf.nunique() == 1)


def _top(shares: pd.Series) -> str:
    return ", ".join(f"{100 * s:.0f}% {v or '(none)'}" for v, s in shares.head(3).items())


def _features(table: pd.DataFrame) -> np.ndarray:
    """Numeric fields (median-imputed, with missing flags) and one-hot categorical fields."""
    parts = []
    for col in (c for c in NUMERIC if c in table):
        values = pd.to_numeric(table[col], errors="coerce")
        parts += [values.fillna(values.median() if values.notna().any() else 0.0),
                  values.isna().astype(float)]
    frame = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=table.index)
    cats = [c for c in CATEGORICAL if c in table]
    if cats:
        frame = pd.concat([frame, pd.get_dummies(table[cats].fillna("").astype(str), dtype=float)], axis=1)
    return frame.to_numpy(np.float64)


def trivial_classifier_auc(table: pd.DataFrame, seed: int = 0, max_folds: int = 5) -> dict[str, float]:
    """Grouped cross-validated AUC of a logistic regression and a depth-3 tree on the probed fields.

    Folds keep every ``source_id`` on one side (StratifiedGroupKFold), so a classifier cannot pass
    by recognising a source. Returns NaN for both when either class has fewer than 2 sources.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    labels = table.label.to_numpy()
    sources = table.groupby("label").source_id.nunique()
    folds = int(min(max_folds, sources.min() if len(sources) == 2 else 0))
    if folds < 2:
        return {"logistic": np.nan, "tree": np.nan}
    x = _features(table)
    models = {"logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
              "tree": lambda: DecisionTreeClassifier(max_depth=3, random_state=seed)}
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = {}
    for name, build in models.items():
        scores = np.zeros(len(labels))
        for train, test in splitter.split(x, labels, table.source_id):
            if len(np.unique(labels[train])) < 2:
                scores[test] = 0.5
                continue
            scores[test] = build().fit(x[train], labels[train]).predict_proba(x[test])[:, 1]
        out[name] = float(roc_auc_score(labels, scores))
    return out


def shortcut_report(table: pd.DataFrame, auc_warn: float = 0.75, share_warn: float = 0.25,
                    seed: int = 0) -> ShortcutReport:
    """Summaries, per-field separability, the trivial classifier's AUC and warnings.

    Args:
        table: `media_table` output (rows with a ``probe_error`` are left out).
        auc_warn: warn when one numeric field alone separates a generated group from real with an
            AUC this far from 0.5 (either way), or when the trivial classifier reaches it.
        share_warn: warn when a categorical field's distribution differs by this total variation.
        seed: of the cross-validation split.

    Raises:
        DataError: the table lacks real or generated videos that could be probed.
    """
    ok = table[table.get("probe_error", "").fillna("") == ""] if "probe_error" in table else table
    if ok.label.nunique() < 2:
        raise DataError(f"shortcut_report: needs probed real and generated videos; got labels "
                        f"{sorted(ok.label.unique().tolist())} in {len(ok)} of {len(table)} rows")
    numeric, categorical = _summaries(ok)
    separability, warnings = _differences(ok, auc_warn, share_warn)
    real = ok[ok.label == 0]
    trivial = pd.DataFrame([dict(group=name, **trivial_classifier_auc(pd.concat([real, part]), seed))
                            for name, part in _groups(ok)[1:]])
    found = []
    for row in trivial.itertuples(index=False):
        best = np.nanmax([row.logistic, row.tree]) if not np.isnan([row.logistic, row.tree]).all() else np.nan
        if not np.isnan(best) and best >= auc_warn:
            pair = pd.concat([real, ok[_in_group(ok, row.group)]])
            found.append(f"{row.group}: a classifier on container/codec fields alone tells it "
                               f"from real with AUC {best:.2f} (grouped CV by source): a shortcut"
                               + (RATE_NOTE if _one_crf(pair) else ""))
    return ShortcutReport(numeric, categorical, separability, trivial, found + warnings)
