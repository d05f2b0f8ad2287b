"""benchmark.report on synthetic run directories, with metrics from the protocol's own code."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import report
from benchmark.errors import DataError
from protocols import cross_generator

GENERATORS = ("gen_a", "gen_b")
EVIL = "<script>alert(1)</script>"


def _scores(rng: np.random.Generator, strength: float, reals_in: set[str]) -> pd.DataFrame:
    rows = []
    for unit in GENERATORS:
        for split in ("val", "test"):
            for i in range(12 if unit in reals_in else 0):
                rows.append(("real", 0, f"real/{split}{i:03d}", float(rng.beta(2, 2 + strength)), unit,
                             split))
            for gen in GENERATORS:
                for i in range(10):
                    rows.append((gen, 1, f"{gen}/{split}{i:03d}", float(rng.beta(2 + strength, 2)),
                                 unit, split))
    frame = pd.DataFrame(rows, columns=["generator", "label", "video_id", "score", "unit", "split"])
    frame["status"], frame["error"] = "ok", ""
    frame["source_id"] = frame["video_id"]
    frame["train_generators"] = [[u] for u in frame["unit"]]
    return frame


def make_run(root: Path, name: str, method: str, strength: float, seed: int,
             reals_in: tuple[str, ...] = GENERATORS, n_failed: int = 0, data: str = "h1",
             overrides: dict | None = None) -> Path:
    """A finished cross-generator run directory."""
    run_dir = root / name
    run_dir.mkdir()
    info = {"run_id": name, "protocol": "cross_generator", "method": method, "config": "mini",
            "dataset": "toyset", "seed": seed, "created": "2025-01-01T00:00:00Z", "status": "complete",
            "git_commit": "abc123", "device": "cpu", "timings": {"total": 75.5, "eval": 60.0},
            "versions": {"torch": "2.6.0"}, "opaque_extra": {"kept": [1, 2]}, "manifest_hash": data,
            "cfg_overrides": overrides or {}, "weights": None,
            "code": {"code_version": "0.1.0+abc"}, "protocol_version": "2"}
    scores = _scores(np.random.default_rng(seed), strength, set(reals_in))
    failed = pd.DataFrame({"generator": "gen_a", "label": 1, "score": np.nan, "unit": "gen_a",
                           "split": "test", "video_id": [f"gen_a/broken_{i}" for i in range(n_failed)],
                           "status": "failed", "error": "cannot decode: moov atom not found"})
    failed["train_generators"] = [["gen_a"]] * n_failed
    failed["source_id"] = failed["video_id"]
    scores = pd.concat([scores, failed], ignore_index=True)
    scores = scores.assign(dataset="toyset", n_clips=(scores["status"] == "ok").astype(int),
                           method=method, config="mini", protocol="cross_generator", seed=seed,
                           perturbation="none", severity=0.0)  # the rest of the standard columns
    results = cross_generator.metrics(scores, {"mode": "one_vs_all"})
    (run_dir / "run.json").write_text(json.dumps(info))
    scores.to_parquet(run_dir / "scores.parquet", index=False)
    (run_dir / "metrics.json").write_text(json.dumps(results))
    return run_dir


@pytest.fixture()
def runs(tmp_path: Path) -> list[report.RunData]:
    good = make_run(tmp_path, "run_good", "good_net", strength=4.0, seed=1, n_failed=2)
    weak = make_run(tmp_path, "run_weak", EVIL, strength=0.5, seed=2, reals_in=("gen_a",))
    return [report.load_run(weak), report.load_run(good)]


@pytest.fixture()
def rendered(runs: list[report.RunData], tmp_path: Path) -> dict[str, str]:
    paths = report.render_report(runs, tmp_path / "out", title="toy board")
    return {kind: path.read_text() for kind, path in paths.items()}


# ----------------------------------------------------------------------------- loading
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


def test_incomplete_or_unknown_protocol_runs_are_refused(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "r", "m", 2.0, 3)
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**info, "status": "running"}))
    with pytest.raises(DataError, match="not complete"):
        report.load_run(run_dir)
    (run_dir / "run.json").write_text(json.dumps({**info, "protocol": "cross_generatr"}))
    with pytest.raises(DataError, match="Did you mean: cross_generator"):
        report.load_run(run_dir)


# ----------------------------------------------------------------------------- rendering
def test_html_has_every_part(rendered: dict[str, str]) -> None:
    page = rendered["html"]
    assert "good_net" in page and "toy board" in page
    assert page.count('<td class="heat') == 8  # 2 runs x 2 train sets x 2 test sets
    assert page.count('aria-label="ROC curves') == 4
    assert page.count("<polyline") == 6 + 4  # 2 ROC curves undefined; 4 reliability diagrams
    assert "Failed videos (2)" in page and "gen_a/broken_0" in page
    assert "moov atom not found" in page and "Failed videos (0)" in page
    assert "1m 16s" in page  # wall time from run.json timings.total
    assert "opaque_extra" not in page
    assert 'class="legend"' in page and "0.5 (chance)" in page  # the heat map's colour scale
    assert "<noscript>" in page and "JavaScript is off" in page


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


def test_heat_map_colours_diverge_around_chance() -> None:
    from benchmark.report_views import colour

    assert colour(0.5) == "#f7f7f7"
    low, high = colour(0.1), colour(0.9)
    assert int(low[1:3], 16) > int(low[3:5], 16)  # purple: more red than green
    assert int(high[3:5], 16) > int(high[1:3], 16)  # green


def test_sort_headers_know_which_way_is_better(rendered: dict[str, str]) -> None:
    page = rendered["html"]
    assert re.search(r'<th data-better="low">EER</th>', page)
    assert re.search(r'<th data-better="high">AUC</th>', page)
    assert 'data-better="high">mean AUC (unseen)</th>' in page


def test_leaderboard_sorted_by_primary_metric(runs: list[report.RunData]) -> None:
    (board,) = report.leaderboards(runs)
    assert board["protocol"] == "cross_generator" and board["primary"].key == "mean_auc_unseen"
    rows = board["rows"]
    assert [r["method"] for r in rows] == ["good_net", EVIL]
    assert rows[0]["anchor"] == "run-1" and rows[0]["n_failed"] == 2 and rows[1]["n_failed"] == 0
    assert rows[0]["n_videos"] == 24 + 40 and rows[0]["wall_time_s"] == 75.5
    assert rows[0]["weights"] == "trained here" and board["note"] == ""


def test_runs_over_other_data_are_never_ranked_together(tmp_path: Path) -> None:
    a = report.load_run(make_run(tmp_path, "a", "m1", 2.0, 1, data="hash_one"))
    b = report.load_run(make_run(tmp_path, "b", "m2", 2.0, 2, data="hash_two"))
    c = report.load_run(make_run(tmp_path, "c", "m3", 2.0, 3, data="hash_one",
                                 overrides={"train.epochs": 1}))
    boards = report.leaderboards([a, b, c])
    assert [sorted(r["method"] for r in board["rows"]) for board in boards] == [["m1", "m3"], ["m2"]]
    assert "differ in config overrides" in boards[0]["note"]
    page = report.render_report([a, b, c], tmp_path / "out")["html"].read_text()
    assert page.count("<h2 id=\"leaderboard-") == 2 and "train.epochs=1" in page


def test_markdown_has_tables(rendered: dict[str, str]) -> None:
    md = rendered["md"]
    assert md.startswith("# toy board")
    assert "| good\\_net | mini | trained here | 1 | none |" in md
    assert "| &lt;script&gt;alert\\(1\\)&lt;/script&gt; |" in md and EVIL not in md
    assert "| train \\\\ test | gen\\_a | gen\\_b |" in md and "| gen\\_b | n/a | n/a |" in md
    assert "| ACC@0.5 |" in md and md.count("| train set | test set |") == 2
    for line in md.splitlines():
        if line.startswith("|"):
            assert line.endswith("|"), line


def test_csv_has_leaderboard_rows(rendered: dict[str, str], tmp_path: Path) -> None:
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert list(board.columns[:len(report.BASE_COLUMNS)]) == list(report.BASE_COLUMNS)
    assert "mean_auc_unseen" in board.columns
    assert list(board["method"]) == ["good_net", EVIL]
    assert list(board["n_failed"]) == [2, 0] and list(board["wall_time_s"]) == [75.5, 75.5]


def test_render_is_atomic_and_repeatable(runs: list[report.RunData], tmp_path: Path) -> None:
    out = tmp_path / "out"
    report.render_report(runs, out)
    first = (out / "leaderboard.csv").read_text()
    (out / ".report.html.dead.tmp").write_text("debris of a killed render")
    report.render_report(runs[:1], out)
    assert (out / "leaderboard.csv").read_text() != first
    assert sorted(p.name for p in out.iterdir()) == ["leaderboard.csv", "report.html", "report.md"]


def test_render_without_runs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no runs"):
        report.render_report([], tmp_path)


def test_ranks_count_significantly_better_runs_paired(tmp_path: Path) -> None:
    strong = report.load_run(make_run(tmp_path, "s", "strong", 4.0, 1))
    same = report.load_run(make_run(tmp_path, "t", "same_as_strong", 4.0, 1))
    weak = report.load_run(make_run(tmp_path, "w", "weak", 0.2, 1))
    assert strong.results["resample_key"] == weak.results["resample_key"]  # same videos: paired
    (board,) = report.leaderboards([weak, strong, same])
    ranks = {row["method"]: (row["rank"], row["tie"]) for row in board["rows"]}
    assert ranks == {"strong": (1, True), "same_as_strong": (1, True), "weak": (3, False)}
    assert board["rows"][0]["mean_auc_unseen_ci"]["low"] <= board["rows"][0]["mean_auc_unseen"]


def test_summary_interval_is_a_joint_bootstrap_with_stored_replicates(runs) -> None:
    from benchmark.intervals import SETTINGS

    summary = runs[1].results["summary_ci"]["mean_auc_unseen"]
    assert len(summary["replicates"]) == SETTINGS["n_resamples"]
    reps = np.array([v for v in summary["replicates"] if v is not None])
    low, high = np.percentile(reps, [2.5, 97.5])
    assert summary["interval"] == pytest.approx({"low": low, "high": high})
    row = runs[1].results["rows"][0]
    assert row["ci"]["auc"]["low"] <= row["auc"] <= row["ci"]["auc"]["high"]
    assert set(row["ci"]) >= {"auc", "ap", "eer", "acc_at_0.5", "acc_at_val", "tpr_at_fpr5", "brier"}
