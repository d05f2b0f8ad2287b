"""benchmark.metric_catalog: one declaration per key, and every table of every protocol reads it.

The protocol views are built from small synthetic score tables (as tests/test_report.py and
tests/protocols/ make them): no training, no decoding.
"""
from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest

from benchmark import report
from benchmark.errors import RegistryError, UnknownKeyError
from benchmark.metric_catalog import CATALOG, Metric, MetricCatalog, fill_from_plugins
from protocols import (PROTOCOLS, chronological, cross_dataset, cross_generator, get_protocol,
                       protection_efficacy, robustness, source_tracing)
from tests.protocols.test_source_tracing import _table as tracing_table
from tests.test_report import _scores


@pytest.fixture(autouse=True, scope="module")
def _protocols_loaded() -> None:
    """A protocol's own keys enter the catalog when the protocol is loaded."""
    for name in PROTOCOLS:
        get_protocol(name)


# ----------------------------------------------------------------------------- the catalog itself
def test_a_key_declared_twice_differently_names_both_sources() -> None:
    catalog = MetricCatalog()
    first = catalog.add(Metric("auc_x", "AUC x"), "benchmark.mine")
    assert catalog.add(first, "benchmark.mine") is first  # the same declaration: a no-op
    assert catalog.add(Metric("auc_x", "AUC x"), "a.plugin") == first  # equal: a no-op too
    with pytest.raises(RegistryError, match=r"'auc_x' is declared twice: by benchmark\.mine .* "
                                            r"and by a\.plugin"):
        catalog.add(Metric("auc_x", "AUC x", higher_is_better=False), "a.plugin")
    assert catalog.source("auc_x") == "benchmark.mine" and len(catalog) == 1


def test_a_builtin_key_redeclared_by_a_plugin_is_refused() -> None:
    catalog = MetricCatalog(fill_from_plugins)
    with pytest.raises(RegistryError, match=r"by vbench built-in plugin 'core' .* and by my_plugin"):
        catalog.add(Metric("ece", "ECE", True), "my_plugin")


def test_unknown_key_suggests_the_closest() -> None:
    with pytest.raises(UnknownKeyError, match=r"Unknown metric 'acu'\. Did you mean: auc"):
        CATALOG.get("acu")
    assert "auc" in CATALOG and "acu" not in CATALOG
    assert CATALOG.label("some_extra_column") == "some extra column"  # undeclared: its name
    with pytest.raises(UnknownKeyError):
        CATALOG.direction("some_extra_column")


def test_declarations_say_which_way_is_better() -> None:
    assert [CATALOG.direction(k) for k in ("auc", "eer", "ece", "brier", "mean_auc_drop",
                                           "auc_drop", "n_failed", "train_set", "level")] == \
        ["high", "low", "low", "low", "low", "low", "low", "text", "text"]
    assert CATALOG.label("tpr_at_fpr0.1") == "TPR@FPR0.1%"
    assert {m.key for m in CATALOG.for_task("multiclass")} >= {"balanced_accuracy", "macro_f1"}
    binary = {m.key for m in CATALOG.for_task("binary") if m.vectorised is not None}
    assert binary == {"auc", "ap", "eer", "acc_at_0.5", "acc_at_val", "tpr_at_fpr5",
                      "tpr_at_fpr1", "tpr_at_fpr0.1", "pauc_fpr10", "ece", "brier"}


def test_a_metric_computes_with_its_params_and_binds_its_row() -> None:
    y, s = np.array([0, 0, 1, 1]), np.array([0.2, 0.6, 0.4, 0.9])
    assert CATALOG.get("acc_at_0.5")(y, s) == pytest.approx(0.5)
    with pytest.raises(TypeError, match="bind"):
        CATALOG.get("acc_at_val")(y, s)
    assert CATALOG.get("acc_at_val").bind({"val_threshold": 0.3})(y, s) == pytest.approx(0.75)
    assert CATALOG.get("acc_at_val").bind({"val_threshold": None}) is None
    with pytest.raises(RegistryError, match="format expected one of"):
        Metric("x", "x", format="percent")


def test_every_protocol_primary_and_leaderboard_metric_is_the_catalogs() -> None:
    for name in PROTOCOLS:
        protocol = get_protocol(name)
        for metric in protocol.leaderboard:
            assert CATALOG.get(metric.key) == metric, (name, metric.key)


# ----------------------------------------------------------------------------- every protocol's tables
def _binary_scores() -> pd.DataFrame:
    return _scores(np.random.default_rng(3), 1.5, {"gen_a", "gen_b"})


def _cross_dataset_scores() -> pd.DataFrame:
    frame = _binary_scores()
    frame["dataset"] = np.where(frame["generator"] == "gen_b", "B", "A")
    frame["train_datasets"] = [["A"] if u == "gen_a" else ["B"] for u in frame["unit"]]
    return frame


def _chronological_scores() -> pd.DataFrame:
    """One cut (2023-01) trained on gen_a; gen_b released 5 months later."""
    frame = _binary_scores()
    frame = frame[frame["unit"] == "gen_a"].assign(unit="up to 2023-01", cut="2023-01")
    frame["release_date"] = frame["generator"].map({"gen_a": "2023-01", "gen_b": "2023-06"}).fillna("")
    frame["date_precision"] = np.where(frame["label"] == 1, "month", "")
    frame["release_source"], frame["date_origin"] = "a test", "dates.yaml:1"
    return frame


def _robustness_scores() -> pd.DataFrame:
    clean = _binary_scores()
    clean = clean[clean["unit"] == "gen_a"].assign(perturbation="none", severity=0)
    rng = np.random.default_rng(5)
    parts = [clean]
    for name in ("blur", "noise"):
        for level in (1, 3):
            part = clean[clean["split"] == "test"].assign(perturbation=name, severity=level)
            part["score"] = np.clip(part["score"] + rng.normal(0, 0.1 * level, len(part)), 0, 1)
            parts.append(part)
    return pd.concat(parts, ignore_index=True).assign(read_seconds=0.01, decode_seconds=0.02)


def _tracing_scores() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return tracing_table([int(c) for c in rng.integers(0, 3, 30)],
                         rng.dirichlet(np.ones(3), 30).tolist())


def _lvdm_results() -> dict[str, Any]:
    from detectors.lvdm.efficacy import lvdm_metrics

    rng = np.random.default_rng(0)
    rows = []
    for v in range(12):
        label, stopped = int(v < 6), v < 6 and v % 2 == 0
        for step in range(4):
            rows.append({"video": f"v{v}", "video_id": f"v{v}@{step:03d}", "label": label,
                         "step": step, "flag": bool(label and step >= 1) or rng.random() < 0.1,
                         "rule_eta": 3, "rule_lambda": 0.6, "rule_balance": False,
                         "total_steps": 4, "guard_stopped": stopped,
                         "guard_stop_step": 3.0 if stopped else np.nan})
    return lvdm_metrics(pd.DataFrame(rows), etas=[1, 3], lambdas=[0.6])


def _protection_results() -> dict[str, Any]:
    """Display-only rows and summary of the protection task (its numbers need a defence run)."""
    row = {k: 0.5 for k in protection_efficacy.PROTECT_COLUMNS}
    row.update(setting="directed eps=4/255", model="attacked", perturbation="none", severity=0)
    keys = [m.key for m in protection_efficacy.METRICS
            if m.format != "text" and "rule" not in m.key and "guard" not in m.key]
    return {"task": "protection", "rows": [row], "summary": dict.fromkeys(keys, 0.5),
            "examples": []}


def _results(name: str) -> tuple[dict[str, Any], pd.DataFrame]:
    if name == "cross_generator":
        scores = _binary_scores()
        return cross_generator.metrics(scores, {"mode": "one_vs_all"}), scores
    if name == "cross_dataset":
        scores = _cross_dataset_scores()
        return cross_dataset.metrics(scores, {}), scores
    if name == "chronological":
        scores = _chronological_scores()
        return chronological.metrics(scores, {}), scores
    if name == "robustness":
        scores = _robustness_scores()
        return robustness.metrics(scores, {}), scores
    if name == "source_tracing":
        scores = _tracing_scores()
        return source_tracing.metrics(scores, {}), scores
    return (_lvdm_results() if name == "lvdm" else _protection_results()), pd.DataFrame(
        {"video_id": ["v0"], "status": ["ok"]})


VIEWS = {"cross_generator": "cross_generator", "cross_dataset": "cross_dataset",
         "chronological": "chronological",
         "robustness": "robustness", "source_tracing": "source_tracing",
         "lvdm": "protection_efficacy", "protection": "protection_efficacy"}


def _run(case: str) -> report.RunData:
    results, scores = _results(case)
    info = {"run_id": f"run-{case}", "protocol": VIEWS[case], "method": "m", "config": "mini",
            "dataset": "toy"}
    return report.RunData.from_memory(Path("/nonexistent"), info, scores, results)


def _tables(view: Any) -> Iterator[dict[str, Any]]:
    """Every sortable table (``{"headers", "rows"}``) anywhere in a view's context."""
    if isinstance(view, dict):
        if "headers" in view and "rows" in view:
            yield view
        for value in view.values():
            yield from _tables(value)
    elif isinstance(view, list):
        for value in view:
            yield from _tables(value)


def _numeric(table: dict[str, Any], column: int) -> bool:
    """Whether a column shows numbers (yes/no cells sort as 1/0 but are not numbers, nor are
    dates such as 2024-02 or 2024-02-15)."""
    return any(re.fullmatch(r"-?[0-9.e+-]+|inf", row[column]["sort"] or "x")
               and not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", row[column]["sort"])
               and row[column]["text"] not in ("yes", "no") for row in table["rows"])


@pytest.mark.parametrize("case", list(VIEWS))
def test_every_table_column_is_declared_and_sorts_the_declared_way(case: str) -> None:
    run = _run(case)
    views = get_protocol(run.info["protocol"]).views(run)
    tables = list(_tables(views))
    assert tables, f"{case}: no sortable table in the views"
    for table in tables:
        for i, header in enumerate(table["headers"]):
            key = header["key"]
            assert key in CATALOG, f"{case}: column {key!r} is not declared in the catalog"
            assert header["better"] == CATALOG.direction(key), (case, key)
            assert header["label"] == CATALOG.label(key)
            if _numeric(table, i):
                assert CATALOG.get(key).format != "text", (case, key)


@pytest.mark.parametrize("case", list(VIEWS))
def test_every_summary_number_is_declared(case: str) -> None:
    summary = _run(case).results["summary"]
    numbers = [k for k, v in summary.items() if isinstance(v, (int, float)) or v is None]
    undeclared = [k for k in numbers if k not in CATALOG]
    assert not undeclared, f"{case}: summary keys not in the catalog: {undeclared}"


def test_the_shortcut_tables_read_the_catalog() -> None:
    run = _run("cross_generator")
    run.shortcuts = {"available": True,
                     "trivial_auc": [{"group": "gen_a", "logistic": 0.61, "tree": 0.55}],
                     "numeric": [{"group": "gen_a", "field": "fps", "median": 24.0, "min": 24.0,
                                  "max": 30.0}],
                     "codecs": [{"group": "gen_a", "value": "h264", "share": 1.0}]}
    for table in _tables(report._shortcut_view(run)):
        for header in table["headers"]:
            assert header["better"] == CATALOG.direction(header["key"])


# ----------------------------------------------------------------------------- leaderboards
def _html_headers(page: str) -> dict[str, str]:
    return dict((label, better) for better, label in
                re.findall(r'<th(?: class="text")? data-better="(\w+)">([^<]+)</th>', page))


def test_leaderboard_headers_take_the_catalogs_direction(tmp_path: Path) -> None:
    from tests.test_report import make_run

    runs = [report.load_run(make_run(tmp_path, f"r{i}", f"net{i}", 1.0 + i, seed=i))
            for i in range(2)]
    page = report.render_report(runs, tmp_path / "out")["html"].read_text()
    headers = _html_headers(page)
    for metric in get_protocol("cross_generator").leaderboard:
        assert headers[metric.label] == CATALOG.direction(metric.key)
    assert headers["failed videos"] == "low" and headers["rank"] == "low"


def _low_board_protocol(monkeypatch) -> None:
    """A protocol whose primary metric is lower-is-better (mean_auc_drop)."""
    import benchmark.protocol as protocols
    from benchmark.protocol import Protocol

    module = types.ModuleType("tests.low_board")
    module.__file__ = __file__
    module.NAME, module.VERSION, module.DESCRIPTION, module.OPTIONS = "low_board", "1", "", ()
    module.PRIMARY_METRIC = CATALOG.get("mean_auc_drop")
    for fn in ("plan", "score", "metrics", "views", "tables"):
        setattr(module, fn, lambda *a: None)
    protocol = Protocol(module)
    real = protocols.get_protocol
    monkeypatch.setattr(protocols, "get_protocol",
                        lambda name: protocol if name == "low_board" else real(name))


def test_a_lower_is_better_primary_sorts_lowest_first(monkeypatch) -> None:
    _low_board_protocol(monkeypatch)
    runs = []
    for i, drop in enumerate((0.20, 0.05, None, 0.10)):
        info = {"run_id": f"r{i}", "protocol": "low_board", "method": f"m{i}", "config": "c",
                "dataset": "toy", "manifest_hash": "h"}
        scores = pd.DataFrame({"video_id": ["v"], "status": ["ok"]})
        runs.append(report.RunData.from_memory(Path("/nonexistent"), info, scores,
                                               {"rows": [], "summary": {"mean_auc_drop": drop}}))
    (board,) = report.leaderboards(runs)
    assert [row["mean_auc_drop"] for row in board["rows"]] == [0.05, 0.10, 0.20, None]
