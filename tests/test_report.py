"""benchmark.report on synthetic run directories written here with pandas."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmark import report
from benchmark.errors import DataError
from benchmark.metrics import binary_summary

GENERATORS = ("gen_a", "gen_b")
EVIL = "<script>alert(1)</script>"


def _scores(rng: np.random.Generator, strength: float, reals_in: set[str]) -> pd.DataFrame:
    rows = []
    for train in GENERATORS:
        for i in range(12 if train in reals_in else 0):
            rows.append(("real", 0, f"real/{i:03d}", float(rng.beta(2, 2 + strength)), train))
        for gen in GENERATORS:
            for i in range(10):
                rows.append((gen, 1, f"{gen}/{i:03d}", float(rng.beta(2 + strength, 2)), train))
    frame = pd.DataFrame(rows, columns=["generator", "label", "video_id", "score", "train_set"])
    frame["status"], frame["error"] = "ok", None
    return frame


def _metric_rows(scores: pd.DataFrame, info: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for train in GENERATORS:
        group = scores[(scores["train_set"] == train) & (scores["status"] == "ok")]
        for test in GENERATORS:
            part = group[group["generator"].isin(["real", test])]
            summary = binary_summary(part["label"], part["score"], val_threshold=0.5)
            rows.append({**{k: info[k] for k in ("method", "config", "protocol")},
                         "train_set": train, "test_set": test, **summary})
    return rows


def make_run(root: Path, name: str, method: str, strength: float, seed: int,
             reals_in: tuple[str, ...] = GENERATORS, n_failed: int = 0,
             with_matrix: bool = True) -> Path:
    """A finished cross-generator run: scores, metrics rows, summary and AUC matrix."""
    run_dir = root / name
    run_dir.mkdir()
    info = {"run_id": name, "protocol": "cross_generator", "method": method, "config": "mini",
            "dataset": "toyset", "seed": seed, "created": "2025-01-01T00:00:00Z",
            "git_commit": "abc123", "device": "cpu", "timings": {"total": 75.5, "eval": 60.0},
            "versions": {"torch": "2.6.0"}, "opaque_extra": {"kept": [1, 2]}}
    scores = _scores(np.random.default_rng(seed), strength, set(reals_in))
    failed = pd.DataFrame({"generator": "gen_a", "label": 1, "score": np.nan, "train_set": "gen_a",
                           "video_id": [f"gen_a/broken_{i}" for i in range(n_failed)],
                           "status": "failed", "error": "cannot decode: moov atom not found"})
    scores = pd.concat([scores, failed], ignore_index=True)
    for key in ("dataset", "method", "config", "protocol"):
        scores[key] = info[key]
    rows = _metric_rows(scores, info)
    unseen = [r["auc"] for r in rows if r["train_set"] != r["test_set"] and r["auc"] is not None]
    stored: dict[str, Any] = {"rows": rows, "summary": {
        "mean_auc_unseen": float(np.mean(unseen)) if unseen else None}}
    if with_matrix:
        stored["auc_matrix"] = {"rows": list(GENERATORS), "cols": list(GENERATORS), "values": [
            [next(r["auc"] for r in rows if (r["train_set"], r["test_set"]) == (t, c))
             for c in GENERATORS] for t in GENERATORS]}
    (run_dir / "run.json").write_text(json.dumps(info))
    scores.to_parquet(run_dir / "scores.parquet", index=False)
    pd.DataFrame(rows).to_csv(run_dir / "metrics.csv", index=False)
    (run_dir / "metrics.json").write_text(json.dumps(stored))
    return run_dir


@pytest.fixture()
def runs(tmp_path: Path) -> list[report.RunData]:
    good = make_run(tmp_path, "run_good", "good_net", strength=4.0, seed=1, n_failed=2)
    # the second run has no real videos under train set gen_b: those cells are undefined
    evil = make_run(tmp_path, "run_evil", EVIL, strength=0.5, seed=2, reals_in=("gen_a",))
    return [report.load_run(evil), report.load_run(good)]


@pytest.fixture()
def rendered(runs: list[report.RunData], tmp_path: Path) -> dict[str, str]:
    paths = report.render_report(runs, tmp_path / "out", title="toy board")
    assert set(paths) == {"html", "md", "csv"}
    return {key: path.read_text(encoding="utf-8") for key, path in paths.items()}


# ----------------------------------------------------------------------------- loading
def test_load_run_reads_every_file(runs: list[report.RunData]) -> None:
    run = runs[1]
    assert run.info["method"] == "good_net" and run.info["opaque_extra"] == {"kept": [1, 2]}
    assert len(run.scores) == 2 * (12 + 20) + 2 and (run.scores["status"] == "failed").sum() == 2
    assert list(run.metrics["test_set"]) == ["gen_a", "gen_b", "gen_a", "gen_b"]
    assert run.auc_matrix["rows"] == list(GENERATORS) and run.summary["mean_auc_unseen"] > 0.5
    assert runs[0].auc_matrix["values"][1] == [None, None]


def test_matrix_rebuilt_from_rows_when_absent(tmp_path: Path) -> None:
    run = report.load_run(make_run(tmp_path, "r", "m", 2.0, 3, with_matrix=False))
    assert run.auc_matrix["cols"] == list(GENERATORS)
    assert run.auc_matrix["values"][0][1] == pytest.approx(run.metrics["auc"][1])


@pytest.mark.parametrize("name", report.RUN_FILES)
def test_missing_file_is_named(tmp_path: Path, name: str) -> None:
    run_dir = make_run(tmp_path, "r", "m", 2.0, 3)
    (run_dir / name).unlink()
    with pytest.raises(DataError, match=re.escape(name)):
        report.load_run(run_dir)


def test_bad_run_json_and_columns_are_named(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "r", "m", 2.0, 3)
    info = json.loads((run_dir / "run.json").read_text())
    del info["method"]
    (run_dir / "run.json").write_text(json.dumps(info))
    with pytest.raises(DataError, match=r"run\.json: missing key\(s\) method"):
        report.load_run(run_dir)
    (run_dir / "run.json").write_text("[1, 2")
    with pytest.raises(DataError, match="cannot read JSON"):
        report.load_run(run_dir)
    run_dir = make_run(tmp_path, "s", "m", 2.0, 3)
    pd.read_parquet(run_dir / "scores.parquet").drop(columns="status").to_parquet(
        run_dir / "scores.parquet")
    with pytest.raises(DataError, match=r"scores\.parquet: missing column\(s\) status"):
        report.load_run(run_dir)


def test_bad_matrix_shape_is_reported(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "r", "m", 2.0, 3)
    stored = json.loads((run_dir / "metrics.json").read_text())
    stored["auc_matrix"]["values"][0].pop()
    (run_dir / "metrics.json").write_text(json.dumps(stored))
    with pytest.raises(DataError, match="auc_matrix has 2 rows x 2 cols"):
        report.load_run(run_dir)


# ----------------------------------------------------------------------------- rendering
def test_html_has_every_part(rendered: dict[str, str]) -> None:
    page = rendered["html"]
    assert "good_net" in page and "toy board" in page
    assert page.count('<td class="heat') == 8  # 2 runs x 2 train sets x 2 test sets
    assert page.count("<svg") == 4 and page.count("<polyline") == 6  # 2 curves undefined
    assert "Failed videos (2)" in page and "gen_a/broken_0" in page
    assert "moov atom not found" in page and "Failed videos (0)" in page
    assert "1m 16s" in page  # wall time from run.json timings.total
    assert "opaque_extra" not in page


def test_html_is_offline(rendered: dict[str, str]) -> None:
    page = rendered["html"]
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z]+:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page


def test_html_escapes_user_text(rendered: dict[str, str]) -> None:
    page = rendered["html"]
    assert EVIL not in page and page.count("<script>") == 1  # only the sorting script
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_undefined_cells_show_na_with_reason(rendered: dict[str, str]) -> None:
    cells = re.findall(r'<td class="heat na[^"]*" title="([^"]*)">n/a</td>', rendered["html"])
    assert len(cells) == 2
    assert all("only class 'fake' (0 real videos" in html.unescape(t) for t in cells)
    assert "no curve:" in rendered["html"]


def test_leaderboard_sorted_by_unseen_auc(runs: list[report.RunData]) -> None:
    rows = report.leaderboard_rows(runs)
    assert [r["method"] for r in rows] == ["good_net", EVIL]
    assert rows[0]["anchor"] == "run-1" and rows[0]["n_failed"] == 2 and rows[1]["n_failed"] == 0
    assert rows[0]["n_videos"] == 12 + 20 and rows[0]["wall_time_s"] == 75.5
    aucs = runs[1].metrics["auc"].dropna()
    assert rows[0]["mean_auc_all"] == pytest.approx(aucs.mean())


def test_markdown_has_tables(rendered: dict[str, str]) -> None:
    md = rendered["md"]
    assert md.startswith("# toy board")
    assert "| good_net | mini | cross_generator | toyset |" in md
    assert "| &lt;script&gt;alert(1)&lt;/script&gt; |" in md and EVIL not in md
    assert "| train \\ test | gen_a | gen_b |" in md and "| gen_b | n/a | n/a |" in md
    assert "| ACC@0.5 |" in md and md.count("| train_set | test_set |") == 2
    for line in md.splitlines():
        if line.startswith("|"):
            assert line.endswith("|"), line


def test_csv_has_leaderboard_rows(rendered: dict[str, str], tmp_path: Path) -> None:
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert list(board.columns) == list(report.LEADERBOARD_COLUMNS)
    assert list(board["method"]) == ["good_net", EVIL]
    assert list(board["n_failed"]) == [2, 0] and list(board["wall_time_s"]) == [75.5, 75.5]


def test_render_is_atomic_and_repeatable(runs: list[report.RunData], tmp_path: Path) -> None:
    out = tmp_path / "out"
    report.render_report(runs, out)
    first = (out / "leaderboard.csv").read_text()
    report.render_report(runs[:1], out)
    assert (out / "leaderboard.csv").read_text() != first
    assert sorted(p.name for p in out.iterdir()) == ["leaderboard.csv", "report.html",
                                                     "report.md"]


def test_render_without_runs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no runs"):
        report.render_report([], tmp_path)
