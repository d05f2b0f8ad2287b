"""vbench compare: paired differences on shared videos, Holm, flips, and its refusals."""
import json
from pathlib import Path

import pytest

from benchmark import report
from benchmark.cli import main
from benchmark.compare import compare_runs
from benchmark.errors import DataError
from tests.test_report import make_run


def test_a_run_compared_with_itself_shows_no_difference(tmp_path: Path) -> None:
    run = report.load_run(make_run(tmp_path, "a", "m", 2.0, 1))
    twin = report.load_run(make_run(tmp_path, "b", "m", 2.0, 1))
    result = compare_runs([run, twin])
    (pair,) = result["pairs"]
    for cell in pair["cells"].values():
        for key in ("auc", "ap", "eer", "acc_at_0.5", "tpr_at_fpr5"):
            if cell[key]["difference"] is not None:
                assert cell[key]["difference"] == 0 and cell[key]["p_value"] == 1
                assert not cell[key]["significant"]
    assert pair["n_flips"] == 0 and pair["overall"]["difference"] == 0
    assert pair["overall"]["p_value"] == 1


def test_a_clearly_better_run_wins_significantly(tmp_path: Path) -> None:
    strong = report.load_run(make_run(tmp_path, "a", "strong", 4.0, 1))
    weak = report.load_run(make_run(tmp_path, "b", "weak", 0.1, 1))
    (pair,) = compare_runs([strong, weak])["pairs"]
    auc = pair["cells"]["gen_a → gen_a"]["auc"]
    assert auc["difference"] > 0.2 and auc["significant"] and auc["p_holm"] >= auc["p_value"]
    assert auc["test"] == "DeLong" and pair["overall"]["significant"]
    assert pair["n_flips"] > 0 and {f["right"] for f in pair["flips"]} <= {"a", "b"}


def test_runs_over_other_data_are_refused_unless_intersected(tmp_path: Path) -> None:
    a = report.load_run(make_run(tmp_path, "a", "m", 2.0, 1, data="hash_one"))
    b = report.load_run(make_run(tmp_path, "b", "m", 2.0, 2, data="hash_two"))
    with pytest.raises(DataError, match="runs over different data.*hash_one.*hash_two.*--intersect"):
        compare_runs([a, b])
    assert compare_runs([a, b], intersect=True)["intersect"]


def test_compare_cli_writes_reports_and_refuses_bad_input(tmp_path: Path, capsys) -> None:
    a, b = make_run(tmp_path, "a", "m1", 3.0, 1), make_run(tmp_path, "b", "m2", 1.0, 1)
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert "ROC curves overlaid" in page and "p<sub>Holm</sub>" in page and page.count("<polyline") >= 2
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["pairs"][0]["cells"]
    (b / "scores.parquet").unlink()
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp2")]) == 2
    assert "lacks scores.parquet" in capsys.readouterr().err
    assert main(["compare", str(a), "--out", str(tmp_path / "cmp3")]) == 2
    assert "at least two run directories" in capsys.readouterr().err
