"""Seed groups through the CLI: `vbench run --seeds`, and `report`, `compare` and `regress` on
groups, with the fast fake model (tests/run_helpers.py); every refusal is one line, exit 2."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.seed_runs import parse_seeds
from tests.run_helpers import install_fake_model, placeholder_manifest

BASE = ["run", "--protocol", "cross_generator", "--method", "sta", "--workers", "0",
        "--no-progress"]


@pytest.fixture
def fake(monkeypatch) -> dict:
    return install_fake_model(monkeypatch, by_seed=True)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return placeholder_manifest(tmp_path / "d", ["g1", "g2"], per=12)


def _run(capsys, data: Path, out: Path, *extra: str) -> Path:
    """Runs a seed group (or a run) and returns the last printed path."""
    assert main([*BASE, "--data", str(data), "--out", str(out), *extra]) == 0
    return Path(capsys.readouterr().out.strip().splitlines()[-1])


def _refused(capsys, argv: list[str], *needles: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("vbench: error:") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def test_seeds_parse_as_a_count_or_a_list() -> None:
    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("0, 4,7") == [0, 4, 7]


@pytest.mark.parametrize("value, why", [("x", "'x' is not a non-negative integer"),
                                        ("0,-1", "'-1' is not"), ("0,,1", "'' is not"),
                                        ("1,1", "seed 1 is given twice"),
                                        ("1", "names 1 seed(s)"), ("5", None)])
def test_bad_seeds_exit_2_in_one_line(value, why, tmp_path, capsys, fake, data) -> None:
    if why is None:  # "5" is fine; with --seed beside it, refused
        _refused(capsys, [*BASE, "--data", str(data), "--out", str(tmp_path / "o"), "--seeds",
                          value, "--seed", "1"], "--seed 1 and --seeds 5 are mutually exclusive")
    else:
        _refused(capsys, [*BASE, "--data", str(data), "--out", str(tmp_path / "o"), "--seeds",
                          value], "--seeds expects N", why)
    assert not fake["train"] and not (tmp_path / "o").exists()


def test_a_group_runs_each_seed_once_and_reuses_a_seed_run_before(tmp_path, capsys, fake, data):
    out = tmp_path / "runs"
    single = _run(capsys, data, out, "--seed", "0").parent
    fake["train"].clear()
    report = _run(capsys, data, out, "--seeds", "0,1")
    assert fake["train"] == ["g1", "g2"]  # seed 0 was stored: only seed 1 trained
    group = json.loads((report.parent / "group.json").read_text())
    assert group["seeds"] == [0, 1] and group["members"][0]["run_key"] == single.name
    seed1 = out / group["members"][1]["run"]
    assert json.loads((seed1 / "run.json").read_text())["seed"] == 1
    fake["train"].clear()
    assert _run(capsys, data, out, "--seed", "1").parent == seed1  # a member is a plain run
    assert not fake["train"]
    page = report.read_text()
    assert "sd over seeds" in page and "AUC per test set over seeds" in page
    assert "two-level percentile bootstrap" in page and "Only 2 seeds" in page
    board = pd.read_csv(report.parent / "leaderboard.csv")
    row = board.iloc[0]
    assert row["seed"] == "0,1" and row["mean_auc_unseen_low"] <= row["mean_auc_unseen"] \
        <= row["mean_auc_unseen_high"]
    per_seed = [json.loads((out / m["run"] / "metrics.json").read_text())["summary"]["mean_auc"]
                for m in group["members"]]
    assert row["mean_auc"] == pytest.approx(sum(per_seed) / 2)
    assert row["mean_auc_min"] == pytest.approx(min(per_seed))
    assert row["mean_auc_sd"] == pytest.approx(pd.Series(per_seed).std(ddof=1))


class _Out:
    """capsys's interface over redirected stdout, for the module-scoped groups."""

    def readouterr(self):
        import io
        import types

        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return types.SimpleNamespace(out=text, err="")


@pytest.fixture(scope="module")
def groups(tmp_path_factory) -> dict[str, Path]:
    """Five seed groups, made once: a; b (other config); other seeds; other videos; a's seed 0."""
    import contextlib
    import io

    tmp = tmp_path_factory.mktemp("groups")
    out, sink = tmp / "runs", _Out()
    sink.buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(sink.buffer):
        install_fake_model(mp, by_seed=True)
        data = placeholder_manifest(tmp / "d", ["g1", "g2"], per=12)
        other = placeholder_manifest(tmp / "e", ["g1", "g2"], per=12, prefix="x")
        made = {"a": _run(sink, data, out, "--seeds", "2").parent,
                "b": _run(sink, data, out, "--seeds", "2", "--cfg-options",
                          "train.epochs=2").parent,
                "other_seeds": _run(sink, data, out, "--seeds", "0,2").parent,
                "other_videos": _run(sink, other, out, "--seeds", "2").parent}
    record = json.loads((made["a"] / "group.json").read_text())
    return {**made, "single": out / record["members"][0]["run"], "store": out}


def test_compare_pairs_two_groups_seed_by_seed(groups, tmp_path, capsys) -> None:
    assert main(["compare", str(groups["a"]), str(groups["b"]), "--out", str(tmp_path / "c")]) == 0
    result = json.loads((tmp_path / "c" / "compare.json").read_text())
    (pair,) = result["pairs"]
    cell = pair["cells"]["g1 → g1"]["auc"]
    assert cell["test"] == "two-level bootstrap (seeds x videos)" and len(cell["per_seed"]) == 2
    assert cell["low"] <= cell["difference"] <= cell["high"] and cell["p_holm"] >= cell["p_value"]
    assert pair["overall"]["metric"] == "mean_auc_unseen"
    page = (tmp_path / "c" / "compare.html").read_text()
    assert "Seed groups (seeds 0, 1)" in page
    assert main(["compare", str(groups["a"]), str(groups["a"]), "--out", str(tmp_path / "d")]) == 0
    same = json.loads((tmp_path / "d" / "compare.json").read_text())["pairs"][0]
    assert same["cells"]["g1 → g2"]["auc"]["difference"] == 0
    assert same["overall"]["p_value"] == 1


def test_mismatched_groups_are_refused(groups, tmp_path, capsys) -> None:
    out = ["--out", str(tmp_path / "c")]
    a = ["compare", str(groups["a"])]
    _refused(capsys, [*a, str(groups["other_seeds"]), *out], "different seeds", "[0, 1]", "[0, 2]")
    _refused(capsys, [*a, str(groups["other_videos"]), *out], "different videos at seed 0")
    _refused(capsys, [*a, str(groups["single"]), *out], "is a single run")
    assert not (tmp_path / "c").exists()


def _edit(path: Path, **changes) -> None:
    record = json.loads(path.read_text())
    record.update(changes)
    path.write_text(json.dumps(record))


def test_a_damaged_group_is_refused_naming_the_member(groups, tmp_path, capsys) -> None:
    path = groups["a"] / "group.json"
    original = path.read_text()
    record = json.loads(original)
    report = ["report", str(groups["a"]), "--out", str(tmp_path / "r")]
    _edit(path, code_version="0.0.0+other")
    _refused(capsys, report, "member run of seed 0", "code_version", "0.0.0+other")
    path.write_text(original)
    _edit(path, cfg_overrides={"train.epochs": 9})
    _refused(capsys, report, "member run of seed 0", "cfg_overrides")
    path.write_text(original)
    members = record["members"]
    _edit(path, members=[members[0], {**members[1], "manifest_hash": "f00"}])
    _refused(capsys, report, "member run of seed 1", "manifest_hash", "f00")
    path.write_text(original)
    member = groups["store"] / members[1]["run"]
    info = member / "run.json"
    _edit(info, status="running")
    _refused(capsys, report, "member run of seed 1", "not complete")
    _edit(info, status="complete")
    (member / "run.json").rename(member / "run.json.moved")
    _refused(capsys, report, "member run of seed 1", "is missing")
    (member / "run.json.moved").rename(member / "run.json")
    assert not (tmp_path / "r").exists()


def test_report_ranks_groups_together_and_regress_gates_a_group(groups, tmp_path, capsys):
    assert main(["report", str(groups["a"]), str(groups["b"]), "--out", str(tmp_path / "r")]) == 0
    board = pd.read_csv(tmp_path / "r" / "leaderboard.csv")
    assert len(board) == 2 and board["data"].nunique() == 1 and set(board["rank"]) <= {1, 2}
    assert {"mean_auc_unseen_sd", "mean_auc_unseen_min", "mean_auc_unseen_max"} <= set(board)
    md = (tmp_path / "r" / "report.md").read_text()
    assert "\\u000a" not in md and "\n|---|---:|---|---:|---|---|\n" in md  # tables, not one line
    base = tmp_path / "baselines"
    gate = ["regress", str(groups["a"]), "--baseline", str(base), "--out", str(tmp_path / "v")]
    assert main([*gate, "--write-baseline"]) == 0
    capsys.readouterr()
    written = json.loads((base / "cross_generator" / "sta-mini.seeds.json").read_text())
    assert written["seed"] == "0,1" and "auc[g1 → g2]" in written["metrics"]
    assert main(gate) == 0
    assert "passed" in capsys.readouterr().out
    (base / "cross_generator" / "sta-mini.seeds.json").rename(base / "g.json")
    _refused(capsys, ["regress", str(groups["other_seeds"]), "--baseline", str(base / "g.json"),
                      "--out", str(tmp_path / "w")], "seeds 0,1", "seeds 0,2")


def test_a_groups_cost_is_its_seeds_mean() -> None:
    from types import SimpleNamespace

    from benchmark.seed_group import group_cost

    def member(forward, params, decode):
        return SimpleNamespace(results={"cost": {"forward_ms_per_video": forward, "params": params,
                                                 "decode_ms_per_video": decode, "device": "cpu",
                                                 "threads": 1}}, info={})

    group = SimpleNamespace(seeds=[0, 1], members=[member(10.0, 5, 2.0), member(20.0, 5, None)])
    cost = group_cost(group)
    assert cost["forward_ms_per_video"] == 15.0 and cost["params"] == 5.0
    assert cost["decode_ms_per_video"] is None  # one seed did not measure it: no mean
    assert cost["device"] == "cpu" and cost["note"] == "mean over seeds 0,1"
    group.members[1].results = {}
    assert group_cost(group) is None
